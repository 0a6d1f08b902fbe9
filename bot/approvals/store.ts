/**
 * The approval store: PostgreSQL is the one source of truth for every approval request, shared by
 * all bot replicas. Each operation is one transaction that either locks the request's row
 * (SELECT ... FOR UPDATE) or is a single conditional UPDATE, so concurrent clicks, Slack retries
 * and replicas serialize on the row, and exactly one caller wins each transition. Every operation
 * says whether THIS call changed anything, the request as it now stands, and a sentence for people.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { isDatabaseUnavailable, migrate, withTransaction } from '../../services/kit/postgres.js';
import {
  DEFAULT_APPROVAL_TTL_MS,
  MAX_APPROVAL_TTL_MS,
  isApprovalId,
  parseApprovalInput,
  parseMessageRef,
  parseVoterInput,
  requireTime,
  ApprovalInputError,
  type ApprovalInput,
  type ApprovalMessageRef,
  type ApprovalRequest,
  type ApprovalState,
  type ApprovalVote,
  type VoteChoice,
} from './model.js';
import {
  OWN_REQUEST_DENY_TEXT,
  OWN_REQUEST_TEXT,
  alreadyCountedText,
  clockTime,
  closedSentence,
  countedSentence,
  expiredText,
  notAnApproverText,
  notFoundText,
  people,
  plainText,
  statusSentence,
  type Sentence,
} from './messages.js';
import type { ApprovalSignal, ApprovalSignals } from './signals.js';

export const APPROVALS_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));
export const APPROVALS_MIGRATIONS_TABLE = 'bot_approvals_migrations';

/** Creates or updates the store's tables; safe when several replicas start together. */
export function migrateApprovalStore(pool: pg.Pool, log?: (message: string) => void): Promise<string[]> {
  return migrate(pool, { directory: APPROVALS_MIGRATIONS_DIR, table: APPROVALS_MIGRATIONS_TABLE, ...(log ? { log } : {}) });
}

/**
 * The store cannot answer (PostgreSQL down, tables missing). Escalated actions must be refused
 * with this message: an approval that cannot be recorded cannot be proven.
 */
export class ApprovalStoreUnavailableError extends Error {
  override readonly name = 'ApprovalStoreUnavailableError';
}

export interface Outcome<Code extends string> {
  /** What happened, for code to branch on. */
  code: Code;
  /** Whether this call changed the request (a vote recorded, a state moved). */
  changed: boolean;
  /** The request as it stands after this call; undefined when there is none by that id. */
  request: ApprovalRequest | undefined;
  /** For people: plain text and `{ user }` words (see messages.ts). */
  sentence: Sentence;
  /** The sentence as plain text with people as `@<id>`. */
  message: string;
}

export type CreateCode = 'created';
export type VoteCode =
  /** Counted; more approvals are needed. */
  | 'counted'
  /** Counted, and it was the approval that completed the request: claim the execution now. */
  | 'approved'
  /** Counted, and one deny ends the request. */
  | 'denied'
  | 'already-counted'
  | 'own-request'
  | 'not-an-approver'
  /** Too late: the request has expired (this call may be the one that marked it so). */
  | 'expired'
  /** The request was already decided, cancelled or superseded. */
  | 'closed'
  | 'not-found';
export type CancelCode = 'cancelled' | 'not-requester' | 'expired' | 'closed' | 'not-found';
export type ClaimCode =
  /** This caller, and no other anywhere, runs the action now. */
  | 'claimed'
  /** The stack's state changed since the request: this call marked it superseded, nothing runs. */
  | 'superseded'
  | 'not-approved'
  | 'already-claimed'
  | 'closed'
  | 'not-found';
export type FinishCode = 'finished' | 'not-executing' | 'not-found';
export type SupersedeCode = 'superseded' | 'closed' | 'not-found';
export type AttachCode = 'attached' | 'already-attached' | 'not-found';

export interface ClaimOptions {
  /**
   * The fingerprint of the stack state now. When it differs from the one the request was made
   * with, the request becomes `superseded` instead of `executing`, in the same statement.
   */
  stateFingerprint?: string;
  now?: Date;
}

export interface ApprovalStore {
  create(input: ApprovalInput, now?: Date): Promise<Outcome<CreateCode>>;
  vote(id: string, voter: string, voterRoles: readonly string[], vote: VoteChoice, now?: Date): Promise<Outcome<VoteCode>>;
  /** By the requester only, while it is pending or approved but not yet running. */
  cancel(id: string, by: string, now?: Date): Promise<Outcome<CancelCode>>;
  /** approved -> executing for exactly one caller across all processes. */
  claimExecution(id: string, options?: ClaimOptions): Promise<Outcome<ClaimCode>>;
  /** executing -> executed (ok) or failed, with what the execution reported (plain JSON data). */
  finish(id: string, ok: boolean, result?: unknown, now?: Date): Promise<Outcome<FinishCode>>;
  /** pending or approved -> superseded: the policy's answer changed before execution; ask again. */
  supersede(id: string, reason: string, now?: Date): Promise<Outcome<SupersedeCode>>;
  /** Records where the Slack layer posted the request, so that every copy can be updated. */
  attachMessage(id: string, ref: ApprovalMessageRef): Promise<Outcome<AttachCode>>;
  /** Marks every pending request whose expiry is at or before `now` expired; returns those THIS call expired. */
  expireDue(now?: Date): Promise<ApprovalRequest[]>;
  /** Every pending request, soonest expiry first: what a restarting replica must time. */
  pending(): Promise<ApprovalRequest[]>;
  /**
   * Approved but not yet claimed, or claimed and never finished: what a crash can leave behind.
   * Never re-run: a restarting bot ends the approved ones as superseded and reports the rest (oldest first).
   */
  inFlight(): Promise<ApprovalRequest[]>;
  /**
   * executing -> outcome_unknown for runs whose process is gone: claimed by an earlier boot of this
   * instance (it restarted), claimed before claims were named, or running longer than `orphanAfterMs`
   * whoever claimed them. One conditional UPDATE: of replicas starting together, each such request
   * is returned to exactly one, which then says so in Slack. Never re-run.
   */
  markInterrupted(options?: { now?: Date; orphanAfterMs?: number }): Promise<ApprovalRequest[]>;
  /** `<instance>/<boot id>`: what this store writes into the runs it claims. */
  readonly claimant: string;
  get(id: string): Promise<ApprovalRequest | undefined>;
}

/** A requester may have this many requests waiting at once; more are refused until some are decided. */
export const MAX_PENDING_PER_REQUESTER = 20;
/** A run claimed by another instance that still shows `executing` after this long is orphaned. */
export const ORPHANED_RUN_AFTER_MS = 60 * 60_000;

export interface ApprovalStoreOptions {
  pool: pg.Pool;
  /** Where created and settled requests are announced (the expiry scheduler listens). */
  signals?: ApprovalSignals;
  /** How long a request waits for votes unless it says otherwise; default 15 minutes. */
  defaultTtlMs?: number;
  /** This replica's name (ACGS_BOT_INSTANCE, default `bot`): runs it claims are marked with it. */
  instance?: string;
  /** Waiting requests one requester may have at once; default MAX_PENDING_PER_REQUESTER. */
  maxPendingPerRequester?: number;
}

// Votes come along as one JSON array, in the order they were counted, so that every read is one
// round trip. In a WITH ... UPDATE, this subquery sees the votes as they were before the
// statement, which is all of them: no UPDATE here touches votes.
const REQUEST_COLUMNS = `r.*, coalesce((
    SELECT json_agg(json_build_object('voter', v.voter, 'roles', v.roles, 'vote', v.vote, 'at', v.voted_at) ORDER BY v.sequence)
    FROM approval_votes v WHERE v.request_id = r.id
  ), '[]'::json) AS votes`;

interface RequestRow {
  id: string;
  command: string;
  args: Record<string, unknown>;
  line: string;
  target: string | null;
  state_fingerprint: string;
  requester: string;
  messages: ApprovalMessageRef[];
  level: number;
  approvals_required: number;
  approver_roles: string[];
  distinct_approvers: boolean;
  reason: string | null;
  break_glass: boolean;
  created_at: Date;
  expires_at: Date;
  state: ApprovalState;
  state_changed_at: Date;
  ended_by: string | null;
  ended_reason: string | null;
  result: unknown;
  votes: Array<{ voter: string; roles: string[]; vote: VoteChoice; at: string }>;
}

function toRequest(row: RequestRow): ApprovalRequest {
  const votes: ApprovalVote[] = row.votes.map((vote) => ({ voter: vote.voter, roles: vote.roles, vote: vote.vote, at: new Date(vote.at) }));
  return {
    id: row.id,
    action: {
      command: row.command,
      args: row.args,
      line: row.line,
      ...(row.target !== null ? { target: row.target } : {}),
      stateFingerprint: row.state_fingerprint,
    },
    requester: row.requester,
    messages: row.messages,
    level: row.level as ApprovalRequest['level'],
    approvalsRequired: row.approvals_required,
    approverRoles: row.approver_roles,
    distinctApprovers: row.distinct_approvers,
    approvedBy: votes.filter((vote) => vote.vote === 'approve').map((vote) => vote.voter),
    ...(row.reason !== null ? { reason: row.reason } : {}),
    breakGlass: row.break_glass,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    state: row.state,
    stateChangedAt: row.state_changed_at,
    ...(row.ended_by !== null ? { endedBy: row.ended_by } : {}),
    ...(row.ended_reason !== null ? { endedReason: row.ended_reason } : {}),
    votes,
    ...(row.result !== null ? { result: row.result } : {}),
  };
}

function outcome<Code extends string>(code: Code, changed: boolean, request: ApprovalRequest | undefined, sentence: Sentence): Outcome<Code> {
  return { code, changed, request, sentence, message: plainText(sentence) };
}

const notFound = <Code extends string>(code: Code, id: string): Outcome<Code> => outcome(code, false, undefined, [notFoundText(id)]);

/** A request whose expiry has come is expired from that very moment: at `expiresAt` it is too late. */
const isDue = (request: ApprovalRequest, now: Date) => request.state === 'pending' && now.getTime() >= request.expiresAt.getTime();

function unavailable(error: unknown): ApprovalStoreUnavailableError | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  if (code === '42P01') {
    return new ApprovalStoreUnavailableError(
      `The approval store's tables are missing (${detail}); the bot migrates them at start-up (migrateApprovalStore). Escalated actions are refused until then.`,
      { cause: error },
    );
  }
  if (isDatabaseUnavailable(error)) {
    return new ApprovalStoreUnavailableError(
      `The approval store (PostgreSQL) is not available (${detail}); escalated actions are refused until it is back.`,
      { cause: error },
    );
  }
  return undefined;
}

export function createApprovalStore(options: ApprovalStoreOptions): ApprovalStore {
  const { pool, signals } = options;
  const defaultTtlMs = options.defaultTtlMs ?? DEFAULT_APPROVAL_TTL_MS;
  const instance = options.instance ?? 'bot';
  const claimant = `${instance}/${randomUUID()}`;
  const maxPending = options.maxPendingPerRequester ?? MAX_PENDING_PER_REQUESTER;
  if (!Number.isInteger(defaultTtlMs) || defaultTtlMs <= 0 || defaultTtlMs > MAX_APPROVAL_TTL_MS) {
    throw new ApprovalInputError(`defaultTtlMs must be whole milliseconds between 1 and ${MAX_APPROVAL_TTL_MS} (a day); got ${defaultTtlMs}`);
  }

  async function guarded<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw unavailable(error) ?? error;
    }
  }

  /** After the commit: a hint for other replicas' timers, never a reason to fail the operation. */
  async function announce(signal: ApprovalSignal): Promise<void> {
    if (signals) await signals.publish(signal);
  }

  /** A change that ended the wait for votes lets every replica drop its expiry timer. */
  async function announceSettled(result: Outcome<string>): Promise<void> {
    if (result.changed && result.request && result.request.state !== 'pending') await announce({ type: 'settled', id: result.request.id });
  }

  async function selectOne(client: pg.Pool | pg.PoolClient, id: string): Promise<ApprovalRequest | undefined> {
    const { rows } = await client.query<RequestRow>(`SELECT ${REQUEST_COLUMNS} FROM approval_requests r WHERE r.id = $1`, [id]);
    return rows[0] ? toRequest(rows[0]) : undefined;
  }

  /**
   * Inside a transaction: waits for the request's row lock, then reads it. Two statements on
   * purpose: a statement that waited for a lock re-reads the locked row but still sees every other
   * table (the votes) as of its own start, before the vote it waited for was committed. The read
   * after the lock is a new statement with a fresh snapshot, so it sees every committed vote.
   */
  async function lockAndSelect(client: pg.PoolClient, id: string): Promise<ApprovalRequest | undefined> {
    const { rowCount } = await client.query('SELECT 1 FROM approval_requests WHERE id = $1 FOR UPDATE', [id]);
    return rowCount ? selectOne(client, id) : undefined;
  }

  /** A conditional UPDATE on one request; returns the updated request, or undefined when the condition did not hold. */
  async function updateWhere(client: pg.Pool | pg.PoolClient, set: string, where: string, values: unknown[]): Promise<ApprovalRequest | undefined> {
    const { rows } = await client.query<RequestRow>(
      `WITH r AS (UPDATE approval_requests SET ${set} WHERE id = $1 AND ${where} RETURNING *) SELECT ${REQUEST_COLUMNS} FROM r`,
      values,
    );
    return rows[0] ? toRequest(rows[0]) : undefined;
  }

  /** Inside a locked transaction: a pending request past its expiry is marked expired now. */
  async function expireLocked(client: pg.PoolClient, request: ApprovalRequest, now: Date): Promise<ApprovalRequest> {
    await client.query(`UPDATE approval_requests SET state = 'expired', state_changed_at = $2 WHERE id = $1`, [request.id, now]);
    return { ...request, state: 'expired', stateChangedAt: now };
  }

  return {
    claimant,

    async create(input, now = new Date()) {
      requireTime(now, 'now');
      const parsed = parseApprovalInput(input);
      const id = randomUUID();
      const expiresAt = new Date(now.getTime() + (parsed.expiresInMs ?? defaultTtlMs));
      // Break-glass runs at once: it is born approved, and claimExecution still guards it.
      const state: ApprovalState = parsed.breakGlass ? 'approved' : 'pending';
      const request = await guarded(() => withTransaction(pool, async (client) => {
        // Bounded per requester (each waiting request is a row, a timer on every replica and a
        // message): counted under a lock on the requester, so concurrent requests cannot pass it.
        if (state === 'pending') {
          await client.query(`SELECT pg_advisory_xact_lock(hashtext('acgs-approvals-requester:' || $1))`, [parsed.requester]);
          const { rows: counted } = await client.query<{ waiting: number }>(
            `SELECT count(*)::int AS waiting FROM approval_requests WHERE requester = $1 AND state = 'pending' AND expires_at > $2`,
            [parsed.requester, now],
          );
          if (counted[0]!.waiting >= maxPending) {
            throw new ApprovalInputError(
              `${parsed.requester} already has ${counted[0]!.waiting} requests waiting for approval, the most one person may have; cancel one or wait until they are decided or expire`,
            );
          }
        }
        const { rows } = await client.query<RequestRow>(
          `WITH r AS (
             INSERT INTO approval_requests (id, command, args, line, target, state_fingerprint, requester, messages, level,
               approvals_required, approver_roles, distinct_approvers, reason, break_glass, created_at, expires_at, state, state_changed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $15)
             RETURNING *)
           SELECT r.*, '[]'::json AS votes FROM r`,
          [
            id,
            parsed.action.command,
            JSON.stringify(parsed.action.args),
            parsed.action.line,
            parsed.action.target ?? null,
            parsed.action.stateFingerprint,
            parsed.requester,
            JSON.stringify(parsed.messages),
            parsed.level,
            parsed.approvalsRequired,
            parsed.approverRoles,
            parsed.distinctApprovers,
            parsed.reason ?? null,
            parsed.breakGlass,
            now,
            expiresAt,
            state,
          ],
        );
        return toRequest(rows[0]!);
      }));
      if (request.state === 'pending') await announce({ type: 'created', id: request.id, expiresAt: request.expiresAt.toISOString() });
      return outcome('created', true, request, statusSentence(request, now));
    },

    async vote(id, voter, voterRoles, vote, now = new Date()) {
      requireTime(now, 'now');
      const input = parseVoterInput({ voter, voterRoles, vote });
      if (!isApprovalId(id)) return notFound('not-found', id);
      const result = await guarded(() =>
        withTransaction(pool, async (client): Promise<Outcome<VoteCode>> => {
          const request = await lockAndSelect(client, id);
          if (!request) return notFound('not-found', id);
          if (isDue(request, now)) {
            const expired = await expireLocked(client, request, now);
            return outcome('expired', true, expired, [expiredText(expired, now)]);
          }
          if (request.state === 'expired') return outcome('expired', false, request, [expiredText(request, now)]);
          const earlier = request.votes.find((existing) => existing.voter === input.voter);
          if (earlier) return outcome('already-counted', false, request, [alreadyCountedText(earlier, now)]);
          if (request.state !== 'pending') return outcome('closed', false, request, closedSentence(request, now));
          if (input.voter === request.requester) {
            return outcome('own-request', false, request, [input.vote === 'approve' ? OWN_REQUEST_TEXT : OWN_REQUEST_DENY_TEXT]);
          }
          if (!input.voterRoles.some((role) => request.approverRoles.includes(role))) {
            return outcome('not-an-approver', false, request, [notAnApproverText(request)]);
          }

          await client.query(`INSERT INTO approval_votes (request_id, voter, roles, vote, voted_at) VALUES ($1, $2, $3, $4, $5)`, [
            id,
            input.voter,
            input.voterRoles,
            input.vote,
            now,
          ]);
          const votes = [...request.votes, { voter: input.voter, roles: [...input.voterRoles], vote: input.vote, at: now }];
          const approvedBy = input.vote === 'approve' ? [...request.approvedBy, input.voter] : request.approvedBy;
          const counted: ApprovalRequest = { ...request, votes, approvedBy };
          if (input.vote === 'deny') {
            await client.query(`UPDATE approval_requests SET state = 'denied', state_changed_at = $2, ended_by = $3 WHERE id = $1`, [id, now, input.voter]);
            const denied: ApprovalRequest = { ...counted, state: 'denied', stateChangedAt: now, endedBy: input.voter };
            return outcome('denied', true, denied, statusSentence(denied, now));
          }
          if (approvedBy.length >= request.approvalsRequired) {
            await client.query(`UPDATE approval_requests SET state = 'approved', state_changed_at = $2 WHERE id = $1`, [id, now]);
            const approved: ApprovalRequest = { ...counted, state: 'approved', stateChangedAt: now };
            return outcome('approved', true, approved, [`Approved: ${approvedBy.length} of ${request.approvalsRequired} approved by `, ...people(approvedBy)]);
          }
          return outcome('counted', true, counted, countedSentence(counted));
        }),
      );
      await announceSettled(result);
      return result;
    },

    async cancel(id, by, now = new Date()) {
      requireTime(now, 'now');
      if (!isApprovalId(id)) return notFound('not-found', id);
      const result = await guarded(() =>
        withTransaction(pool, async (client): Promise<Outcome<CancelCode>> => {
          const request = await lockAndSelect(client, id);
          if (!request) return notFound('not-found', id);
          if (isDue(request, now)) {
            const expired = await expireLocked(client, request, now);
            return outcome('expired', true, expired, [expiredText(expired, now)]);
          }
          if (by !== request.requester) {
            return outcome('not-requester', false, request, ['Only the requester, ', { user: request.requester }, ', can cancel this request']);
          }
          if (request.state === 'executing' || request.state === 'executed' || request.state === 'failed') {
            return outcome('closed', false, request, [`Too late to cancel: it started at ${clockTime(request.stateChangedAt, now)}`]);
          }
          if (request.state !== 'pending' && request.state !== 'approved') {
            return outcome('closed', false, request, closedSentence(request, now));
          }
          await client.query(`UPDATE approval_requests SET state = 'cancelled', state_changed_at = $2, ended_by = $3 WHERE id = $1`, [id, now, by]);
          const cancelled: ApprovalRequest = { ...request, state: 'cancelled', stateChangedAt: now, endedBy: by };
          return outcome('cancelled', true, cancelled, statusSentence(cancelled, now));
        }),
      );
      await announceSettled(result);
      return result;
    },

    async claimExecution(id, claim = {}) {
      const now = requireTime(claim.now ?? new Date(), 'now');
      if (!isApprovalId(id)) return notFound('not-found', id);
      const fingerprint = claim.stateFingerprint ?? null;
      const changedReason = 'the stack changed after the request was made, so the approval no longer matches what would run';
      return guarded(async () => {
        // One statement: of any number of concurrent callers, only the first finds state = 'approved'.
        const claimed = await updateWhere(
          pool,
          `state = CASE WHEN $2::text IS NULL OR state_fingerprint = $2::text THEN 'executing' ELSE 'superseded' END,
           ended_reason = CASE WHEN $2::text IS NULL OR state_fingerprint = $2::text THEN ended_reason ELSE $4 END,
           claimed_by = $5,
           state_changed_at = $3`,
          `state = 'approved'`,
          [id, fingerprint, now, changedReason, claimant],
        );
        if (claimed?.state === 'executing') return outcome('claimed', true, claimed, ['Running now (', ...people(claimed.approvedBy), ' approved)']);
        if (claimed) return outcome('superseded', true, claimed, [`Not run: ${changedReason}; ask again`]);
        const request = await selectOne(pool, id);
        if (!request) return notFound('not-found', id);
        if (request.state === 'pending') return outcome('not-approved', false, request, ['Not approved yet: ', ...statusSentence(request, now)]);
        if (request.state === 'executing' || request.state === 'executed' || request.state === 'failed') {
          return outcome('already-claimed', false, request, [`Already started at ${clockTime(request.stateChangedAt, now)}; it runs once`]);
        }
        return outcome('closed', false, request, closedSentence(request, now));
      });
    },

    async finish(id, ok, result, now = new Date()) {
      requireTime(now, 'now');
      if (!isApprovalId(id)) return notFound('not-found', id);
      const stored = result === undefined ? null : JSON.stringify(result);
      return guarded(async () => {
        const finished = await updateWhere(pool, `state = $2, result = $3::jsonb, state_changed_at = $4`, `state = 'executing'`, [
          id,
          ok ? 'executed' : 'failed',
          stored,
          now,
        ]);
        if (finished) return outcome('finished', true, finished, statusSentence(finished, now));
        const request = await selectOne(pool, id);
        if (!request) return notFound('not-found', id);
        return outcome('not-executing', false, request, [`Nothing recorded: this request is ${request.state}, not running`]);
      });
    },

    async supersede(id, reason, now = new Date()) {
      requireTime(now, 'now');
      if (!isApprovalId(id)) return notFound('not-found', id);
      const why = reason.trim();
      if (!why) throw new ApprovalInputError('Cannot supersede this approval request: reason must say what changed');
      const result = await guarded(async (): Promise<Outcome<SupersedeCode>> => {
        const superseded = await updateWhere(pool, `state = 'superseded', ended_reason = $2, state_changed_at = $3`, `state IN ('pending', 'approved')`, [
          id,
          why.slice(0, 1000),
          now,
        ]);
        if (superseded) return outcome('superseded', true, superseded, statusSentence(superseded, now));
        const request = await selectOne(pool, id);
        if (!request) return notFound('not-found', id);
        return outcome('closed', false, request, closedSentence(request, now));
      });
      await announceSettled(result);
      return result;
    },

    async attachMessage(id, ref) {
      const parsed = parseMessageRef(ref);
      if (!isApprovalId(id)) return notFound('not-found', id);
      const entry = JSON.stringify([parsed]);
      return guarded(async () => {
        const updated = await updateWhere(pool, `messages = messages || $2::jsonb`, `NOT messages @> $2::jsonb`, [id, entry]);
        if (updated) return outcome('attached', true, updated, statusSentence(updated));
        const request = await selectOne(pool, id);
        if (!request) return notFound('not-found', id);
        return outcome('already-attached', false, request, statusSentence(request));
      });
    },

    async expireDue(now = new Date()) {
      requireTime(now, 'now');
      const expired = await guarded(async () => {
        const { rows } = await pool.query<RequestRow>(
          `WITH r AS (
             UPDATE approval_requests SET state = 'expired', state_changed_at = $1
             WHERE state = 'pending' AND expires_at <= $1 RETURNING *)
           SELECT ${REQUEST_COLUMNS} FROM r ORDER BY r.expires_at`,
          [now],
        );
        return rows.map(toRequest);
      });
      for (const request of expired) await announce({ type: 'settled', id: request.id });
      return expired;
    },

    async pending() {
      return guarded(async () => {
        const { rows } = await pool.query<RequestRow>(
          `SELECT ${REQUEST_COLUMNS} FROM approval_requests r WHERE r.state = 'pending' ORDER BY r.expires_at, r.id`,
        );
        return rows.map(toRequest);
      });
    },

    async inFlight() {
      return guarded(async () => {
        const { rows } = await pool.query<RequestRow>(
          `SELECT ${REQUEST_COLUMNS} FROM approval_requests r WHERE r.state IN ('approved', 'executing') ORDER BY r.state_changed_at, r.id`,
        );
        return rows.map(toRequest);
      });
    },

    async markInterrupted(mark = {}) {
      const now = requireTime(mark.now ?? new Date(), 'now');
      const orphanAfterMs = mark.orphanAfterMs ?? ORPHANED_RUN_AFTER_MS;
      const interrupted = await guarded(async () => {
        const { rows } = await pool.query<RequestRow>(
          `WITH r AS (
             UPDATE approval_requests SET state = 'outcome_unknown', state_changed_at = $1, ended_reason = $5
             WHERE state = 'executing' AND (
               claimed_by IS NULL
               OR (left(claimed_by, length($2) + 1) = $2 || '/' AND claimed_by <> $3)
               OR state_changed_at <= $1::timestamptz - make_interval(secs => $4::double precision / 1000))
             RETURNING *)
           SELECT ${REQUEST_COLUMNS} FROM r ORDER BY r.state_changed_at, r.id`,
          [now, instance, claimant, orphanAfterMs, 'it was running when the bot stopped; whether it finished is unknown'],
        );
        return rows.map(toRequest);
      });
      for (const request of interrupted) await announce({ type: 'settled', id: request.id });
      return interrupted;
    },

    async get(id) {
      if (!isApprovalId(id)) return undefined;
      return guarded(() => selectOne(pool, id));
    },
  };
}
