/**
 * How a page sent to a webhook is signed, the way Slack signs its requests: HMAC-SHA256 with the
 * contact's secret over `v0:<timestamp>:<body>`, sent as `X-ACGS-Signature: v0=<hex>` beside
 * `X-ACGS-Request-Timestamp: <unix seconds>`. The timestamp inside the signed text lets a receiver
 * refuse a replayed page; bot/paging/README.md shows a receiver's check.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-acgs-signature';
export const TIMESTAMP_HEADER = 'x-acgs-request-timestamp';
export const SIGNATURE_VERSION = 'v0';
/** A receiver should refuse a page signed longer ago than this (Slack's own window). */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export interface WebhookSignature {
  timestamp: string;
  signature: string;
}

export function signWebhookBody(secret: string, timestamp: number, body: string): WebhookSignature {
  const seconds = String(Math.floor(timestamp));
  const digest = createHmac('sha256', secret).update(`${SIGNATURE_VERSION}:${seconds}:${body}`).digest('hex');
  return { timestamp: seconds, signature: `${SIGNATURE_VERSION}=${digest}` };
}

/**
 * A receiver's check (used by the tests' receiver, and the reference for anyone writing one):
 * undefined when the page is genuine, else why not.
 */
export function webhookSignatureProblem(secret: string, headers: { timestamp: string | undefined; signature: string | undefined }, body: string, nowSeconds: number): string | undefined {
  if (!headers.timestamp || !/^\d+$/.test(headers.timestamp)) return `no ${TIMESTAMP_HEADER} header of unix seconds`;
  if (!headers.signature) return `no ${SIGNATURE_HEADER} header`;
  if (Math.abs(nowSeconds - Number(headers.timestamp)) > SIGNATURE_TOLERANCE_SECONDS) return `signed more than ${SIGNATURE_TOLERANCE_SECONDS} s from now`;
  const expected = Buffer.from(signWebhookBody(secret, Number(headers.timestamp), body).signature);
  const given = Buffer.from(headers.signature);
  return expected.length === given.length && timingSafeEqual(expected, given) ? undefined : 'the signature does not match';
}
