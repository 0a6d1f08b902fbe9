import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CONSTITUTIONAL_HASH } from '../../kit/constitution.js';
import type { Service } from '../../kit/service.js';
import type { Evolution } from '../contract.js';
import { lowRiskProposal, type StoredCounts } from '../testing/fixtures.js';
import { startEvolutionTestbed, type EvolutionTestbed } from '../testing/testbed.js';
import { SERVICE_AUTH } from '../../../test/testing/tokens.js';

let app: Service;
/** A proposal waiting for review, the target of the bad review and rollback requests. */
let pending: Evolution;
/** An auto-approved one, the target of bad rollback requests. */
let inEffect: Evolution;

let bed: EvolutionTestbed;

beforeAll(async () => {
  bed = await startEvolutionTestbed('acgs_eo_bad_input');
  app = bed.service.app;
  pending = (await app.inject({ method: 'POST', url: '/evolutions', payload: lowRiskProposal({ privilege_escalation: true }), headers: SERVICE_AUTH })).json();
  inEffect = (await app.inject({ method: 'POST', url: '/evolutions', payload: lowRiskProposal(), headers: SERVICE_AUTH })).json();
  await bed.receiver.waitFor(2);
});

afterAll(async () => {
  await bed?.close();
});

// Every test here sends only bad requests: afterwards nothing may be stored, changed or audited.
let baseline: StoredCounts;
let auditedBefore: number;
beforeEach(async () => {
  baseline = await bed.db.counts();
  auditedBefore = bed.receiver.events.length;
});
afterEach(async () => {
  expect(await bed.db.counts()).toEqual(baseline);
  expect(await bed.db.statusOf(pending.id)).toBe('human_review');
  expect(await bed.db.statusOf(inEffect.id)).toBe('auto_approved');
  await bed.service.app.transitionAudit.outbox.flush();
  expect(bed.receiver.events.length).toBe(auditedBefore);
});

function postJson(url: string, payload: unknown) {
  return app.inject({ method: 'POST', url, payload: JSON.stringify(payload), headers: { ...SERVICE_AUTH, 'content-type': 'application/json' } });
}

function expectBadRequest(response: { statusCode: number; json(): any }, mentions: RegExp, code = 'INVALID_REQUEST') {
  expect(response.statusCode).toBe(400);
  expect(response.json().error.code).toBe(code);
  expect(response.json().error.message).toMatch(mentions);
  expect(response.json().constitutional_hash).toBe(CONSTITUTIONAL_HASH);
}

const INJECTIONS = ["' OR 1=1 --", "x'; DROP TABLE evolutions; --", '<script>alert(1)</script>', '../../etc/passwd', 'a b'];

describe('bad proposals', () => {
  it('rejects malformed JSON, an empty body and a JSON array', async () => {
    const malformed = await app.inject({ method: 'POST', url: '/evolutions', payload: '{"agent_id": "a', headers: { ...SERVICE_AUTH, 'content-type': 'application/json' } });
    expectBadRequest(malformed, /JSON/, 'INVALID_JSON');
    const empty = await app.inject({ method: 'POST', url: '/evolutions', payload: '', headers: { ...SERVICE_AUTH, 'content-type': 'application/json' } });
    expect(empty.statusCode).toBe(400);
    expectBadRequest(await postJson('/evolutions', [lowRiskProposal()]), /object/i);
  });

  it('rejects a body that is not JSON with 415', async () => {
    const response = await app.inject({ method: 'POST', url: '/evolutions', payload: 'agent_id=a', headers: { ...SERVICE_AUTH, 'content-type': 'application/x-www-form-urlencoded' } });
    expect(response.statusCode).toBe(415);
    expect(response.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('rejects unknown fields, naming them', async () => {
    expectBadRequest(await postJson('/evolutions', { ...lowRiskProposal(), status: 'approved' }), /status/);
    expectBadRequest(await postJson('/evolutions', { ...lowRiskProposal(), changes: { privilege_escalation: true } }), /changes/);
  });

  it('rejects a prototype-poisoning key', async () => {
    const payload = `{"__proto__": {"admin": true}, ${JSON.stringify(lowRiskProposal()).slice(1)}`;
    const response = await app.inject({ method: 'POST', url: '/evolutions', payload, headers: { ...SERVICE_AUTH, 'content-type': 'application/json' } });
    expect(response.statusCode).toBe(400);
  });

  it('rejects wrong types, naming the field', async () => {
    expectBadRequest(await postJson('/evolutions', lowRiskProposal({ trust_level: 'high' as never })), /trust_level/);
    expectBadRequest(await postJson('/evolutions', lowRiskProposal({ privilege_escalation: 'yes' as never })), /privilege_escalation/);
    expectBadRequest(await postJson('/evolutions', lowRiskProposal({ agent_id: 42 as never })), /agent_id/);
    expectBadRequest(await postJson('/evolutions', lowRiskProposal({ priority: 'urgent' as never })), /priority/);
    expectBadRequest(await postJson('/evolutions', lowRiskProposal({ rollback_plan: null as never })), /rollback_plan/);
  });

  it('rejects missing and empty required fields', async () => {
    const { new_version: _dropped, ...withoutVersion } = lowRiskProposal();
    expectBadRequest(await postJson('/evolutions', withoutVersion), /new_version/);
    const { trust_level: _trust, ...withoutTrust } = lowRiskProposal();
    expectBadRequest(await postJson('/evolutions', withoutTrust), /trust_level/);
    expectBadRequest(await postJson('/evolutions', lowRiskProposal({ change_description: '   ' })), /change_description: must not be empty/);
  });

  it('rejects values out of range', async () => {
    expectBadRequest(await postJson('/evolutions', lowRiskProposal({ trust_level: 1.5 })), /trust_level/);
    expectBadRequest(await postJson('/evolutions', lowRiskProposal({ trust_level: -0.1 })), /trust_level/);
    expectBadRequest(await postJson('/evolutions', lowRiskProposal({ change_description: 'x'.repeat(4001) })), /change_description/);
    expectBadRequest(await postJson('/evolutions', lowRiskProposal({ agent_id: 'a'.repeat(129) })), /agent_id/);
    expectBadRequest(await postJson('/evolutions', lowRiskProposal({ new_version: 'v'.repeat(65) })), /new_version/);
  });

  it('rejects identifiers and versions carrying injection attempts', async () => {
    for (const attempt of INJECTIONS) {
      expectBadRequest(await postJson('/evolutions', lowRiskProposal({ agent_id: attempt })), /agent_id/);
      expectBadRequest(await postJson('/evolutions', lowRiskProposal({ requester_id: attempt })), /requester_id/);
      expectBadRequest(await postJson('/evolutions', lowRiskProposal({ new_version: attempt })), /new_version/);
    }
  });

  it('rejects a body larger than 64 KiB with 413', async () => {
    const response = await postJson('/evolutions', lowRiskProposal({ change_description: 'x'.repeat(70 * 1024) }));
    expect(response.statusCode).toBe(413);
    expect(response.json().error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('rejects another constitution with HASH_MISMATCH naming the expected hash', async () => {
    const response = await postJson('/evolutions', lowRiskProposal({ constitutional_hash: 'deadbeefdeadbeef' }));
    expectBadRequest(response, new RegExp(`must be "${CONSTITUTIONAL_HASH}".*deadbeefdeadbeef`), 'HASH_MISMATCH');
  });
});

describe('bad list queries', () => {
  it('rejects limits out of range or not whole numbers', async () => {
    for (const limit of ['0', '501', '-1', '1.5', 'abc', '1e9', '']) {
      expectBadRequest(await app.inject(`/evolutions?limit=${encodeURIComponent(limit)}`), /limit: must be a whole number from 1 to 500/);
    }
  });

  it('rejects an unknown status', async () => {
    expectBadRequest(await app.inject('/evolutions?status=pending'), /status/);
  });

  it('rejects injection attempts in every query parameter without echoing markup', async () => {
    for (const attempt of INJECTIONS) {
      for (const parameter of ['agent_id', 'status', 'limit']) {
        const response = await app.inject(`/evolutions?${parameter}=${encodeURIComponent(attempt)}`);
        expectBadRequest(response, new RegExp(parameter));
        expect(response.body).not.toContain('<script>');
      }
    }
  });

  it('rejects unknown and repeated query parameters', async () => {
    expectBadRequest(await app.inject('/evolutions?order=asc'), /order/);
    expectBadRequest(await app.inject('/evolutions?limit=1&limit=2'), /limit/);
  });
});

describe('bad evolution ids', () => {
  it('rejects ids that are not UUIDs on every route', async () => {
    for (const id of ['42', 'not-a-uuid', "1' OR '1'='1", '<script>alert(1)</script>']) {
      const path = `/evolutions/${encodeURIComponent(id)}`;
      expectBadRequest(await app.inject(path), /id: must be an evolution id/);
      expectBadRequest(await postJson(`${path}/approve`, { reviewer_id: 'U-REVIEWER', justification: 'ok' }), /id/);
      expectBadRequest(await postJson(`${path}/rollback`, { requested_by: 'U-ONCALL', reason: 'bad' }), /id/);
    }
  });
});

describe('bad reviews and rollbacks', () => {
  it('rejects a review without a justification or reviewer', async () => {
    expectBadRequest(await postJson(`/evolutions/${pending.id}/approve`, { reviewer_id: 'U-REVIEWER' }), /justification/);
    expectBadRequest(await postJson(`/evolutions/${pending.id}/reject`, { justification: 'no' }), /reviewer_id/);
    expectBadRequest(await postJson(`/evolutions/${pending.id}/approve`, { reviewer_id: 'U-REVIEWER', justification: ' ' }), /justification/);
    const noBody = await app.inject({ method: 'POST', url: `/evolutions/${pending.id}/approve`, headers: SERVICE_AUTH });
    expect(noBody.statusCode).toBe(400);
  });

  it('rejects unknown fields and wrong types in reviews and rollbacks', async () => {
    expectBadRequest(
      await postJson(`/evolutions/${pending.id}/approve`, { reviewer_id: 'U-REVIEWER', justification: 'ok', status: 'approved' }),
      /status/,
    );
    expectBadRequest(await postJson(`/evolutions/${pending.id}/approve`, { reviewer_id: ['U-REVIEWER'], justification: 'ok' }), /reviewer_id/);
    expectBadRequest(await postJson(`/evolutions/${inEffect.id}/rollback`, { requested_by: 'U-ONCALL', reason: 'bad', force: true }), /force/);
    expectBadRequest(await postJson(`/evolutions/${inEffect.id}/rollback`, { requested_by: 'U-ONCALL', reason: 7 }), /reason/);
  });

  it('rejects reviewer ids carrying injection attempts', async () => {
    for (const attempt of INJECTIONS) {
      expectBadRequest(await postJson(`/evolutions/${pending.id}/approve`, { reviewer_id: attempt, justification: 'ok' }), /reviewer_id/);
      expectBadRequest(await postJson(`/evolutions/${inEffect.id}/rollback`, { requested_by: attempt, reason: 'bad' }), /requested_by/);
    }
  });

  it('rejects malformed JSON and oversized bodies', async () => {
    const malformed = await app.inject({
      method: 'POST',
      url: `/evolutions/${pending.id}/approve`,
      payload: '{"reviewer_id": ',
      headers: { ...SERVICE_AUTH, 'content-type': 'application/json' },
    });
    expectBadRequest(malformed, /JSON/, 'INVALID_JSON');
    const big = await postJson(`/evolutions/${pending.id}/approve`, { reviewer_id: 'U-REVIEWER', justification: 'y'.repeat(70 * 1024) });
    expect(big.statusCode).toBe(413);
    expectBadRequest(await postJson(`/evolutions/${pending.id}/approve`, { reviewer_id: 'U-REVIEWER', justification: 'y'.repeat(2001) }), /justification/);
  });

  it('answers 404 for unknown routes and 4xx for wrong methods', async () => {
    const unknown = await app.inject({ method: 'POST', url: `/evolutions/${pending.id}/merge`, payload: {}, headers: SERVICE_AUTH });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('ROUTE_NOT_FOUND');
    const deleted = await app.inject({ method: 'DELETE', url: `/evolutions/${pending.id}` });
    expect(deleted.statusCode).toBe(404);
  });
});
