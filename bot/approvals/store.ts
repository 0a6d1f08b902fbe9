/**
 * The approval store: PostgreSQL is the one source of truth for every approval request, shared by
 * all bot replicas. Each operation is one transaction that either locks the request's row
 * (SELECT ... FOR UPDATE) or is a single conditional UPDATE, so concurrent clicks, Slack retries
 * and replicas serialize on the row, and exactly one caller wins each transition. Every operation
 * says whether THIS call changed anything, the request as it now stands, and a sentence for people.
 *
 * This file composes: request-queries.ts holds the SQL, transitions.ts the rules (what a vote or a
 * cancel does to a request in a given state, and why a claim found nothing to claim), outcomes.ts
 * the answers' shape. What stays here is the order of things: parse, lock or update, decide,
 * write, commit, then announce to the other replicas.
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
  type VoteChoice,
} from './model.js';
import { notFound, type AttachCode, type CancelCode, type ClaimCode, type CreateCode, type FinishCode, type Outcome, type SupersedeCode, type VoteCode, type WithdrawCode } from './outcomes.js';
import {
  attachIfNew,
  cancelIfOpen,
  claimIfApproved,
  expireAllDue,
  finishIfExecuting,
  insertRequest,
  insertVote,
  lockAndSelectRequest,
  lockRequesterAndCountWaiting,
  markOrphanedRunsInterrupted,
  selectInFlight,
  selectPending,
  selectRequest,
  supersedeClaimed,
  supersedeIfOpen,
  writeStateChange,
} from './request-queries.js';
import type { ApprovalSignal, ApprovalSignals } from './signals.js';
import {
  INTERRUPTED_REASON,
  STACK_CHANGED_REASON,
  alreadyAttached,
  alreadyCreated,
  attached,
  claimed,
  created,
  decideCancel,
  decideVote,
  endedTheWait,
  expiryOf,
  finishState,
  finished,
  initialState,
  notClaimed,
  notFinished,
  notSuperseded,
  refuseBeyondWaitingLimit,
  superseded,
  supersedeReason,
  notWithdrawn,
  withdrawn,
  type LockedDecision,
} from './transitions.js';

export type { AttachCode, CancelCode, ClaimCode, CreateCode, FinishCode, Outcome, SupersedeCode, VoteCode, WithdrawCode } from './outcomes.js';

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
  /**
   * executing -> superseded, by the caller that claimed it: the command checked its plan once more
   * where it takes effect, found it changed, and ran nothing (a runbook's code changed after the claim).
   */
  supersedeClaimed(id: string, reason: string, now?: Date): Promise<Outcome<SupersedeCode>>;
  /**
   * pending or approved -> cancelled by `by` (not necessarily the requester), with `reason`: what the
   * request asked for is gone (a gate step's run was aborted). Anything else has ended or started.
   */
  withdraw(id: string, by: string, reason: string, now?: Date): Promise<Outcome<WithdrawCode>>;
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

  async function announceSettled(result: Outcome<string>): Promise<void> {
    if (endedTheWait(result)) await announce({ type: 'settled', id: result.request!.id });
  }

  /** One transaction: lock the request's row, decide (transitions.ts), write the vote and state change decided. */
  function decideLocked<Code extends string>(id: string, decide: (request: ApprovalRequest) => LockedDecision<Code>): Promise<Outcome<Code | 'not-found'>> {
    return guarded(() =>
      withTransaction(pool, async (client) => {
        const request = await lockAndSelectRequest(client, id);
        if (!request) return notFound('not-found', id);
        const decision = decide(request);
        if (decision.vote) await insertVote(client, id, decision.vote);
        if (decision.change) await writeStateChange(client, id, decision.change);
        return decision.outcome;
      }),
    );
  }

  /** A conditional UPDATE; when its rule did not hold, the request as it stands says why (or there is none). */
  function updateOrExplain<Code extends string>(
    id: string,
    update: () => Promise<ApprovalRequest | undefined>,
    done: (updated: ApprovalRequest) => Outcome<Code>,
    why: (request: ApprovalRequest) => Outcome<Code>,
  ): Promise<Outcome<Code | 'not-found'>> {
    return guarded(async () => {
      const updated = await update();
      if (updated) return done(updated);
      const request = await selectRequest(pool, id);
      return request ? why(request) : notFound('not-found', id);
    });
  }

  return {
    claimant,

    async create(input, now = new Date()) {
      requireTime(now, 'now');
      const parsed = parseApprovalInput(input);
      const id = parsed.id ?? randomUUID();
      const expiresAt = expiryOf(now, parsed.expiresInMs, defaultTtlMs);
      const state = initialState(parsed.breakGlass);
      const request = await guarded(() =>
        withTransaction(pool, async (client) => {
          if (state === 'pending') {
            const waiting = await lockRequesterAndCountWaiting(client, parsed.requester, now);
            refuseBeyondWaitingLimit(parsed.requester, waiting, maxPending);
          }
          const inserted = await insertRequest(client, { id, input: parsed, createdAt: now, expiresAt, state });
          return inserted ? { inserted } : { existing: await selectRequest(client, id) };
        }),
      );
      if ('existing' in request) return alreadyCreated(request.existing!, parsed, now);
      if (request.inserted.state === 'pending') await announce({ type: 'created', id: request.inserted.id, expiresAt: request.inserted.expiresAt.toISOString() });
      return created(request.inserted, now);
    },

    async vote(id, voter, voterRoles, vote, now = new Date()) {
      requireTime(now, 'now');
      const input = parseVoterInput({ voter, voterRoles, vote });
      if (!isApprovalId(id)) return notFound('not-found', id);
      const result = await decideLocked(id, (request) => decideVote(request, input, now));
      await announceSettled(result);
      return result;
    },

    async cancel(id, by, now = new Date()) {
      requireTime(now, 'now');
      if (!isApprovalId(id)) return notFound('not-found', id);
      const result = await decideLocked(id, (request) => decideCancel(request, by, now));
      await announceSettled(result);
      return result;
    },

    async claimExecution(id, claim = {}) {
      const now = requireTime(claim.now ?? new Date(), 'now');
      if (!isApprovalId(id)) return notFound('not-found', id);
      const fingerprint = claim.stateFingerprint ?? null;
      return updateOrExplain(
        id,
        () => claimIfApproved(pool, id, { fingerprint, now, changedReason: STACK_CHANGED_REASON, claimant }),
        claimed,
        (request) => notClaimed(request, now),
      );
    },

    async finish(id, ok, result, now = new Date()) {
      requireTime(now, 'now');
      if (!isApprovalId(id)) return notFound('not-found', id);
      const stored = result === undefined ? null : JSON.stringify(result);
      return updateOrExplain(
        id,
        () => finishIfExecuting(pool, id, finishState(ok), stored, now),
        (request) => finished(request, now),
        notFinished,
      );
    },

    async supersede(id, reason, now = new Date()) {
      requireTime(now, 'now');
      if (!isApprovalId(id)) return notFound('not-found', id);
      const why = supersedeReason(reason);
      const result = await updateOrExplain(
        id,
        () => supersedeIfOpen(pool, id, why, now),
        (request) => superseded(request, now),
        (request) => notSuperseded(request, now),
      );
      await announceSettled(result);
      return result;
    },

    async supersedeClaimed(id, reason, now = new Date()) {
      requireTime(now, 'now');
      if (!isApprovalId(id)) return notFound('not-found', id);
      const why = supersedeReason(reason);
      return updateOrExplain(
        id,
        () => supersedeClaimed(pool, id, why, now),
        (request) => superseded(request, now),
        (request) => notSuperseded(request, now),
      );
    },

    async withdraw(id, by, reason, now = new Date()) {
      requireTime(now, 'now');
      if (!isApprovalId(id)) return notFound('not-found', id);
      const why = supersedeReason(reason);
      const result = await updateOrExplain(
        id,
        () => cancelIfOpen(pool, id, by, why, now),
        (request) => withdrawn(request, now),
        (request) => notWithdrawn(request, now),
      );
      await announceSettled(result);
      return result;
    },

    async attachMessage(id, ref) {
      const parsed = parseMessageRef(ref);
      if (!isApprovalId(id)) return notFound('not-found', id);
      return updateOrExplain(id, () => attachIfNew(pool, id, parsed), attached, alreadyAttached);
    },

    async expireDue(now = new Date()) {
      requireTime(now, 'now');
      const expired = await guarded(() => expireAllDue(pool, now));
      for (const request of expired) await announce({ type: 'settled', id: request.id });
      return expired;
    },

    async pending() {
      return guarded(() => selectPending(pool));
    },

    async inFlight() {
      return guarded(() => selectInFlight(pool));
    },

    async markInterrupted(mark = {}) {
      const now = requireTime(mark.now ?? new Date(), 'now');
      const orphanAfterMs = mark.orphanAfterMs ?? ORPHANED_RUN_AFTER_MS;
      const interrupted = await guarded(() => markOrphanedRunsInterrupted(pool, { now, instance, claimant, orphanAfterMs, reason: INTERRUPTED_REASON }));
      for (const request of interrupted) await announce({ type: 'settled', id: request.id });
      return interrupted;
    },

    async get(id) {
      if (!isApprovalId(id)) return undefined;
      return guarded(() => selectRequest(pool, id));
    },
  };
}
