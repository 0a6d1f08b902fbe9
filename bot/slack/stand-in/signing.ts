/**
 * Slack's request signing (v0): HMAC-SHA256 over `v0:<timestamp>:<raw body>` with the app's
 * signing secret, sent as `X-Slack-Signature: v0=<hex>` beside `X-Slack-Request-Timestamp`.
 */
import { createHmac } from 'node:crypto';

export function slackSignature(signingSecret: string, timestampS: number, body: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestampS}:${body}`).digest('hex')}`;
}

export function signedHeaders(signingSecret: string, body: string, timestampS = Math.floor(Date.now() / 1000)): Record<string, string> {
  return {
    'x-slack-request-timestamp': String(timestampS),
    'x-slack-signature': slackSignature(signingSecret, timestampS, body),
  };
}
