/**
 * The RunbookRuns port on the real PostgreSQL: a held run carries its lease's age on the database's
 * clock, and `runs` / `run status` say a runner is silent once its lease went unrenewed for longer
 * than the renewal period, instead of showing it running on a runner that is gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStatusDocument, runsDocument } from '../../commands/run-documents.js';
import { renderText } from '../cli-render.js';
import { createRunbookRegistry } from '../../runbooks/engine/registry.js';
import { createRunExecutor } from '../../runbooks/engine/run-executor.js';
import { createGateStore } from '../../runbooks/engine/gate-store.js';
import { runbookTestDatabase, type RunbookTestDatabase } from '../../runbooks/engine/testing/database.js';
import { scriptedRunbook } from '../../runbooks/engine/testing/scripted-runbooks.js';
import { createRunbookRuns } from './runbook-runs.js';

const RENEW_EVERY_MS = 500;
const LEASE_MS = 10_000;

let database: RunbookTestDatabase;

beforeAll(async () => {
  database = await runbookTestDatabase();
}, 30_000);

afterAll(async () => {
  await database?.close();
});

function port() {
  const registry = createRunbookRegistry([scriptedRunbook(database.pool, 'lease-age', [{ id: 'only' }])]);
  // Never started: the runs are claimed below by hand, as a runner that then dies would.
  const executor = createRunExecutor({ store: database.store, registry, leaseMs: LEASE_MS, renewEveryMs: RENEW_EVERY_MS });
  return createRunbookRuns({ registry, executor, store: database.store, gates: createGateStore(database.pool) });
}

describe("a held run's lease", () => {
  it('is shown with its age while renewed on time, and as a silent runner once a renewal is overdue', async () => {
    const runs = port();
    const submitted = await runs.submit({ runbook: 'lease-age', args: {}, requester: 'U0ONCALL', origin: 'slash' });
    const claim = await database.store.claim(submitted.id, 'host-a/123/abc', LEASE_MS);
    expect(claim).toBeDefined();

    const fresh = await runs.get(submitted.id);
    expect(fresh.run.lease).toMatchObject({ renewEveryMs: RENEW_EVERY_MS });
    expect(fresh.run.lease!.ageMs).toBeLessThan(RENEW_EVERY_MS * 1.5);
    const freshText = renderText(runStatusDocument(fresh));
    expect(freshText).toMatch(/host-a\/123\/abc \(lease renewed [\d.]+ m?s ago, every 500 ms\)/);
    expect(freshText).not.toContain('silent');

    // The holder renews once, then dies: nobody renews any more.
    await database.store.renew(claim!.lease);
    await new Promise((resolve) => setTimeout(resolve, RENEW_EVERY_MS * 3));
    const silent = await runs.get(submitted.id);
    expect(silent.run.runner).toBe('host-a/123/abc');
    expect(silent.run.lease!.ageMs).toBeGreaterThanOrEqual(RENEW_EVERY_MS * 3 - 50);
    const status = runStatusDocument(silent);
    expect(status.summary).toMatch(/But its runner host-a\/123\/abc has been silent for [\d.]+ m?s: it is dead or cut off/);
    expect(renderText(status)).toMatch(/host-a\/123\/abc: runner silent for [\d.]+ m?s \(no lease renewal, expected every 500 ms\); another runner takes the run over when its lease ends in [\d.]+ s/);
    const listed = runsDocument(await runs.activeAndRecent(10));
    expect(JSON.stringify(listed.blocks)).toMatch(/running, runner silent for [\d.]+ m?s/);

    // A run nobody holds carries no lease at all.
    const waiting = await runs.submit({ runbook: 'lease-age', args: {}, requester: 'U0ONCALL', origin: 'slash' });
    expect((await runs.get(waiting.id)).run.lease).toBeUndefined();
    expect(runStatusDocument(await runs.get(waiting.id)).summary).not.toContain('silent');
  });
});
