import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseLostError } from './errors.js';
import { createRunbookRegistry } from './registry.js';
import { createRunExecutor } from './run-executor.js';
import type { DriveEnd } from './run-driver.js';
import { runbookTestDatabase, type RunbookTestDatabase } from './testing/database.js';
import { scriptedRunbook } from './testing/scripted-runbooks.js';

let t: RunbookTestDatabase;
beforeAll(async () => {
  t = await runbookTestDatabase();
});
afterAll(async () => {
  await t?.close();
});

const newRun = () => t.store.create({ runbook: 'fenced', version: '0123456789abcdef', args: {}, requester: 'U0ONCALL', origin: 'test' });

describe('leases', () => {
  it('a run has one holder: a second claim finds nothing while the lease lives, and takes it over once it ran out', async () => {
    const run = await newRun();
    const first = await t.store.claim(run.id, 'runner-a', 300);
    expect(first).toMatchObject({ run: { state: 'running', leaseOwner: 'runner-a', fencingToken: '1' }, previousOwner: null });
    expect(await t.store.claim(run.id, 'runner-b', 300)).toBeUndefined();
    await sleep(400);
    const second = await t.store.claim(run.id, 'runner-b', 5000);
    expect(second).toMatchObject({ run: { state: 'running', leaseOwner: 'runner-b', fencingToken: '2' }, previousOwner: 'runner-a' });
  });

  it('use the database clock: the expiry is now() plus the lease on the server', async () => {
    const run = await newRun();
    const claim = (await t.store.claim(run.id, 'runner-a', 15_000))!;
    const { rows } = await t.pool.query<{ left_ms: number }>('SELECT (extract(epoch FROM lease_expires_at - now()) * 1000)::float8 AS left_ms FROM runbook_runs WHERE id = $1', [run.id]);
    expect(rows[0]!.left_ms).toBeGreaterThan(14_000);
    expect(rows[0]!.left_ms).toBeLessThanOrEqual(15_000);
    await t.store.settle(claim.lease, { state: 'succeeded', reason: null });
  });

  it('a stale holder can write nothing: every write under the old token is refused and changes nothing', async () => {
    const run = await newRun();
    const stale = (await t.store.claim(run.id, 'runner-a', 200))!;
    const attempt = (await t.store.startAttempt(stale.lease, { index: 0, id: 'first', action: 'run' }))!;
    await sleep(300);
    const fresh = (await t.store.claim(run.id, 'runner-b', 5000))!;
    const before = { run: await t.store.get(run.id), attempts: await t.store.attempts(run.id) };
    const writes: Array<() => Promise<unknown>> = [
      () => t.store.renew(stale.lease),
      () => t.store.startAttempt(stale.lease, { index: 1, id: 'second', action: 'run' }),
      () => t.store.finishAttempt(stale.lease, { index: 0, attempt, outcome: 'done', output: { late: true } }),
      () => t.store.interruptRunning(stale.lease),
      () => t.store.settle(stale.lease, { state: 'succeeded', reason: null }),
    ];
    for (const write of writes) await expect(write()).rejects.toBeInstanceOf(LeaseLostError);
    expect({ run: await t.store.get(run.id), attempts: await t.store.attempts(run.id) }).toEqual(before);
    // The same holder with the same name but an old token is stale too.
    await expect(t.store.renew({ ...fresh.lease, token: stale.lease.token })).rejects.toThrow(/no longer holds run .* \(fencing token 1\); its write was refused/);
    expect(await t.store.renew(fresh.lease)).toBe('running');
  });

  it('the database refuses a second running attempt in one run, and a running run without a holder', async () => {
    const run = await newRun();
    const claim = (await t.store.claim(run.id, 'runner-a', 5000))!;
    await t.store.startAttempt(claim.lease, { index: 0, id: 'first', action: 'run' });
    await expect(t.store.startAttempt(claim.lease, { index: 1, id: 'second', action: 'run' })).rejects.toThrow(/runbook_step_attempts_one_running/);
    await expect(t.pool.query('UPDATE runbook_runs SET lease_owner = NULL WHERE id = $1', [run.id])).rejects.toThrow(/runbook_runs_running_is_leased/);
  });
});

describe('an abort asked for while the runner is ending the run', () => {
  it('wins: the run stays aborting, still held, and only `aborted` ends it', async () => {
    const run = await newRun();
    const claim = (await t.store.claim(run.id, 'runner-a', 5000))!;
    expect((await t.store.requestAbort(run.id, 'U0LEAD')).state).toBe('aborting');
    for (const state of ['succeeded', 'failed', 'needs_decision'] as const) {
      expect(await t.store.settle(claim.lease, { state, reason: null })).toMatchObject({ state: 'aborting', leaseOwner: 'runner-a', reason: 'abort requested by U0LEAD' });
    }
    expect(await t.store.settle(claim.lease, { state: 'aborted', reason: 'aborted; nothing was undone' })).toMatchObject({ state: 'aborted', leaseOwner: null });
  });

  it('a runner handing the run back leaves it aborting for the next runner', async () => {
    const run = await newRun();
    const claim = (await t.store.claim(run.id, 'runner-a', 5000))!;
    await t.store.requestAbort(run.id, 'U0LEAD');
    expect(await t.store.settle(claim.lease, { state: 'pending', reason: 'handed back' })).toMatchObject({ state: 'aborting', leaseOwner: null, leaseExpiresAt: null });
    expect((await t.store.claim(run.id, 'runner-b', 5000))!.run).toMatchObject({ state: 'aborting', leaseOwner: 'runner-b' });
  });
});

describe('a runner that lost its lease mid-step', () => {
  it('does not record the step result and stops driving the run', async () => {
    const registry = createRunbookRegistry([scriptedRunbook(t.pool, 'fenced-step', [{ id: 'hold' }, { id: 'after' }])]);
    const ends: DriveEnd[] = [];
    const executor = createRunExecutor({ store: t.store, registry, owner: 'runner-a', leaseMs: 1000, renewEveryMs: 200, onDriveEnd: (_id, end) => ends.push(end) });
    const run = await executor.submit({ runbook: 'fenced-step', args: { holdMs: { hold: 1500 } }, requester: 'U0', origin: 'test' });
    await executor.scanNow();
    await expect.poll(async () => (await t.store.attempts(run.id)).length, { timeout: 5000 }).toBe(1);
    // Another runner takes the run over (as if runner-a had stalled past its lease).
    // (Expiring it and claiming are two statements; a renewal in between would win, so try again.)
    let takeover: Awaited<ReturnType<typeof t.store.claim>>;
    for (;;) {
      await t.pool.query('UPDATE runbook_runs SET lease_expires_at = now() WHERE id = $1', [run.id]);
      takeover = await t.store.claim(run.id, 'runner-b', 60_000);
      if (takeover) break;
    }
    expect(takeover!.previousOwner).toBe('runner-a');
    await executor.idle();
    expect(ends).toEqual(['lost']);
    const attempts = await t.store.attempts(run.id);
    expect(attempts.map((a) => [a.stepId, a.outcome, a.owner])).toEqual([['hold', 'running', 'runner-a']]);
    expect(await t.store.get(run.id)).toMatchObject({ state: 'running', leaseOwner: 'runner-b', fencingToken: takeover!.lease.token });
    await executor.stop();
  });
});

describe('activeAndRecent', () => {
  it('returns every run not yet ended, however old, then only the newest ended ones', async () => {
    const old = await newRun();
    await t.pool.query(`UPDATE runbook_runs SET state = 'needs_decision', created_at = now() - interval '30 days' WHERE id = $1`, [old.id]);
    const ended = [];
    for (let n = 0; n < 3; n += 1) {
      const run = await newRun();
      await t.pool.query(`UPDATE runbook_runs SET state = 'succeeded' WHERE id = $1`, [run.id]);
      ended.push(run.id);
    }
    const listed = await t.store.activeAndRecent(2);
    const { rows } = await t.pool.query<{ id: string }>(`SELECT id FROM runbook_runs WHERE state IN ('pending', 'running', 'needs_decision', 'aborting') ORDER BY created_at DESC`);
    const active = listed.filter((run) => !['succeeded', 'failed', 'aborted'].includes(run.state));
    expect(active.map((run) => run.id)).toEqual(rows.map((row) => row.id));
    expect(active.map((run) => run.id)).toContain(old.id);
    expect(listed.slice(active.length).map((run) => run.id)).toEqual([ended[2], ended[1]]);
  });
});
