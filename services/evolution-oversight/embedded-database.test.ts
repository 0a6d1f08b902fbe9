import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../stack/local/embedded-postgres.js';
import type { Service } from '../kit/service.js';
import type { Evolution } from './contract.js';
import { startAuditEngineStandIn, type AuditEngineStandIn } from '../../test/testing/audit-engine-stand-in.js';
import { startEvolutionApp, type RunningEvolutionApp } from './testing/evolution-app.js';
import { lowRiskProposal } from './testing/fixtures.js';
import { startPolicyEngine, type RunningPolicyEngine } from '../../test/testing/policy-engine.js';
import { SERVICE_AUTH } from '../../test/testing/tokens.js';

/**
 * The service on the embedded PGlite of `npm start` (one connection, DATABASE_POOL_MAX=1).
 * pg.Pool used to discard that connection after any failed statement and the reconnect was
 * refused ("Connection terminated unexpectedly"), so every request after it failed.
 */
// A folder of its own around the data directory: the embedded database makes its parent private.
const scratch = mkdtempSync(join(tmpdir(), 'acgs-eo-pglite-'));
const dataDir = join(scratch, 'evolution');
let embedded: EmbeddedPostgres | undefined;
let receiver: AuditEngineStandIn | undefined;
let policyEngine: RunningPolicyEngine | undefined;
let service: RunningEvolutionApp | undefined;
let app: Service;

beforeAll(async () => {
  embedded = await startEmbeddedPostgres(dataDir);
  receiver = await startAuditEngineStandIn();
  policyEngine = await startPolicyEngine({ auditEngineUrl: receiver.url });
  service = await startEvolutionApp({ databaseUrl: embedded.url, policyEngineUrl: policyEngine.url, auditEngineUrl: receiver.url, poolMax: 1 });
  app = service.app;
}, 60_000);

afterAll(async () => {
  await service?.close();
  await policyEngine?.close();
  await receiver?.close();
  await embedded?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

async function propose(overrides: Parameters<typeof lowRiskProposal>[0] = {}): Promise<Evolution> {
  const response = await app.inject({ method: 'POST', url: '/evolutions', payload: lowRiskProposal(overrides), headers: SERVICE_AUTH });
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

const approve = (id: string, reviewer = 'U-REVIEWER') =>
  app.inject({ method: 'POST', url: `/evolutions/${id}/approve`, payload: { reviewer_id: reviewer, justification: 'checked' }, headers: SERVICE_AUTH });

describe('evolution oversight on the embedded PGlite database', () => {
  it('answers 409 for approving an auto-approved evolution, and every request after it', async () => {
    const auto = await propose();
    expect(auto.status).toBe('auto_approved');
    for (let attempt = 0; attempt < 3; attempt += 1) expect((await approve(auto.id)).statusCode).toBe(409);
    expect((await app.inject(`/evolutions/${auto.id}`)).json().transitions).toHaveLength(1);
    expect((await propose()).status).toBe('auto_approved');
  });

  it('answers 409 for a second approval, and keeps going', async () => {
    const risky = await propose({ privilege_escalation: true, priority: 'high' });
    expect(risky.status).toBe('human_review');
    expect((await approve(risky.id, 'U-REQUESTER')).statusCode).toBe(403);
    expect((await approve(risky.id)).statusCode).toBe(200);
    expect((await approve(risky.id)).statusCode).toBe(409);
    expect((await app.inject('/evolutions?status=approved')).json().count).toBe(1);
  });

  it('keeps serving after a statement fails on its one connection (a unique violation)', async () => {
    const existing = await propose();
    const duplicate = app.evolutionPool.query('INSERT INTO evolutions SELECT * FROM evolutions WHERE id = $1', [existing.id]);
    await expect(duplicate).rejects.toMatchObject({ code: '23505' });
    expect((await app.inject(`/evolutions/${existing.id}`)).statusCode).toBe(200);
    expect((await approve(existing.id)).statusCode).toBe(409);
    const health = await app.inject('/health');
    expect(health.statusCode).toBe(200);
    expect(health.json()).toMatchObject({ database: { reachable: true } });
    expect(app.evolutionPool.totalCount).toBe(1);
  });

  it('sent one audit event per transition that happened, none for the refused ones', async () => {
    await app.transitionAudit.outbox.flush();
    const kinds = receiver!.events.map((event) => event.event_type);
    expect(kinds.filter((kind) => kind === 'evolution_approved')).toHaveLength(1);
    expect(kinds.filter((kind) => kind === 'evolution_created')).toHaveLength(4);
  });
});
