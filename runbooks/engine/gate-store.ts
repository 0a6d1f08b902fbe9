/**
 * The approval requests gate steps opened, and their passes (migrations/*_runbook-gates.sql).
 * The request itself lives with the bot's approvals; this keeps only which one a gate waits on.
 */
import type pg from 'pg';

export interface GateRecord {
  runId: string;
  stepId: string;
  requestId: string;
  openedAt: Date;
  passedAt: Date | null;
}

export interface GateStore {
  /** The request the gate waits on now (the latest it opened), if any. */
  latest(runId: string, stepId: string): Promise<GateRecord | undefined>;
  opened(runId: string, stepId: string, requestId: string): Promise<void>;
  /** Records the pass of the gate's latest request; false when that is not `requestId` or it passed already. */
  pass(runId: string, stepId: string, requestId?: string): Promise<GateRecord | undefined>;
}

interface GateRow {
  run_id: string;
  step_id: string;
  request_id: string;
  opened_at: Date;
  passed_at: Date | null;
}

const record = (row: GateRow): GateRecord => ({ runId: row.run_id, stepId: row.step_id, requestId: row.request_id, openedAt: row.opened_at, passedAt: row.passed_at });

export function createGateStore(pool: pg.Pool): GateStore {
  return {
    async latest(runId, stepId) {
      const result = await pool.query<GateRow>('SELECT * FROM runbook_gates WHERE run_id = $1 AND step_id = $2 ORDER BY opened_at DESC LIMIT 1', [runId, stepId]);
      return result.rows[0] ? record(result.rows[0]) : undefined;
    },
    async opened(runId, stepId, requestId) {
      await pool.query('INSERT INTO runbook_gates (run_id, step_id, request_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [runId, stepId, requestId]);
    },
    async pass(runId, stepId, requestId) {
      const result = await pool.query<GateRow>(
        `UPDATE runbook_gates SET passed_at = clock_timestamp()
          WHERE (run_id, step_id, request_id) = (SELECT run_id, step_id, request_id FROM runbook_gates WHERE run_id = $1 AND step_id = $2 ORDER BY opened_at DESC LIMIT 1)
            AND passed_at IS NULL AND ($3::text IS NULL OR request_id = $3)
          RETURNING *`,
        [runId, stepId, requestId ?? null],
      );
      return result.rows[0] ? record(result.rows[0]) : undefined;
    },
  };
}
