/**
 * Shared by the approval tests and the voter process they spawn: a fresh migrated database on the
 * real PostgreSQL, and a typical escalated request.
 */
import type pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/testing/postgres.js';
import { createPool } from '../../../services/kit/postgres.js';
import type { ApprovalInput } from '../model.js';
import { migrateApprovalStore } from '../store.js';

export interface ApprovalTestDatabase {
  db: TestDatabase;
  /** A new pool on the database; closed by `close`. */
  pool(max?: number): pg.Pool;
  close(): Promise<void>;
}

export async function approvalTestDatabase(): Promise<ApprovalTestDatabase> {
  const db = await createTestDatabase('acgs_approvals');
  const pools: pg.Pool[] = [];
  const pool = (max = 10) => {
    const created = createPool({ databaseUrl: db.url, max, applicationName: 'acgs-approvals-test' });
    pools.push(created);
    return created;
  };
  await migrateApprovalStore(pool(1));
  return {
    db,
    pool,
    async close() {
      await Promise.all(pools.map((each) => each.end().catch(() => undefined)));
      await db.drop();
    },
  };
}

export const REQUESTER = 'U0ONCALL';

/** `scale policy-engine 3` waiting for `approvalsRequired` approvers. */
export function scaleRequest(overrides: Partial<ApprovalInput> = {}): ApprovalInput {
  return {
    action: {
      command: 'scale',
      args: { service: 'policy-engine', replicas: 3 },
      line: 'scale policy-engine 3',
      target: 'policy-engine',
      stateFingerprint: 'replicas=1;image=acgs/policy-engine:0.1.0',
    },
    requester: REQUESTER,
    level: 2,
    approvalsRequired: 1,
    approverRoles: ['approvers', 'admins'],
    ...overrides,
  };
}

/** Slack-like user IDs: approver(0) = U0APPROVER00. */
export const approver = (index: number) => `U0APPROVER${String(index).padStart(2, '0')}`;
