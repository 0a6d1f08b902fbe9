/**
 * `POST /alerts/alertmanager`: Alertmanager's webhook receiver (prometheus/alertmanager.yml). It
 * answers 2xx only once AlertIntake.report resolved, i.e. the alerts are stored; on any failure
 * of the store it answers 5xx, so Alertmanager sends them again (the store de-duplicates).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
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

function answer(response: ServerResponse, statusCode: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(statusCode, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  response.end(text);
}

/** A zod issue as one readable phrase: `alerts.0.startsAt: Invalid ISO datetime`. */
function describeIssue(issue: z.core.$ZodIssue): string {
  return issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message;
}

export function createAlertmanagerWebhook(options: AlertmanagerWebhookOptions): RequestListener {
  const limit = options.maxBodyBytes ?? DEFAULT_ALERTS_MAX_BODY_BYTES;
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (request.method !== 'POST') {
      request.resume();
      answer(response, 405, { error: `${ALERTMANAGER_WEBHOOK_PATH} takes POST requests from Alertmanager` }, { allow: 'POST' });
      return;
    }
    const given = bearerToken(request);
    if (given === undefined || !sameSecret(given, options.token)) {
      request.resume();
      answer(response, 401, { error: 'missing or wrong bearer token: Alertmanager must send Authorization: Bearer <ACGS_ALERTS_TOKEN>' }, { 'www-authenticate': 'Bearer' });
      return;
    }
    let raw: Buffer;
    try {
      raw = await readLimitedBody(request, limit);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error;
      // Close the connection: the rest of the body is not read.
      answer(response, 413, { error: `the payload is larger than the limit of ${limit} bytes (ACGS_ALERTS_MAX_BODY_BYTES)` }, { connection: 'close' });
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      answer(response, 400, { error: 'the body is not JSON: expected Alertmanager webhook payload version 4' });
      return;
    }
    const payload = AlertmanagerPayload.safeParse(json);
    if (!payload.success) {
      const problems = payload.error.issues.slice(0, 5).map(describeIssue);
      answer(response, 400, { error: `not an Alertmanager webhook payload version 4: ${problems.join('; ')}` });
      return;
    }
    const alerts = reportedAlertsOf(payload.data);
    try {
      const result = await options.intake.report(alerts);
      answer(response, 200, { received: alerts.length, stored: result.stored, duplicates: result.duplicates });
    } catch (error) {
      options.onError?.(error);
      answer(response, 503, { error: 'the alerts could not be stored; Alertmanager will send them again' });
    }
  };
  return (request, response) => {
    handle(request, response).catch((error: unknown) => {
      options.onError?.(error);
      if (!response.headersSent) answer(response, 500, { error: 'internal error' });
      else response.destroy();
    });
  };
}
