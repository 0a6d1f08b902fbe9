/**
 * The deploy lock and the deployment records on the real PostgreSQL: one holder per stack (also
 * when two runs ask at the same moment), a lock whose run ended is free, take-overs and forced
 * unlocks on record, running and previous versions from the records alone, and every refusal
 * before anything is written.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployLockError, type DeployedArtifact } from '../../commands/ports.js';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import type { NewDeploymentRecord } from '../engine/ports.js';
import { createRunStore, migrateRunStore, type RunState } from '../engine/run-store.js';
import { createReleaseRecords, migrateReleaseRecords, stackKey } from './release-records.js';
import { formatTimestamp } from '../../commands/format.js';

let db: TestDatabase;
let pool: pg.Pool;
let stackNumber = 0;

beforeAll(async () => {
  db = await createTestDatabase('acgs_release_records');
  pool = createPool({ databaseUrl: db.url, max: 6, applicationName: 'acgs-release-records-test' });
  await migrateRunStore(pool);
  await migrateReleaseRecords(pool);
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/** A store on a stack of its own, so each test starts with no lock and no records. */
function freshStore(observe?: Parameters<typeof createReleaseRecords>[0]['observe']) {
  const stack = { kind: 'docker' as const, description: `test engine, project p${++stackNumber}` };
  return { stack: stackKey(stack), records: createReleaseRecords({ pool, stack, ...(observe ? { observe } : {}) }) };
}

async function newRun(runbook = 'deploy', requester = 'U0ONCALL'): Promise<string> {
  return (await createRunStore(pool).create({ runbook, version: 'v1', args: {}, requester, origin: 'slash' })).id;
}

/** A run that ended (the bot running it crashed and it was aborted, or it failed). */
async function endRun(id: string, state: RunState = 'aborted'): Promise<void> {
  await pool.query('UPDATE runbook_runs SET state = $2 WHERE id = $1', [id, state]);
}

async function lockEvents(stack: string): Promise<Array<Record<string, unknown>>> {
  const { rows } = await pool.query('SELECT action, run_id, actor, reason, previous_run, previous_holder FROM deploy_lock_events WHERE stack = $1 ORDER BY id', [stack]);
  return rows;
}

async function refusal(promise: Promise<unknown>): Promise<DeployLockError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(DeployLockError);
  return error as DeployLockError;
}

describe('the deploy lock', () => {
  it('is held by one run; another is refused with who holds it, since when and for which run', async () => {
    const { records, stack } = freshStore();
    const first = await newRun('deploy', 'U0ALICE');
    const second = await newRun('hotfix', 'U0BOB');
    const lock = await records.acquire(first, 'deploy', 'U0ALICE');
    expect(lock).toMatchObject({ stack, runId: first, runbook: 'deploy', heldBy: 'U0ALICE', takenFrom: null });

    const refused = await refusal(records.acquire(second, 'hotfix', 'U0BOB'));
    expect(refused.code).toBe('held');
    expect(refused.message).toBe(`The deploy lock is taken: U0ALICE holds it since ${formatTimestamp(lock.since)} for run ${first} (deploy).`);
    expect(refused.holder).toEqual(lock);
    expect(await records.lock()).toEqual(lock);
    // Asking again for the run that holds it changes nothing (a step run again after a takeover).
    expect(await records.acquire(first, 'deploy', 'U0ALICE')).toEqual(lock);
    expect((await lockEvents(stack)).map((event) => event.action)).toEqual(['acquire']);
  });

  it('is released only by its holder; releasing a free lock is a no-op', async () => {
    const { records, stack } = freshStore();
    const holder = await newRun();
    const other = await newRun();
    await records.acquire(holder, 'deploy', 'U0ALICE');
    const refused = await refusal(records.release(other));
    expect(refused.code).toBe('not-holder');
    expect(refused.message).toContain(`Run ${other} does not hold the deploy lock: U0ALICE holds it`);
    expect(await records.lock()).toMatchObject({ runId: holder });

    expect(await records.release(holder)).toBe(true);
    expect(await records.lock()).toBeNull();
    expect(await records.release(holder)).toBe(false);
    expect(await lockEvents(stack)).toMatchObject([{ action: 'acquire', run_id: holder }, { action: 'release', run_id: holder, actor: 'U0ALICE' }]);
  });

  it.each(['succeeded', 'failed', 'aborted'] as const)('is free once its run has %s: a crashed bot never leaves it behind', async (state) => {
    const { records, stack } = freshStore();
    const crashed = await newRun('deploy', 'U0ALICE');
    await records.acquire(crashed, 'deploy', 'U0ALICE');
    await endRun(crashed, state);
    expect(await records.lock()).toBeNull();

    const next = await newRun('deploy', 'U0BOB');
    expect(await records.acquire(next, 'deploy', 'U0BOB')).toMatchObject({ runId: next, heldBy: 'U0BOB' });
    expect((await lockEvents(stack)).at(-1)).toMatchObject({ action: 'acquire', run_id: next, previous_run: crashed, previous_holder: 'U0ALICE' });
  });

  it('refuses an unknown run and a run that ended, writing nothing', async () => {
    const { records, stack } = freshStore();
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await refusal(records.acquire(unknown, 'deploy', 'U0ALICE'))).code).toBe('unknown-run');
    const ended = await newRun();
    await endRun(ended, 'succeeded');
    const refused = await refusal(records.acquire(ended, 'deploy', 'U0ALICE'));
    expect(refused.code).toBe('run-ended');
    expect(refused.message).toBe(`Run ${ended} has ended (succeeded): it may not take the deploy lock.`);
    expect((await refusal(records.takeOver(unknown, 'U0ALICE'))).code).toBe('unknown-run');
    expect(await records.lock()).toBeNull();
    expect(await lockEvents(stack)).toEqual([]);
  });

  it('goes to exactly one of two runs asking at the same moment', async () => {
    for (let round = 0; round < 8; round++) {
      const { records, stack } = freshStore();
      // The lock's row exists and is free, as after any earlier deploy: nothing but the row lock keeps them apart.
      const earlier = await newRun();
      await records.acquire(earlier, 'deploy', 'U0EARLIER');
      await records.release(earlier);
      const [a, b] = [await newRun('deploy', 'U0A'), await newRun('hotfix', 'U0B')];
      const outcomes = await Promise.allSettled([records.acquire(a, 'deploy', 'U0A'), records.acquire(b, 'hotfix', 'U0B')]);
      const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
      const lost = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect((lost[0]!.reason as DeployLockError).code).toBe('held');
      expect((await records.lock())?.runId).toBe((won[0] as PromiseFulfilledResult<{ runId: string }>).value.runId);
      expect(await lockEvents(stack)).toHaveLength(3);
    }
  });

  it('is taken over by a rollback whoever holds it, recording whose it took', async () => {
    const { records, stack } = freshStore();
    const deploy = await newRun('deploy', 'U0ALICE');
    const rollback = await newRun('rollback', 'U0BOB');
    const held = await records.acquire(deploy, 'deploy', 'U0ALICE');
    const { lock, took } = await records.takeOver(rollback, 'U0BOB');
    expect(took).toEqual(held);
    expect(lock).toMatchObject({ runId: rollback, runbook: 'rollback', heldBy: 'U0BOB', takenFrom: { runId: deploy, heldBy: 'U0ALICE' } });
    expect((await refusal(records.release(deploy))).code).toBe('not-holder');
    expect((await lockEvents(stack)).at(-1)).toMatchObject({ action: 'take-over', run_id: rollback, actor: 'U0BOB', previous_run: deploy, previous_holder: 'U0ALICE' });
    expect(await records.takenOverBy(deploy)).toEqual({ runId: rollback, runbook: 'rollback', heldBy: 'U0BOB' });
    expect(await records.takenOverBy(rollback)).toBeNull();
    // Taking over a free lock is an ordinary acquire.
    await records.release(rollback);
    // Freed by the taker, the lock is still not the deploy's again: the take-over is remembered.
    expect(await records.takenOverBy(deploy)).toEqual({ runId: rollback, runbook: 'rollback', heldBy: 'U0BOB' });
    const again = await newRun('rollback', 'U0BOB');
    expect(await records.takeOver(again, 'U0BOB')).toMatchObject({ took: null, lock: { runId: again, takenFrom: null } });
  });

  it('ends with the rollback holding it when a deploy and a rollback ask at once', async () => {
    for (let round = 0; round < 6; round++) {
      const { records } = freshStore();
      const [deploy, rollback] = [await newRun('deploy'), await newRun('rollback')];
      const [acquired] = await Promise.allSettled([records.acquire(deploy, 'deploy', 'U0A'), records.takeOver(rollback, 'U0B')]);
      if (acquired.status === 'rejected') expect((acquired.reason as DeployLockError).code).toBe('held');
      expect((await records.lock())?.runId).toBe(rollback);
    }
  });

  it('is forced open by an admin with a reason on record; refused without a reason or when nothing holds it', async () => {
    const { records, stack } = freshStore();
    expect((await refusal(records.forceUnlock('U0ADMIN', 'stuck deploy is stuck'))).code).toBe('not-locked');
    const run = await newRun('deploy', 'U0ALICE');
    const held = await records.acquire(run, 'deploy', 'U0ALICE');
    for (const reason of ['', '   ', 'too short']) {
      const refused = await refusal(records.forceUnlock('U0ADMIN', reason));
      expect(refused.code).toBe('bad-reason');
      expect(refused.message).toBe('Say why the lock is forced open, in at least 10 characters: it goes on record.');
    }
    expect(await records.lock()).toEqual(held);

    expect(await records.forceUnlock('U0ADMIN', '  deploy runner hung, incident 7  ')).toEqual(held);
    expect(await records.lock()).toBeNull();
    // A forced unlock has no taker: the run goes on (run abort stops it).
    expect(await records.takenOverBy(run)).toBeNull();
    expect((await lockEvents(stack)).at(-1)).toEqual({
      action: 'force-unlock',
      run_id: run,
      actor: 'U0ADMIN',
      reason: 'deploy runner hung, incident 7',
      previous_run: run,
      previous_holder: 'U0ALICE',
    });
  });

  it('is forced open once when two admins force it at the same moment', async () => {
    const { records } = freshStore();
    await records.acquire(await newRun(), 'deploy', 'U0ALICE');
    const outcomes = await Promise.allSettled([records.forceUnlock('U0ADMIN1', 'first admin unlocks'), records.forceUnlock('U0ADMIN2', 'second admin unlocks')]);
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    const lost = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    expect((lost!.reason as DeployLockError).code).toBe('not-locked');
  });

  it('is one per stack', async () => {
    const one = freshStore();
    const two = freshStore();
    await one.records.acquire(await newRun(), 'deploy', 'U0A');
    expect(await two.records.lock()).toBeNull();
    await two.records.acquire(await newRun(), 'deploy', 'U0B');
    expect((await one.records.lock())?.heldBy).toBe('U0A');
  });
});

const COMMIT = (digit: string) => digit.repeat(40);
const image = (version: string): DeployedArtifact => ({ kind: 'image', image: `acgs/policy-engine:${version}` });

async function deployed(records: ReturnType<typeof freshStore>['records'], version: string, fields: Partial<NewDeploymentRecord> = {}) {
  return records.record({
    service: 'policy-engine',
    version,
    ref: `v${version}`,
    commit: COMMIT(version.replace(/\D/g, '').slice(-1) || 'a'),
    artifact: image(version),
    kind: 'deploy',
    runId: await newRun(fields.kind ?? 'deploy'),
    requestedBy: 'U0ALICE',
    outcome: 'live',
    ...fields,
  });
}

describe('the deployment records', () => {
  it("record a service's initial version once, by stack start", async () => {
    const { records } = freshStore();
    const initial = await records.recordInitial('policy-engine', { version: '1.0.0', commit: COMMIT('a'), artifact: { kind: 'directory', directory: '/srv/acgs' } });
    expect(initial).toMatchObject({ version: '1.0.0', kind: 'initial', requestedBy: 'stack start', runId: null, outcome: 'live', ref: null, replacedVersion: null, artifact: { kind: 'directory', directory: '/srv/acgs' } });
    expect(await records.recordInitial('policy-engine', { version: '2.0.0', commit: null, artifact: null })).toBeNull();
    expect(await records.current('policy-engine')).toEqual(initial);
    const both = await Promise.all([1, 2].map(() => records.recordInitial('audit-engine', { version: '1.0.0', commit: null, artifact: null })));
    expect(both.filter(Boolean)).toHaveLength(1);
  });

  it('say which version runs and which ran before, from the records alone', async () => {
    const { records } = freshStore();
    await records.recordInitial('policy-engine', { version: '1.0.0', commit: null, artifact: null });
    const first = await deployed(records, '1.1.0');
    expect(first.replacedVersion).toBe('1.0.0');
    const second = await deployed(records, '1.2.0', { kind: 'hotfix', requestedBy: 'cli:alice' });
    expect(await records.current('policy-engine')).toEqual(second);
    expect(await records.previous('policy-engine')).toEqual(first);

    // A deploy that never went live changes neither.
    const failed = await deployed(records, '1.3.0', { outcome: 'failed' });
    expect(failed).toMatchObject({ outcome: 'failed', replacedVersion: '1.2.0' });
    expect((await records.current('policy-engine'))?.version).toBe('1.2.0');

    // A rollback to 1.1.0 takes 1.2.0 back; the next rollback would go to 1.0.0.
    const rollback = await deployed(records, '1.1.0', { kind: 'rollback', requestedBy: 'U0BOB' });
    expect(rollback).toMatchObject({ kind: 'rollback', replacedVersion: '1.2.0', outcome: 'live' });
    expect(await records.current('policy-engine')).toEqual(rollback);
    expect((await records.previous('policy-engine'))?.version).toBe('1.0.0');
    // What people read as the version before is the one the rollback took back.
    const listed = (await records.releases()).find((entry) => entry.service === 'policy-engine')!;
    expect(listed.previous).toMatchObject({ version: '1.2.0', kind: 'hotfix', outcome: 'rolled-back' });

    const history = await records.history('policy-engine', 10);
    expect(history.map((record) => [record.version, record.kind, record.outcome])).toEqual([
      ['1.1.0', 'rollback', 'live'],
      ['1.3.0', 'deploy', 'failed'],
      ['1.2.0', 'hotfix', 'rolled-back'],
      ['1.1.0', 'deploy', 'live'],
      ['1.0.0', 'initial', 'live'],
    ]);
    expect((await records.history('policy-engine', 2)).map((record) => record.id)).toEqual(history.slice(0, 2).map((record) => record.id));
  });

  it("change a record's outcome when a deploy's watch fails after it went live", async () => {
    const { records } = freshStore();
    const record = await deployed(records, '2.0.0');
    expect(await records.setOutcome(record.id, 'failed')).toMatchObject({ id: record.id, outcome: 'failed' });
    expect(await records.current('policy-engine')).toBeNull();
    expect((await refusal(records.setOutcome(999_999_999, 'failed'))).code).toBe('unknown-record');
  });

  it('list every service, seeing the ones without a record for the first time; one that cannot be looked at gets none', async () => {
    const asked: string[] = [];
    const { records } = freshStore(async (service) => {
      asked.push(service);
      if (service === 'sandbox-controller') throw new Error('connection refused');
      return { version: '0.1.0', commit: COMMIT('c'), artifact: null };
    });
    await deployed(records, '1.1.0');
    const listed = await records.releases();
    expect(listed.map((entry) => [entry.service, entry.current?.version ?? null, entry.current?.kind ?? null])).toEqual([
      ['sandbox-controller', null, null],
      ['evolution-oversight', '0.1.0', 'initial'],
      ['audit-engine', '0.1.0', 'initial'],
      ['policy-engine', '1.1.0', 'deploy'],
    ]);
    expect(asked.sort()).toEqual(['audit-engine', 'evolution-oversight', 'sandbox-controller']);
    // Seen once: the next listing asks only about the one it could not see.
    asked.length = 0;
    await records.releases();
    expect(asked).toEqual(['sandbox-controller']);
  });

  it('refuse an unknown service and keep stacks apart', async () => {
    const { records } = freshStore();
    expect((await refusal(records.history('policy-engin', 5))).message).toBe(
      'There is no service "policy-engin"; the services are sandbox-controller, evolution-oversight, audit-engine, policy-engine.',
    );
    await deployed(records, '3.0.0');
    expect(await freshStore().records.history('policy-engine', 5)).toEqual([]);
  });
});
