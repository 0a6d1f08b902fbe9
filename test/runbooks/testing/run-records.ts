/**
 * What the run command suites read from the engine's tables: a run once it reaches a state, and
 * the runs and attempts as they stand, so a refused line can show it recorded nothing.
 */
import type pg from 'pg';
import type { RunRecord, RunState, RunStore } from '../../../runbooks/engine/run-store.js';

export async function waitForRunState(store: Pick<RunStore, 'get'>, id: string, states: readonly RunState[], timeoutMs = 10_000): Promise<RunRecord> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = await store.get(id);
    if (found && states.includes(found.state)) return found;
    if (Date.now() > until) throw new Error(`run ${id} is ${found?.state ?? 'missing'}, not ${states.join(' or ')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** How many runs (and the latest change to one) and attempts there are now. */
export async function runTables(pool: pg.Pool): Promise<{ runs: string; attempts: string }> {
  const result = await pool.query<{ runs: string; attempts: string }>(
    `SELECT (SELECT count(*) || ':' || coalesce(max(updated_at)::text, '') FROM runbook_runs) AS runs,
            (SELECT count(*)::text FROM runbook_step_attempts) AS attempts`,
  );
  return result.rows[0]!;
}
