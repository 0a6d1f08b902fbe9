/**
 * What the bot deployed and its deploy lock, in the bot's database: `deployment_records` (one row
 * per deployment of a service; the running and previous versions are read from these, never
 * guessed from container names), `deploy_locks` (one row per stack: the run holding it) and
 * `deploy_lock_events` (every acquire, release, take-over and forced unlock; only ever added to).
 *
 * A lock is a row locked FOR UPDATE inside the transaction that changes it, so two runs asking at
 * once queue on it and exactly one wins. Whether its holder still holds it is read from the run
 * store in the same statement: a run that ended (or is gone) holds nothing, so a bot that crashed
 * mid-deploy leaves no lock behind once its run ends or is aborted.
 */
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import {
  DeployLockError,
  type DeployedArtifact,
  type DeploymentKind,
  type DeploymentOutcome,
  type DeploymentRecordInfo,
  type DeployLockInfo,
  type ServiceReleaseInfo,
} from '../../commands/ports.js';
import { SERVICE_NAMES } from '../../services/kit/service-ports.js';
import { migrate, withTransaction } from '../../services/kit/postgres.js';
import type { Stack } from '../../services/stack/stack.js';
import type { DeploymentRecords, InitialVersion, NewDeploymentRecord } from '../engine/ports.js';
import { FINAL_RUN_STATES, migrateRunStore } from '../engine/run-store.js';
import { formatTimestamp } from '../../commands/format.js';

export const RELEASE_RECORDS_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));
export const RELEASE_RECORDS_MIGRATIONS_TABLE = 'deployments_migrations';
export const RELEASE_RECORDS_TABLES = ['deployment_records', 'deploy_locks', 'deploy_lock_events'] as const;

/** Who records a service's initial version: nobody asked for it, the bot found it at its start. */
export const INITIAL_REQUESTER = 'stack start';
/** A forced unlock is an admin's decision on record: its reason must say something. */
export const MIN_UNLOCK_REASON_LENGTH = 10;

/**
 * Creates or updates the tables, and the run store's first: a lock's holder is a run, read from
 * runbook_runs, which a process that never hosted the engine (the CLI) may not have made yet.
 */
export async function migrateReleaseRecords(pool: pg.Pool, log?: (message: string) => void): Promise<string[]> {
  const runs = await migrateRunStore(pool, log);
  return [...runs, ...(await migrate(pool, { directory: RELEASE_RECORDS_MIGRATIONS_DIR, table: RELEASE_RECORDS_MIGRATIONS_TABLE, ...(log ? { log } : {}) }))];
}

/** The lock's key: one lock per stack the bot controls. */
export function stackKey(stack: Pick<Stack, 'kind' | 'description'>): string {
  return `${stack.kind}:${stack.description}`;
}

export interface ReleaseRecordsOptions {
  pool: pg.Pool;
  stack: Pick<Stack, 'kind' | 'description'>;
  /** The services `releases` lists; default the four of the stack. */
  services?: readonly string[];
  /**
   * What a service runs now (its /health version, the release repository's HEAD), asked only for
   * a service with no record yet; null (or a throw) when it cannot tell, and nothing is recorded.
   */
  observe?(service: string): Promise<InitialVersion | null>;
}

interface RecordRow {
  id: string;
  service: string;
  version: string;
  ref: string | null;
  commit: string | null;
  artifact: DeployedArtifact | null;
  kind: DeploymentKind;
  run_id: string | null;
  requested_by: string;
  at: Date;
  outcome: DeploymentOutcome;
  replaced_version: string | null;
}

interface LockRow {
  stack: string;
  run_id: string | null;
  runbook: string | null;
  held_by: string | null;
  since: Date | null;
  taken_from_run: string | null;
  taken_from_by: string | null;
  /** Whether the holder's run is still going (read from runbook_runs). */
  holder_active: boolean | null;
}

type Queryable = Pick<pg.PoolClient, 'query'>;

const RECORD_COLUMNS = 'id, service, version, ref, commit, artifact, kind, run_id, requested_by, at, outcome, replaced_version';

function toRecord(row: RecordRow): DeploymentRecordInfo {
  return {
    id: Number(row.id),
    service: row.service,
    version: row.version,
    ref: row.ref,
    commit: row.commit,
    artifact: row.artifact,
    kind: row.kind,
    runId: row.run_id,
    requestedBy: row.requested_by,
    at: row.at.toISOString(),
    outcome: row.outcome,
    replacedVersion: row.replaced_version,
  };
}

/** The lock as held, or null when nobody holds it or its run has ended. */
function heldLock(row: LockRow | undefined): DeployLockInfo | null {
  if (!row?.run_id || !row.holder_active) return null;
  return {
    stack: row.stack,
    runId: row.run_id,
    runbook: row.runbook!,
    heldBy: row.held_by!,
    since: row.since!.toISOString(),
    takenFrom: row.taken_from_run ? { runId: row.taken_from_run, heldBy: row.taken_from_by ?? 'unknown' } : null,
  };
}

function heldSentence(lock: DeployLockInfo): string {
  return `${lock.heldBy} holds it since ${formatTimestamp(lock.since)} for run ${lock.runId} (${lock.runbook})`;
}

export function createReleaseRecords(options: ReleaseRecordsOptions): DeploymentRecords {
  const { pool } = options;
  const stack = stackKey(options.stack);
  const services = options.services ?? SERVICE_NAMES;

  /** The lock row, created when missing and locked for this transaction: concurrent changes queue here. */
  async function lockRow(client: Queryable): Promise<LockRow> {
    await client.query('INSERT INTO deploy_locks (stack) VALUES ($1) ON CONFLICT (stack) DO NOTHING', [stack]);
    // The row alone, then its holder's run: a join locked FOR UPDATE would recheck a row another
    // transaction changed against the run it joined before the wait, and see the new holder as ended.
    const { rows } = await client.query<LockRow>('SELECT * FROM deploy_locks WHERE stack = $1 FOR UPDATE', [stack]);
    const row = rows[0]!;
    return { ...row, holder_active: row.run_id ? await runActive(client, row.run_id) : false };
  }

  async function runActive(client: Queryable, runId: string): Promise<boolean> {
    const { rows } = await client.query('SELECT 1 FROM runbook_runs WHERE id = $1 AND NOT (state = ANY($2::text[]))', [runId, FINAL_RUN_STATES]);
    return rows.length > 0;
  }

  /** The run that asks, which must exist and not have ended: an ended run may not take a lock it could never free. */
  async function askingRun(client: Queryable, runId: string): Promise<{ runbook: string }> {
    const { rows } = await client.query<{ runbook: string; state: string }>('SELECT runbook, state FROM runbook_runs WHERE id = $1', [runId]);
    const run = rows[0];
    if (!run) throw new DeployLockError('unknown-run', `There is no run ${runId}: only a run may hold the deploy lock.`);
    if (FINAL_RUN_STATES.includes(run.state as never)) throw new DeployLockError('run-ended', `Run ${runId} has ended (${run.state}): it may not take the deploy lock.`);
    return run;
  }

  async function event(client: Queryable, action: string, fields: { runId?: string | null; runbook?: string | null; actor: string; reason?: string; previous?: { runId: string; heldBy: string } | null }): Promise<void> {
    await client.query(
      'INSERT INTO deploy_lock_events (stack, action, run_id, runbook, actor, reason, previous_run, previous_holder) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [stack, action, fields.runId ?? null, fields.runbook ?? null, fields.actor, fields.reason ?? null, fields.previous?.runId ?? null, fields.previous?.heldBy ?? null],
    );
  }

  async function hold(client: Queryable, fields: { runId: string; runbook: string; who: string; takenFrom: DeployLockInfo | null }): Promise<DeployLockInfo> {
    const { rows } = await client.query<LockRow>(
      `UPDATE deploy_locks SET run_id = $2, runbook = $3, held_by = $4, since = now(), taken_from_run = $5, taken_from_by = $6
        WHERE stack = $1 RETURNING *, true AS holder_active`,
      [stack, fields.runId, fields.runbook, fields.who, fields.takenFrom?.runId ?? null, fields.takenFrom?.heldBy ?? null],
    );
    return heldLock(rows[0])!;
  }

  async function free(client: Queryable): Promise<void> {
    await client.query('UPDATE deploy_locks SET run_id = NULL, runbook = NULL, held_by = NULL, since = NULL, taken_from_run = NULL, taken_from_by = NULL WHERE stack = $1', [stack]);
  }

  async function newest(client: Queryable, service: string, where: string, parameters: unknown[] = []): Promise<DeploymentRecordInfo | null> {
    const { rows } = await client.query<RecordRow>(
      `SELECT ${RECORD_COLUMNS} FROM deployment_records WHERE stack = $1 AND service = $2 AND ${where} ORDER BY id DESC LIMIT 1`,
      [stack, service, ...parameters],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  const currentOf = (client: Queryable, service: string) => newest(client, service, "outcome = 'live'");

  /** The newest live record before the current one with another version: where a rollback goes back to. */
  async function previousOf(client: Queryable, service: string): Promise<DeploymentRecordInfo | null> {
    const current = await currentOf(client, service);
    if (!current) return null;
    return newest(client, service, "outcome = 'live' AND id < $3 AND version <> $4", [current.id, current.version]);
  }

  /**
   * What ran before, as people read it: the newest release before the current one that went live,
   * a rolled-back one too. After a rollback that is the release it took back, though the next
   * rollback (previousOf) goes further back than that one.
   */
  async function ranBeforeOf(client: Queryable, service: string, current: DeploymentRecordInfo): Promise<DeploymentRecordInfo | null> {
    return newest(client, service, "outcome IN ('live', 'rolled-back') AND id < $3 AND version <> $4", [current.id, current.version]);
  }

  /** One service's records change one at a time: what a record replaced is read under this lock. */
  const serviceLock = (client: Queryable, service: string) => client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`deployment_records:${stack}:${service}`]);

  function knownService(service: string): void {
    if (!services.includes(service)) throw new DeployLockError('unknown-service', `There is no service "${service}"; the services are ${services.join(', ')}.`);
  }

  async function recordInitial(service: string, seen: InitialVersion): Promise<DeploymentRecordInfo | null> {
    knownService(service);
    return withTransaction(pool, async (client) => {
      await serviceLock(client, service);
      const { rows: any } = await client.query('SELECT 1 FROM deployment_records WHERE stack = $1 AND service = $2 LIMIT 1', [stack, service]);
      if (any.length > 0) return null;
      const { rows } = await client.query<RecordRow>(
        `INSERT INTO deployment_records (stack, service, version, commit, artifact, kind, requested_by, outcome)
         VALUES ($1, $2, $3, $4, $5, 'initial', $6, 'live') RETURNING ${RECORD_COLUMNS}`,
        [stack, service, seen.version, seen.commit, seen.artifact ? JSON.stringify(seen.artifact) : null, INITIAL_REQUESTER],
      );
      return toRecord(rows[0]!);
    });
  }

  /** A service the bot looks at for the first time gets its initial record; one it cannot look at gets none (yet). */
  async function seeFirstTime(service: string): Promise<void> {
    if (!options.observe) return;
    const seen = await options.observe(service).catch(() => null);
    if (seen) await recordInitial(service, seen);
  }

  return {
    async acquire(runId, runbook, who) {
      return withTransaction(pool, async (client) => {
        await askingRun(client, runId);
        const row = await lockRow(client);
        const held = heldLock(row);
        if (held?.runId === runId) return held;
        if (held) throw new DeployLockError('held', `The deploy lock is taken: ${heldSentence(held)}.`, held);
        const lock = await hold(client, { runId, runbook, who, takenFrom: null });
        await event(client, 'acquire', { runId, runbook, actor: who, previous: row.run_id ? { runId: row.run_id, heldBy: row.held_by ?? 'unknown' } : null });
        return lock;
      });
    },

    async release(runId) {
      return withTransaction(pool, async (client) => {
        const held = heldLock(await lockRow(client));
        if (!held) return false;
        if (held.runId !== runId) throw new DeployLockError('not-holder', `Run ${runId} does not hold the deploy lock: ${heldSentence(held)}.`, held);
        await free(client);
        await event(client, 'release', { runId, runbook: held.runbook, actor: held.heldBy });
        return true;
      });
    },

    async takeOver(runId, who) {
      return withTransaction(pool, async (client) => {
        const run = await askingRun(client, runId);
        const held = heldLock(await lockRow(client));
        if (held?.runId === runId) return { lock: held, took: null };
        const lock = await hold(client, { runId, runbook: run.runbook, who, takenFrom: held });
        await event(client, held ? 'take-over' : 'acquire', { runId, runbook: run.runbook, actor: who, previous: held });
        return { lock, took: held };
      });
    },

    async takenOverBy(runId) {
      const { rows } = await pool.query<{ run_id: string; runbook: string; actor: string }>(
        "SELECT run_id, runbook, actor FROM deploy_lock_events WHERE stack = $1 AND action = 'take-over' AND previous_run = $2 ORDER BY id DESC LIMIT 1",
        [stack, runId],
      );
      return rows[0] ? { runId: rows[0].run_id, runbook: rows[0].runbook, heldBy: rows[0].actor } : null;
    },

    async forceUnlock(who, reason) {
      const why = reason.trim();
      if (why.length < MIN_UNLOCK_REASON_LENGTH) {
        throw new DeployLockError('bad-reason', `Say why the lock is forced open, in at least ${MIN_UNLOCK_REASON_LENGTH} characters: it goes on record.`);
      }
      return withTransaction(pool, async (client) => {
        const held = heldLock(await lockRow(client));
        if (!held) throw new DeployLockError('not-locked', 'Nothing holds the deploy lock: there is nothing to unlock.');
        await free(client);
        await event(client, 'force-unlock', { runId: held.runId, runbook: held.runbook, actor: who, reason: why, previous: held });
        return held;
      });
    },

    async forcedOpen() {
      // The lock's holder now is no forced-open run: it holds the lock again.
      const { rows } = await pool.query<{ run_id: string; runbook: string; previous_holder: string; actor: string; reason: string; at: Date }>(
        `SELECT DISTINCT ON (e.run_id) e.run_id, e.runbook, e.previous_holder, e.actor, e.reason, e.at
           FROM deploy_lock_events e JOIN runbook_runs r ON r.id = e.run_id
          WHERE e.stack = $1 AND e.action = 'force-unlock' AND NOT (r.state = ANY($2::text[]))
            AND e.run_id IS DISTINCT FROM (SELECT run_id FROM deploy_locks WHERE stack = $1)
          ORDER BY e.run_id, e.id DESC`,
        [stack, FINAL_RUN_STATES],
      );
      return rows
        .map((row) => ({ runId: row.run_id, runbook: row.runbook, heldBy: row.previous_holder, unlockedBy: row.actor, reason: row.reason, at: row.at.toISOString() }))
        .sort((a, b) => b.at.localeCompare(a.at));
    },

    async lock() {
      const { rows } = await pool.query<LockRow>(
        `SELECT l.*, (r.id IS NOT NULL AND NOT (r.state = ANY($2::text[]))) AS holder_active
           FROM deploy_locks l LEFT JOIN runbook_runs r ON r.id = l.run_id WHERE l.stack = $1`,
        [stack, FINAL_RUN_STATES],
      );
      return heldLock(rows[0]);
    },

    async record(entry: NewDeploymentRecord) {
      knownService(entry.service);
      return withTransaction(pool, async (client) => {
        await serviceLock(client, entry.service);
        const replaced = await currentOf(client, entry.service);
        // A rollback that went live takes back what it replaced.
        if (entry.kind === 'rollback' && entry.outcome === 'live' && replaced) {
          await client.query("UPDATE deployment_records SET outcome = 'rolled-back', outcome_at = now() WHERE id = $1", [replaced.id]);
        }
        const { rows } = await client.query<RecordRow>(
          `INSERT INTO deployment_records (stack, service, version, ref, commit, artifact, kind, run_id, requested_by, outcome, replaced_record, replaced_version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING ${RECORD_COLUMNS}`,
          [
            stack,
            entry.service,
            entry.version,
            entry.ref,
            entry.commit,
            JSON.stringify(entry.artifact),
            entry.kind,
            entry.runId,
            entry.requestedBy,
            entry.outcome,
            replaced?.id ?? null,
            replaced?.version ?? null,
          ],
        );
        return toRecord(rows[0]!);
      });
    },

    async setOutcome(id, outcome) {
      const { rows } = await pool.query<RecordRow>(
        `UPDATE deployment_records SET outcome = $3, outcome_at = now() WHERE stack = $1 AND id = $2 RETURNING ${RECORD_COLUMNS}`,
        [stack, id, outcome],
      );
      if (!rows[0]) throw new DeployLockError('unknown-record', `There is no deployment record ${id} for this stack.`);
      return toRecord(rows[0]);
    },

    current: (service) => currentOf(pool, service),
    previous: (service) => previousOf(pool, service),
    recordInitial,

    async releases(): Promise<ServiceReleaseInfo[]> {
      const listed: ServiceReleaseInfo[] = [];
      for (const service of services) {
        let current = await currentOf(pool, service);
        if (!current) {
          await seeFirstTime(service);
          current = await currentOf(pool, service);
        }
        listed.push({ service, current, previous: current ? await ranBeforeOf(pool, service, current) : null });
      }
      return listed;
    },

    async history(service, limit) {
      knownService(service);
      const { rows } = await pool.query<RecordRow>(
        `SELECT ${RECORD_COLUMNS} FROM deployment_records WHERE stack = $1 AND service = $2 ORDER BY id DESC LIMIT $3`,
        [stack, service, limit],
      );
      return rows.map(toRecord);
    },
  };
}
