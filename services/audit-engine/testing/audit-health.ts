import { expect } from 'vitest';
import { SERVICE_AUTH } from '../../../test/testing/tokens.js';
import type { Service } from '../../kit/service.js';
import type { AuditHealth } from '../contract.js';

/** The engine's /health answer, for the tests that watch its chain verification. */
export async function auditHealth(app: Service): Promise<AuditHealth> {
  return (await app.inject('/health')).json();
}

/** Polls health until `check` holds; fails with the last answer otherwise. */
export async function auditHealthUntil(app: Service, check: (body: AuditHealth) => boolean, timeoutMs = 10_000): Promise<AuditHealth> {
  const deadline = Date.now() + timeoutMs;
  let last = await auditHealth(app);
  while (!check(last)) {
    if (Date.now() > deadline) throw new Error(`health never reached the expected state; last answer: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
    last = await auditHealth(app);
  }
  return last;
}

/** Appends `count` events of `eventType` in one batch, as a service does (SERVICE_AUTH). */
export async function appendAuditEvents(app: Service, count: number, eventType: string): Promise<void> {
  const events = Array.from({ length: count }, (_, i) => ({ event_type: eventType, data: { i } }));
  expect((await app.inject({ method: 'POST', url: '/audit/events', payload: { events }, headers: SERVICE_AUTH })).statusCode).toBe(201);
}
