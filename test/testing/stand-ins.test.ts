import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPolicyEngineClient } from '../../services/clients/policy-engine.js';
import { CONSTITUTIONAL_HASH } from '../../services/kit/constitution.js';
import { type AuditEngineStandIn, startAuditEngineStandIn } from './audit-engine-stand-in.js';
import { unusedLoopbackUrl } from './loopback.js';
import { SERVICE_AUTH, testToken } from './tokens.js';
import { type RunningPolicyEngine, type ScriptedPolicyEngine, startPolicyEngine, startScriptedPolicyEngine } from './policy-engine.js';

const post = (url: string, body: unknown, auth: Record<string, string> = SERVICE_AUTH) =>
  fetch(url, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('the Audit Engine stand-in', () => {
  let standIn: AuditEngineStandIn;
  beforeAll(async () => {
    standIn = await startAuditEngineStandIn();
  });
  afterAll(() => standIn?.close());

  it('keeps valid events, one copy per idempotency key, as the real engine does', async () => {
    expect((await post(`${standIn.url}/audit/events`, { event_type: 'kept', idempotency_key: 'k-1' })).status).toBe(201);
    const retry = await post(`${standIn.url}/audit/events`, { events: [{ event_type: 'kept', idempotency_key: 'k-1' }, { event_type: 'also_kept' }] });
    expect(await retry.json()).toEqual({ appended: 1, replayed: 1 });
    expect(standIn.events.map((event) => event.event_type)).toEqual(['kept', 'also_kept']);
    expect(await standIn.waitFor(1, (event) => event.event_type === 'also_kept')).toHaveLength(1);
  });

  it('refuses what the real engine refuses, with its 400, and keeps none of it', async () => {
    const before = standIn.events.length;
    const unknownField = await post(`${standIn.url}/audit/events`, { event_type: 'x', surprise: true });
    expect(unknownField.status).toBe(400);
    expect((await unknownField.json()).error.code).toBe('INVALID_REQUEST');
    expect((await post(`${standIn.url}/audit/events`, { event_type: 'x', constitutional_hash: 'nope' })).status).toBe(400);
    expect(standIn.events).toHaveLength(before);
  });

  it('requires the service token as the real engine does, keeping nothing without it', async () => {
    const before = standIn.events.length;
    for (const auth of [{}, { authorization: `Bearer ${testToken()}` }] as Array<Record<string, string>>) {
      const refused = await post(`${standIn.url}/audit/events`, { event_type: 'unauthenticated' }, auth);
      expect(refused.status).toBe(401);
      expect((await refused.json()).error.code).toBe('SERVICE_UNAUTHORIZED');
    }
    expect(standIn.events).toHaveLength(before);
  });

  it('answers 503 while it is not accepting, and says what it was waiting for on a timeout', async () => {
    standIn.accepting = false;
    try {
      expect((await post(`${standIn.url}/audit/events`, { event_type: 'dropped' })).status).toBe(503);
    } finally {
      standIn.accepting = true;
    }
    await expect(standIn.waitFor(1, (event) => event.event_type === 'dropped', 100)).rejects.toThrow(/expected 1 matching audit events .* got 0/);
  });
});

describe('the Policy Engine fixtures', () => {
  let real: RunningPolicyEngine;
  let scripted: ScriptedPolicyEngine;
  beforeAll(async () => {
    real = await startPolicyEngine();
    scripted = await startScriptedPolicyEngine(() => ({ status: 500, body: { error: { code: 'INTERNAL', message: 'scripted' } } }));
  });
  afterAll(async () => {
    await real?.close();
    await scripted?.close();
  });

  const input = {
    type: 'action_authorization' as const,
    constitutional_hash: CONSTITUTIONAL_HASH,
    action: 'system.execute_shell',
    context: { agent: { id: 'fixture-test', trust_level: 0.9 } },
  };

  it('starts the real engine with the committed constitution', async () => {
    const decision = await createPolicyEngineClient({ baseUrl: real.url }).decide(input);
    expect(decision).toMatchObject({ allow: false, safety_violation: true });
  });

  it('scripts answers, records contract-valid inputs and refuses broken ones like the real engine', async () => {
    await expect(createPolicyEngineClient({ baseUrl: scripted.url }).decide(input)).rejects.toMatchObject({ status: 500 });
    expect(scripted.inputs).toEqual([expect.objectContaining({ action: 'system.execute_shell' })]);
    expect((await post(`${scripted.url}/v1/data/acgs/main/decision`, { input: { type: 'nonsense' } })).status).toBe(400);
    expect(scripted.inputs).toHaveLength(1);
    expect(await createPolicyEngineClient({ baseUrl: scripted.url }).health()).toMatchObject({ status: 'healthy', constitutional_hash: CONSTITUTIONAL_HASH });
  });

  it('hands out a loopback URL nobody answers on', async () => {
    await expect(fetch(await unusedLoopbackUrl(), { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  });
});
