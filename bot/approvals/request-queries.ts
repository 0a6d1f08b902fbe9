/**
 * Every SQL statement on `approval_requests` and `approval_votes`. The conditional UPDATEs carry
 * their transition's rule in the WHERE clause (claim only from approved, finish only from
 * executing...): one statement, so of any number of concurrent callers exactly one matches.
 * transitions.ts explains to the others why nothing happened.
 */
import type pg from 'pg';
import type { ApprovalMessageRef, ApprovalRequest, ApprovalState, ApprovalVote, parseApprovalInput } from './model.js';
import { REQUEST_COLUMNS, toRequest, type RequestRow } from './request-rows.js';
import type { StateChange } from './transitions.js';

type Queryable = pg.Pool | pg.PoolClient;

export async function selectRequest(db: Queryable, id: string): Promise<ApprovalRequest | undefined> {
  const { rows } = await db.query<RequestRow>(`SELECT ${REQUEST_COLUMNS} FROM approval_requests r WHERE r.id = $1`, [id]);
  return rows[0] ? toRequest(rows[0]) : undefined;
}

/**
 * Inside a transaction: waits for the request's row lock, then reads it. Two statements on
 * purpose: a statement that waited for a lock re-reads the locked row but still sees every other
 * table (the votes) as of its own start, before the vote it waited for was committed. The read
 * after the lock is a new statement with a fresh snapshot, so it sees every committed vote.
 */
export async function lockAndSelectRequest(client: pg.PoolClient, id: string): Promise<ApprovalRequest | undefined> {
  const { rowCount } = await client.query('SELECT 1 FROM approval_requests WHERE id = $1 FOR UPDATE', [id]);
  return rowCount ? selectRequest(client, id) : undefined;
}

/**
 * Inside a transaction: how many requests `requester` has waiting, counted under a lock on the
 * requester (held until the transaction ends), so that concurrent requests cannot pass the limit.
 */
export async function lockRequesterAndCountWaiting(client: pg.PoolClient, requester: string, now: Date): Promise<number> {
  await client.query(`SELECT pg_advisory_xact_lock(hashtext('acgs-approvals-requester:' || $1))`, [requester]);
  const { rows } = await client.query<{ waiting: number }>(
    `SELECT count(*)::int AS waiting FROM approval_requests WHERE requester = $1 AND state = 'pending' AND expires_at > $2`,
    [requester, now],
  );
  return rows[0]!.waiting;
}

export interface NewRequest {
  id: string;
  input: ReturnType<typeof parseApprovalInput>;
  createdAt: Date;
  expiresAt: Date;
  state: ApprovalState;
}

/** The new request; undefined when a request with this id exists already (a reserved id asked again). */
export async function insertRequest(client: pg.PoolClient, request: NewRequest): Promise<ApprovalRequest | undefined> {
  const { input } = request;
  const { rows } = await client.query<RequestRow>(
    `WITH r AS (
       INSERT INTO approval_requests (id, command, args, line, target, state_fingerprint, requester, messages, level,
         approvals_required, approver_roles, distinct_approvers, reason, break_glass, created_at, expires_at, state, state_changed_at, plan)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $15, $18)
       ON CONFLICT (id) DO NOTHING
       RETURNING *)
     SELECT r.*, '[]'::json AS votes FROM r`,
    [
      request.id,
      input.action.command,
      JSON.stringify(input.action.args),
      input.action.line,
      input.action.target ?? null,
      input.action.stateFingerprint,
      input.requester,
      JSON.stringify(input.messages),
      input.level,
      input.approvalsRequired,
      input.approverRoles,
      input.distinctApprovers,
      input.reason ?? null,
      input.breakGlass,
      request.createdAt,
      request.expiresAt,
      request.state,
      input.action.plan === undefined ? null : JSON.stringify(input.action.plan),
    ],
  );
  return rows[0] ? toRequest(rows[0]) : undefined;
}

export async function insertVote(client: pg.PoolClient, id: string, vote: ApprovalVote): Promise<void> {
  await client.query(`INSERT INTO approval_votes (request_id, voter, roles, vote, voted_at) VALUES ($1, $2, $3, $4, $5)`, [
    id,
    vote.voter,
    vote.roles,
    vote.vote,
    vote.at,
  ]);
}

/** Under the request's row lock (lockAndSelectRequest): writes what transitions.ts decided. */
export async function writeStateChange(client: pg.PoolClient, id: string, change: StateChange): Promise<void> {
  await client.query(`UPDATE approval_requests SET state = $2, state_changed_at = $3, ended_by = coalesce($4, ended_by) WHERE id = $1`, [
    id,
    change.state,
    change.at,
    change.endedBy ?? null,
  ]);
}

/** A conditional UPDATE on one request; returns the updated request, or undefined when the condition did not hold. */
async function updateWhere(db: Queryable, set: string, where: string, values: unknown[]): Promise<ApprovalRequest | undefined> {
  const { rows } = await db.query<RequestRow>(
    `WITH r AS (UPDATE approval_requests SET ${set} WHERE id = $1 AND ${where} RETURNING *) SELECT ${REQUEST_COLUMNS} FROM r`,
    values,
  );
  return rows[0] ? toRequest(rows[0]) : undefined;
}

export interface Claim {
  /** The stack's fingerprint now; null claims without comparing. */
  fingerprint: string | null;
  now: Date;
  /** Recorded as ended_reason when the fingerprint differs. */
  changedReason: string;
  claimant: string;
}

/** approved -> executing, or -> superseded when the fingerprint differs; undefined when it was not approved. */
export function claimIfApproved(db: Queryable, id: string, claim: Claim): Promise<ApprovalRequest | undefined> {
  return updateWhere(
    db,
    `state = CASE WHEN $2::text IS NULL OR state_fingerprint = $2::text THEN 'executing' ELSE 'superseded' END,
     ended_reason = CASE WHEN $2::text IS NULL OR state_fingerprint = $2::text THEN ended_reason ELSE $4 END,
     claimed_by = $5,
     state_changed_at = $3`,
    `state = 'approved'`,
    [id, claim.fingerprint, claim.now, claim.changedReason, claim.claimant],
  );
}

/** executing -> `state` with the run's result (JSON text, or null); undefined when it was not executing. */
export function finishIfExecuting(db: Queryable, id: string, state: ApprovalState, result: string | null, now: Date): Promise<ApprovalRequest | undefined> {
  return updateWhere(db, `state = $2, result = $3::jsonb, state_changed_at = $4`, `state = 'executing'`, [id, state, result, now]);
}

/** executing -> superseded: the claimed command found its plan changed and ran nothing; undefined when it was not executing. */
export function supersedeClaimed(db: Queryable, id: string, reason: string, now: Date): Promise<ApprovalRequest | undefined> {
  return updateWhere(db, `state = 'superseded', ended_reason = $2, state_changed_at = $3`, `state = 'executing'`, [id, reason, now]);
}

/** pending or approved -> superseded; undefined when it was in neither state. */
export function supersedeIfOpen(db: Queryable, id: string, reason: string, now: Date): Promise<ApprovalRequest | undefined> {
  return updateWhere(db, `state = 'superseded', ended_reason = $2, state_changed_at = $3`, `state IN ('pending', 'approved')`, [id, reason, now]);
}

/** pending or approved -> cancelled by `by`, saying why (what it asked for is gone); undefined when it had ended or started. */
export function cancelIfOpen(db: Queryable, id: string, by: string, reason: string, now: Date): Promise<ApprovalRequest | undefined> {
  return updateWhere(db, `state = 'cancelled', ended_by = $2, ended_reason = $3, state_changed_at = $4`, `state IN ('pending', 'approved')`, [id, by, reason, now]);
}

/** Appends the message reference; undefined when it was already recorded. */
export function attachIfNew(db: Queryable, id: string, ref: ApprovalMessageRef): Promise<ApprovalRequest | undefined> {
  const entry = JSON.stringify([ref]);
  return updateWhere(db, `messages = messages || $2::jsonb`, `NOT messages @> $2::jsonb`, [id, entry]);
}

/** pending -> expired for every request due at `now`; returns those THIS statement expired. */
export async function expireAllDue(db: Queryable, now: Date): Promise<ApprovalRequest[]> {
  const { rows } = await db.query<RequestRow>(
    `WITH r AS (
       UPDATE approval_requests SET state = 'expired', state_changed_at = $1
       WHERE state = 'pending' AND expires_at <= $1 RETURNING *)
     SELECT ${REQUEST_COLUMNS} FROM r ORDER BY r.expires_at`,
    [now],
  );
  return rows.map(toRequest);
}

/** Soonest expiry first. */
export async function selectPending(db: Queryable): Promise<ApprovalRequest[]> {
  const { rows } = await db.query<RequestRow>(`SELECT ${REQUEST_COLUMNS} FROM approval_requests r WHERE r.state = 'pending' ORDER BY r.expires_at, r.id`);
  return rows.map(toRequest);
}

/** Approved or executing, oldest state change first. */
export async function selectInFlight(db: Queryable): Promise<ApprovalRequest[]> {
  const { rows } = await db.query<RequestRow>(
    `SELECT ${REQUEST_COLUMNS} FROM approval_requests r WHERE r.state IN ('approved', 'executing') ORDER BY r.state_changed_at, r.id`,
  );
  return rows.map(toRequest);
}

export interface Interruption {
  now: Date;
  /** This replica's instance name: runs claimed by another boot of it are orphaned. */
  instance: string;
  /** This boot's claimant (`<instance>/<boot id>`): its own runs are not. */
  claimant: string;
  orphanAfterMs: number;
  reason: string;
}

/**
 * executing -> outcome_unknown for runs claimed by an earlier boot of this instance, claimed before
 * claims were named, or running longer than `orphanAfterMs`; returns those THIS statement marked.
 */
export async function markOrphanedRunsInterrupted(db: Queryable, interruption: Interruption): Promise<ApprovalRequest[]> {
  const { rows } = await db.query<RequestRow>(
    `WITH r AS (
       UPDATE approval_requests SET state = 'outcome_unknown', state_changed_at = $1, ended_reason = $5
       WHERE state = 'executing' AND (
         claimed_by IS NULL
         OR (left(claimed_by, length($2) + 1) = $2 || '/' AND claimed_by <> $3)
         OR state_changed_at <= $1::timestamptz - make_interval(secs => $4::double precision / 1000))
       RETURNING *)
     SELECT ${REQUEST_COLUMNS} FROM r ORDER BY r.state_changed_at, r.id`,
    [interruption.now, interruption.instance, interruption.claimant, interruption.orphanAfterMs, interruption.reason],
  );
  return rows.map(toRequest);
}
