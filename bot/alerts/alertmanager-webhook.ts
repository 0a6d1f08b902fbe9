/**
 * `POST /alerts/alertmanager`: Alertmanager's webhook receiver (prometheus/alertmanager.yml). It
 * answers 2xx only once AlertIntake.report resolved, i.e. the alerts are stored; on any failure
 * of the store it answers 5xx, so Alertmanager sends them again (the store de-duplicates).
 */
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { parseEnv, SecretToken, WholeNumber } from '../../services/kit/env.js';
import { sameSecret } from '../../services/kit/admin-auth.js';
import { AlertmanagerPayload, reportedAlertsOf } from './alertmanager-payload.js';
import type { AlertIntake } from './intake.js';

export const ALERTMANAGER_WEBHOOK_PATH = '/alerts/alertmanager';
export const DEFAULT_ALERTS_MAX_BODY_BYTES = 1024 * 1024;

const AlertWebhookEnv = z.object({
  ACGS_ALERTS_TOKEN: SecretToken.optional(),
  ACGS_ALERTS_MAX_BODY_BYTES: WholeNumber(1024, 64 * 1024 * 1024).optional(),
});

export interface AlertWebhookSettings {
  /** Absent: the webhook is off and its path answers 404. */
  token?: string;
  maxBodyBytes: number;
}

export function parseAlertWebhookSettings(env: Record<string, string | undefined> = process.env): AlertWebhookSettings {
  const parsed = parseEnv(AlertWebhookEnv, 'alert webhook', env);
  return {
    ...(parsed.ACGS_ALERTS_TOKEN ? { token: parsed.ACGS_ALERTS_TOKEN } : {}),
    maxBodyBytes: parsed.ACGS_ALERTS_MAX_BODY_BYTES ?? DEFAULT_ALERTS_MAX_BODY_BYTES,
  };
}

export interface AlertmanagerWebhookOptions {
  token: string;
  intake: AlertIntake;
  maxBodyBytes?: number;
  /** A store failure (answered 503), for the log. */
  onError?: (error: unknown) => void;
  /** A call refused for its token (answered 401), for the bot's trail (bot/audit-trail/auth-failures.ts). */
  onUnauthorized?: (attempt: { reason: string; remoteAddress: string | undefined }) => void;
}

class BodyTooLarge extends Error {}

async function readLimitedBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function bearerToken(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  return typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
}

/** What the webhook answers; the bot's HTTP server writes it as JSON. */
export interface AlertWebhookAnswer {
  statusCode: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

export type AlertmanagerWebhook = (request: IncomingMessage) => Promise<AlertWebhookAnswer>;

const refusal = (statusCode: number, error: string, headers?: Record<string, string>): AlertWebhookAnswer => ({ statusCode, body: { error }, ...(headers ? { headers } : {}) });

/** A zod issue as one readable phrase: `alerts.0.startsAt: Invalid ISO datetime`. */
function describeIssue(issue: z.core.$ZodIssue): string {
  return issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message;
}

export function createAlertmanagerWebhook(options: AlertmanagerWebhookOptions): AlertmanagerWebhook {
  const limit = options.maxBodyBytes ?? DEFAULT_ALERTS_MAX_BODY_BYTES;
  return async (request) => {
    if (request.method !== 'POST') {
      request.resume();
      return refusal(405, `${ALERTMANAGER_WEBHOOK_PATH} takes POST requests from Alertmanager`, { allow: 'POST' });
    }
    const given = bearerToken(request);
    if (given === undefined || !sameSecret(given, options.token)) {
      request.resume();
      options.onUnauthorized?.({ reason: given === undefined ? 'no token in the Authorization header' : 'a token that is not ACGS_ALERTS_TOKEN', remoteAddress: request.socket.remoteAddress });
      return refusal(401, 'missing or wrong bearer token: Alertmanager must send Authorization: Bearer <ACGS_ALERTS_TOKEN>', { 'www-authenticate': 'Bearer' });
    }
    let raw: Buffer;
    try {
      raw = await readLimitedBody(request, limit);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error;
      // The rest of the body is not read: the connection cannot carry another request.
      return refusal(413, `the payload is larger than the limit of ${limit} bytes (ACGS_ALERTS_MAX_BODY_BYTES)`, { connection: 'close' });
    }
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      return refusal(400, 'the body is not JSON: expected Alertmanager webhook payload version 4');
    }
    const payload = AlertmanagerPayload.safeParse(json);
    if (!payload.success) {
      const problems = payload.error.issues.slice(0, 5).map(describeIssue);
      return refusal(400, `not an Alertmanager webhook payload version 4: ${problems.join('; ')}`);
    }
    const alerts = reportedAlertsOf(payload.data);
    try {
      const result = await options.intake.report(alerts);
      return { statusCode: 200, body: { received: alerts.length, stored: result.stored, duplicates: result.duplicates } };
    } catch (error) {
      options.onError?.(error);
      return refusal(503, 'the alerts could not be stored; Alertmanager will send them again');
    }
  };
}
