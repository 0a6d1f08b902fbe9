import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase } from '../../test/testing/postgres.js';
import {
  ApprovalInputError,
  ApprovalStoreUnavailableError,
  DEFAULT_APPROVAL_TTL_MS,
  MAX_PENDING_PER_REQUESTER,
  createApprovalStore,
  type ApprovalInput,
  type ApprovalStore,
} from './index.js';
import { REQUESTER, approvalTestDatabase, approver, scaleRequest, type ApprovalTestDatabase } from './testing/fixtures.js';

let database: ApprovalTestDatabase;
let pool: pg.Pool;
let store: ApprovalStore;
const APPROVER_ROLES = ['approvers'];

beforeAll(async () => {
  database = await approvalTestDatabase();
  pool = database.pool();
  store = createApprovalStore({ pool });
});

afterAll(async () => {
  await database?.close();
});

const at = (iso: string) => new Date(iso);
const T0 = at('2025-11-28T10:27:00.000Z');
const plus = (ms: number, from = T0) => new Date(from.getTime() + ms);

async function votesOf(id: string): Promise<string[]> {
  const { rows } = await pool.query<{ voter: string }>('SELECT voter FROM approval_votes WHERE request_id = $1 ORDER BY sequence', [id]);
  return rows.map((row) => row.voter);
}

async function created(overrides: Partial<ApprovalInput> = {}, now = T0) {
  const outcome = await store.create(scaleRequest(overrides), now);
  return outcome.request!;
}

describe('creating a request', () => {
  it('stores the exact action, the requester and the policy figures, pending for 15 minutes by default', async () => {
    const outcome = await store.create(scaleRequest({ approvalsRequired: 2, level: 3, reason: 'traffic spike' }), T0);
    expect(outcome).toMatchObject({ code: 'created', changed: true });
    const request = outcome.request!;
    expect(request).toMatchObject({
      action: { command: 'scale', args: { service: 'policy-engine', replicas: 3 }, line: 'scale policy-engine 3', target: 'policy-engine' },
      requester: REQUESTER,
      level: 3,
      approvalsRequired: 2,
      approverRoles: ['approvers', 'admins'],
      distinctApprovers: true,
      approvedBy: [],
      reason: 'traffic spike',
      breakGlass: false,
      state: 'pending',
      votes: [],
      messages: [],
    });
    expect(request.createdAt).toEqual(T0);
    expect(request.expiresAt.getTime() - T0.getTime()).toBe(DEFAULT_APPROVAL_TTL_MS);
    expect(outcome.message).toBe('Waiting for approval: 0 of 2 approved · expires at 10:42 UTC');
    expect(await store.get(request.id)).toEqual(request);
  });

  it('uses the store default expiry or the one the request gives', async () => {
    const shortStore = createApprovalStore({ pool, defaultTtlMs: 60_000 });
    const byDefault = (await shortStore.create(scaleRequest(), T0)).request!;
    expect(byDefault.expiresAt).toEqual(plus(60_000));
    const own = (await shortStore.create(scaleRequest({ expiresInMs: 5_000 }), T0)).request!;
    expect(own.expiresAt).toEqual(plus(5_000));
  });

  it('refuses a store default expiry that is not a positive number of milliseconds up to a day', () => {
    expect(() => createApprovalStore({ pool, defaultTtlMs: 0 })).toThrow(/defaultTtlMs must be whole milliseconds/);
    expect(() => createApprovalStore({ pool, defaultTtlMs: 2 * 24 * 3600 * 1000 })).toThrow(/a day/);
  });

  const badInputs: Array<[string, unknown, RegExp]> = [
    ['no approvals required', { approvalsRequired: 0 }, /approvalsRequired must be at least 1/],
    ['a fractional approval count', { approvalsRequired: 1.5 }, /approvalsRequired must be a whole number/],
    ['no approver roles', { approverRoles: [] }, /approverRoles must name at least one role/],
    ['a role that is not a role name', { approverRoles: ['Approvers!'] }, /approverRoles\.0 must be a role name/],
    ['an unknown escalation level', { level: 5 }, /level must be an escalation level from 1 to 4/],
    ['a blank requester', { requester: '  ' }, /requester must name a person/],
    ['a negative expiry', { expiresInMs: -1 }, /expiresInMs must be more than 0 ms/],
    ['an expiry beyond a day', { expiresInMs: 90_000_000 }, /expiresInMs must be at most a day/],
    ['break-glass without a reason', { breakGlass: true }, /reason is mandatory for break-glass/],
    ['a blank reason', { reason: '   ' }, /reason must not be blank/],
    ['a missing state fingerprint', { action: { command: 'scale', args: {}, line: 'scale x 1', stateFingerprint: '' } }, /action\.stateFingerprint must fingerprint/],
    ['an unknown field', { approvers: ['U1'] }, /approvers/],
    ['a message without a channel', { messages: [{ ts: '1.2' }] }, /messages\.0\.channel/],
  ];
  it.each(badInputs)('refuses %s with a message naming the field, and stores nothing', async (_name, overrides, message) => {
    const before = (await pool.query('SELECT count(*)::int AS n FROM approval_requests')).rows[0].n;
    const attempt = store.create({ ...scaleRequest(), ...(overrides as object) } as ApprovalInput, T0);
    await expect(attempt).rejects.toThrow(ApprovalInputError);
    await expect(attempt).rejects.toThrow(message);
    expect((await pool.query('SELECT count(*)::int AS n FROM approval_requests')).rows[0].n).toBe(before);
  });

  it('creates a break-glass request already approved, without votes, with its reason, ready to claim once', async () => {
    // As the authorization policy decides break-glass: no approvals, no approver roles.
    const outcome = await store.create(
      scaleRequest({ level: 4, breakGlass: true, reason: 'policy engine is approving violations', approvalsRequired: 0, approverRoles: [], distinctApprovers: false }),
      T0,
    );
    expect(outcome.request).toMatchObject({ state: 'approved', breakGlass: true, votes: [], reason: 'policy engine is approving violations', approvalsRequired: 0, distinctApprovers: false });
    expect(outcome.message).toBe(`Approved (break-glass by @${REQUESTER} without approvals); starting`);
    expect((await store.claimExecution(outcome.request!.id)).code).toBe('claimed');
    expect((await store.claimExecution(outcome.request!.id)).code).toBe('already-claimed');
  });
});

describe('voting', () => {
  it('counts an approval and says how many are still needed', async () => {
    const request = await created({ approvalsRequired: 2 });
    const outcome = await store.vote(request.id, approver(1), APPROVER_ROLES, 'approve', plus(1000));
    expect(outcome).toMatchObject({ code: 'counted', changed: true, message: `1 of 2 approved by @${approver(1)}; 1 more approval needed` });
    expect(outcome.sentence).toEqual(['1 of 2 approved by ', { user: approver(1) }, '; 1 more approval needed']);
    expect(outcome.request).toMatchObject({ state: 'pending', approvedBy: [approver(1)] });
    expect(outcome.request!.votes).toEqual([{ voter: approver(1), roles: APPROVER_ROLES, vote: 'approve', at: plus(1000) }]);
    expect(await store.get(request.id)).toEqual(outcome.request);
  });

  it('approves when the last required approval arrives, naming every approver', async () => {
    const request = await created({ approvalsRequired: 2 });
    await store.vote(request.id, approver(1), APPROVER_ROLES, 'approve', plus(1000));
    const outcome = await store.vote(request.id, approver(2), ['admins'], 'approve', plus(2000));
    expect(outcome).toMatchObject({ code: 'approved', changed: true, message: `Approved: 2 of 2 approved by @${approver(1)} and @${approver(2)}` });
    expect((await store.get(request.id))?.state).toBe('approved');
  });

  it('refuses the requester voting on their own request and records nothing', async () => {
    const request = await created();
    const approve = await store.vote(request.id, REQUESTER, ['oncall', 'approvers'], 'approve', plus(1000));
    expect(approve).toMatchObject({ code: 'own-request', changed: false, message: 'You requested this; someone else must approve it' });
    const deny = await store.vote(request.id, REQUESTER, ['approvers'], 'deny', plus(1000));
    expect(deny).toMatchObject({ code: 'own-request', changed: false, message: 'You requested this; cancel it instead of denying it' });
    expect(await votesOf(request.id)).toEqual([]);
    expect((await store.get(request.id))?.state).toBe('pending');
  });

  it('refuses a vote from someone without an approver role and records nothing', async () => {
    const request = await created({ approverRoles: ['approvers', 'admins'] });
    const outcome = await store.vote(request.id, 'U0BYSTANDER', ['oncall'], 'approve', plus(1000));
    expect(outcome).toMatchObject({
      code: 'not-an-approver',
      changed: false,
      message: 'Only people with one of the roles approvers, admins can vote on this request; you have none of them',
    });
    const denyAttempt = await store.vote(request.id, 'U0BYSTANDER', [], 'deny', plus(1000));
    expect(denyAttempt.code).toBe('not-an-approver');
    expect(await votesOf(request.id)).toEqual([]);
    expect((await store.get(request.id))?.state).toBe('pending');
  });

  it('counts each person once: a second click, even a different one, changes nothing and says so', async () => {
    const request = await created({ approvalsRequired: 2 });
    await store.vote(request.id, approver(1), APPROVER_ROLES, 'approve', at('2025-11-28T10:30:00Z'));
    const again = await store.vote(request.id, approver(1), APPROVER_ROLES, 'approve', at('2025-11-28T10:30:01Z'));
    expect(again).toMatchObject({ code: 'already-counted', changed: false, message: 'Already counted: you approved this at 10:30 UTC; each person counts once' });
    const changedMind = await store.vote(request.id, approver(1), APPROVER_ROLES, 'deny', at('2025-11-28T10:31:00Z'));
    expect(changedMind.code).toBe('already-counted');
    expect(await votesOf(request.id)).toEqual([approver(1)]);
    expect((await store.get(request.id))?.state).toBe('pending');
  });

  it('ends the request with one deny after an approval, and refuses every later vote with the reason', async () => {
    const request = await created({ approvalsRequired: 2 });
    await store.vote(request.id, approver(1), APPROVER_ROLES, 'approve', plus(1000));
    const deny = await store.vote(request.id, approver(2), APPROVER_ROLES, 'deny', plus(2000));
    expect(deny).toMatchObject({ code: 'denied', changed: true, message: `Denied by @${approver(2)} after 1 of 2 approved by @${approver(1)}; nothing was run` });
    expect(deny.request).toMatchObject({ state: 'denied', endedBy: approver(2) });
    const late = await store.vote(request.id, approver(3), APPROVER_ROLES, 'approve', plus(3000));
    expect(late).toMatchObject({ code: 'closed', changed: false, message: `This request was already denied by @${approver(2)}` });
    expect(await votesOf(request.id)).toEqual([approver(1), approver(2)]);
    expect((await store.claimExecution(request.id)).code).toBe('closed');
  });

  it('refuses a vote after the request was approved: it was not needed and is not recorded', async () => {
    const request = await created();
    await store.vote(request.id, approver(1), APPROVER_ROLES, 'approve', plus(1000));
    const late = await store.vote(request.id, approver(2), APPROVER_ROLES, 'deny', plus(2000));
    expect(late).toMatchObject({ code: 'closed', changed: false, message: `This request is already approved (@${approver(1)}); your vote was not needed` });
    expect((await store.get(request.id))?.state).toBe('approved');
    expect(await votesOf(request.id)).toEqual([approver(1)]);
  });

  it('accepts a vote one millisecond before the expiry and refuses one exactly at it, marking the request expired', async () => {
    const early = await created({ approvalsRequired: 2 });
    expect((await store.vote(early.id, approver(1), APPROVER_ROLES, 'approve', plus(-1, early.expiresAt))).code).toBe('counted');

    const outcome = await store.vote(early.id, approver(2), APPROVER_ROLES, 'approve', early.expiresAt);
    expect(outcome).toMatchObject({ code: 'expired', changed: true, message: 'This request expired at 10:42 UTC; ask again if it is still needed' });
    expect(outcome.request?.state).toBe('expired');
    expect(await votesOf(early.id)).toEqual([approver(1)]);

    const later = await store.vote(early.id, approver(3), APPROVER_ROLES, 'approve', plus(60_000, early.expiresAt));
    expect(later).toMatchObject({ code: 'expired', changed: false });
    expect((await store.claimExecution(early.id)).code).toBe('closed');
  });

  it('names the day of an expiry that was not today', async () => {
    const request = await created();
    const outcome = await store.vote(request.id, approver(1), APPROVER_ROLES, 'approve', at('2025-11-29T08:00:00Z'));
    expect(outcome.message).toBe('This request expired at 2025-11-28 10:42 UTC; ask again if it is still needed');
  });

  it('answers a vote for an unknown or malformed id with "no such request"', async () => {
    const unknown = await store.vote('7d0f8a58-5a4a-4a43-9c6e-111111111111', approver(1), APPROVER_ROLES, 'approve', T0);
    expect(unknown).toMatchObject({ code: 'not-found', changed: false, request: undefined });
    expect(unknown.message).toBe('There is no approval request "7d0f8a58-5a4a-4a43-9c6e-111111111111"; it may have been mistyped');
    const malformed = await store.vote("x'; DROP TABLE approval_requests; --", approver(1), APPROVER_ROLES, 'approve', T0);
    expect(malformed.code).toBe('not-found');
    expect(await store.get('not-a-uuid')).toBeUndefined();
  });

  it('refuses a vote that is neither approve nor deny, a blank voter or an invalid time, recording nothing', async () => {
    const request = await created();
    await expect(store.vote(request.id, approver(1), APPROVER_ROLES, 'maybe' as 'approve', T0)).rejects.toThrow(/vote must be approve or deny/);
    await expect(store.vote(request.id, ' ', APPROVER_ROLES, 'approve', T0)).rejects.toThrow(/voter must name a person/);
    await expect(store.vote(request.id, approver(1), APPROVER_ROLES, 'approve', new Date('nonsense'))).rejects.toThrow(/now must be a valid time/);
    expect(await votesOf(request.id)).toEqual([]);
  });
});

describe('a request id reserved by its caller', () => {
  const count = async (id: string) => (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM approval_requests WHERE id = $1', [id])).rows[0]!.n;

  it('is the new request id; asking again with it, even concurrently, answers that request and writes nothing', async () => {
    const id = randomUUID();
    const first = await store.create(scaleRequest({ id }), T0);
    expect(first).toMatchObject({ code: 'created', changed: true, request: { id, state: 'pending' } });
    const again = await store.create(scaleRequest({ id }), plus(5000));
    expect(again).toMatchObject({ code: 'exists', changed: false, request: { id, state: 'pending' } });
    expect(again.request!.createdAt).toEqual(T0);

    const racing = randomUUID();
    const outcomes = await Promise.all([1, 2, 3, 4].map(() => store.create(scaleRequest({ id: racing }), T0)));
    expect(outcomes.map((outcome) => outcome.code).sort()).toEqual(['created', 'exists', 'exists', 'exists']);
    expect(await count(racing)).toBe(1);
  });

  it('refuses an id already used for another action or requester, and one that is no UUID, writing nothing', async () => {
    const id = (await created({ id: randomUUID() })).id;
    await expect(store.create({ ...scaleRequest({ id }), action: { ...scaleRequest().action, line: 'scale policy-engine 4' } }, T0)).rejects.toThrow(/exists already for another action/);
    await expect(store.create(scaleRequest({ id, requester: 'U0SOMEONE' }), T0)).rejects.toThrow(ApprovalInputError);
    await expect(store.create(scaleRequest({ id: 'gate-1' }), T0)).rejects.toThrow(/id must be a request id \(a UUID\)/);
    expect(await store.get(id)).toMatchObject({ action: { line: 'scale policy-engine 3' }, requester: REQUESTER });
  });
});

describe('withdrawing (what the request asked for is gone)', () => {
  it('cancels a pending or approved request in the name of whoever withdrew it, saying why; later votes are refused with it', async () => {
    const request = await created();
    const outcome = await store.withdraw(request.id, approver(2), 'its run 1234 was aborted', at('2025-11-28T10:30:00Z'));
    expect(outcome).toMatchObject({ code: 'cancelled', changed: true, message: `Cancelled by @${approver(2)} at 10:30 UTC: its run 1234 was aborted; nothing was run` });
    expect(await store.get(request.id)).toMatchObject({ state: 'cancelled', endedBy: approver(2), endedReason: 'its run 1234 was aborted' });
    const late = await store.vote(request.id, approver(1), APPROVER_ROLES, 'approve', plus(5000));
    expect(late).toMatchObject({ code: 'closed', message: `This request was cancelled by @${approver(2)}: its run 1234 was aborted` });

    const approved = await created();
    await store.vote(approved.id, approver(1), APPROVER_ROLES, 'approve', plus(1000));
    expect((await store.withdraw(approved.id, REQUESTER, 'gone', plus(2000))).code).toBe('cancelled');
    expect((await store.claimExecution(approved.id)).code).toBe('closed');
  });

  it('changes nothing once the request ended or started, nor for an unknown id or a blank reason', async () => {
    const request = await created();
    await store.vote(request.id, approver(1), APPROVER_ROLES, 'approve', plus(1000));
    await store.claimExecution(request.id, { now: plus(2000) });
    expect(await store.withdraw(request.id, REQUESTER, 'gone', plus(3000))).toMatchObject({ code: 'closed', changed: false });
    expect((await store.get(request.id))?.state).toBe('executing');
    expect((await store.withdraw(randomUUID(), REQUESTER, 'gone')).code).toBe('not-found');
    const pending = await created();
    await expect(store.withdraw(pending.id, REQUESTER, '  ')).rejects.toThrow(ApprovalInputError);
    expect((await store.get(pending.id))?.state).toBe('pending');
  });
});

describe('cancelling', () => {
  it('lets the requester cancel a pending request; later votes are refused with who cancelled it', async () => {
    const request = await created();
    const outcome = await store.cancel(request.id, REQUESTER, at('2025-11-28T10:30:00Z'));
    expect(outcome).toMatchObject({ code: 'cancelled', changed: true, message: `Cancelled by @${REQUESTER} at 10:30 UTC; nothing was run` });
    const late = await store.vote(request.id, approver(1), APPROVER_ROLES, 'approve', plus(5000));
    expect(late).toMatchObject({ code: 'closed', message: `This request was cancelled by @${REQUESTER}` });
    expect((await store.cancel(request.id, REQUESTER, plus(6000))).code).toBe('closed');
  });

  it('refuses a cancel by anyone but the requester, even an approver', async () => {
    const request = await created();
    const outcome = await store.cancel(request.id, approver(1), plus(1000));
    expect(outcome).toMatchObject({ code: 'not-requester', changed: false, message: `Only the requester, @${REQUESTER}, can cancel this request` });
    expect((await store.get(request.id))?.state).toBe('pending');
  });

  it('lets the requester cancel an approved request before it runs, so nobody can claim it', async () => {
    const request = await created();
    await store.vote(request.id, approver(1), APPROVER_ROLES, 'approve', plus(1000));
    expect((await store.cancel(request.id, REQUESTER, plus(2000))).code).toBe('cancelled');
    expect((await store.claimExecution(request.id)).code).toBe('closed');
  });

  it('is too late once the action has started', async () => {
    const request = await created();
    await store.vote(request.id, approver(1), APPROVER_ROLES, 'approve', plus(1000));
    await store.claimExecution(request.id, { now: at('2025-11-28T10:28:00Z') });
    const outcome = await store.cancel(request.id, REQUESTER, plus(3000));
    expect(outcome).toMatchObject({ code: 'closed', changed: false, message: 'Too late to cancel: it started at 10:28 UTC' });
    expect((await store.get(request.id))?.state).toBe('executing');
  });

  it('says a request past its expiry expired instead of cancelling it', async () => {
    const request = await created();
    const outcome = await store.cancel(request.id, REQUESTER, request.expiresAt);
    expect(outcome).toMatchObject({ code: 'expired', changed: true });
    expect((await store.get(request.id))?.state).toBe('expired');
  });
});

describe('claiming and finishing the execution', () => {
  it('refuses to claim a request that still waits for approvals', async () => {
    const request = await created({ approvalsRequired: 2 });
    await store.vote(request.id, approver(1), APPROVER_ROLES, 'approve', plus(1000));
    const outcome = await store.claimExecution(request.id, { now: plus(2000) });
    expect(outcome).toMatchObject({ code: 'not-approved', changed: false });
    expect(outcome.message).toBe(`Not approved yet: Waiting for approval: 1 of 2 approved by @${approver(1)} · expires at 10:42 UTC`);
  });

  it('lets exactly one claim win, then records the result once', async () => {
    const request = await created();
    await store.vote(request.id, approver(1), APPROVER_ROLES, 'approve', plus(1000));
    const won = await store.claimExecution(request.id, { stateFingerprint: request.action.stateFingerprint, now: plus(2000) });
    expect(won).toMatchObject({ code: 'claimed', changed: true, message: `Running now (@${approver(1)} approved)` });
    expect(won.request?.state).toBe('executing');
    expect(await store.claimExecution(request.id)).toMatchObject({ code: 'already-claimed', changed: false });

    const finished = await store.finish(request.id, true, { replicas: 3, tookMs: 1200 }, plus(5000));
    expect(finished).toMatchObject({ code: 'finished', changed: true });
    expect(finished.request).toMatchObject({ state: 'executed', result: { replicas: 3, tookMs: 1200 } });
    const again = await store.finish(request.id, false, { error: 'late' }, plus(6000));
    expect(again).toMatchObject({ code: 'not-executing', changed: false, message: 'Nothing recorded: this request is executed, not running' });
    expect((await store.get(request.id))?.result).toEqual({ replicas: 3, tookMs: 1200 });
  });

  it('records a failed execution as failed', async () => {
    const request = await created();
    await store.vote(request.id, approver(1), APPROVER_ROLES, 'approve', plus(1000));
    await store.claimExecution(request.id);
    expect((await store.finish(request.id, false, { error: 'engine refused' })).request).toMatchObject({ state: 'failed', result: { error: 'engine refused' } });
  });

  it('refuses to finish a request that was never claimed', async () => {
    const request = await created();
    expect((await store.finish(request.id, true)).code).toBe('not-executing');
    expect((await store.get(request.id))?.state).toBe('pending');
  });

  it('supersedes instead of running when the stack state changed since the request, so it asks again', async () => {
    const request = await created();
    await store.vote(request.id, approver(1), APPROVER_ROLES, 'approve', plus(1000));
    const outcome = await store.claimExecution(request.id, { stateFingerprint: 'replicas=2;image=acgs/policy-engine:0.1.0' });
    expect(outcome).toMatchObject({ code: 'superseded', changed: true });
    expect(outcome.message).toMatch(/^Not run: the stack changed after the request was made.*; ask again$/);
    expect(outcome.request?.state).toBe('superseded');
    expect((await store.claimExecution(request.id, { stateFingerprint: request.action.stateFingerprint })).code).toBe('closed');
  });

  it('supersedes a request whose policy answer changed, and refuses votes on it afterwards', async () => {
    const request = await created();
    const outcome = await store.supersede(request.id, 'the policy now needs two approvers', plus(1000));
    expect(outcome).toMatchObject({ code: 'superseded', changed: true, message: 'Not run: the policy now needs two approvers; ask again' });
    expect((await store.vote(request.id, approver(1), APPROVER_ROLES, 'approve', plus(2000))).code).toBe('closed');
    expect((await store.supersede(request.id, 'again', plus(3000))).code).toBe('closed');
    await expect(store.supersede(request.id, '  ')).rejects.toThrow(/reason must say what changed/);
  });
});

describe('messages, pending requests and expiry', () => {
  it('remembers every Slack message of a request once', async () => {
    const request = await created();
    expect((await store.attachMessage(request.id, { channel: 'C0OPS', ts: '1700000000.000100' })).code).toBe('attached');
    expect((await store.attachMessage(request.id, { channel: 'C0OPS', ts: '1700000000.000100' })).code).toBe('already-attached');
    const second = await store.attachMessage(request.id, { channel: 'C0APPROVALS', ts: '1700000000.000200', thread: '1700000000.000100' });
    expect(second.request?.messages).toEqual([
      { channel: 'C0OPS', ts: '1700000000.000100' },
      { channel: 'C0APPROVALS', ts: '1700000000.000200', thread: '1700000000.000100' },
    ]);
    await expect(store.attachMessage(request.id, { channel: '' })).rejects.toThrow(/channel must name a channel/);
  });

  it('expires pending requests at their expiry exactly, once, and never a decided one; lists approved and running ones apart', async () => {
    const own = await approvalTestDatabase();
    try {
      const isolated = createApprovalStore({ pool: own.pool() });
      const waiting = (await isolated.create(scaleRequest(), T0)).request!;
      const decided = (await isolated.create(scaleRequest(), T0)).request!;
      await isolated.vote(decided.id, approver(1), APPROVER_ROLES, 'approve', plus(1000));
      const later = (await isolated.create(scaleRequest({ expiresInMs: 20 * 60_000 }), T0)).request!;

      expect((await isolated.pending()).map((request) => request.id)).toEqual([waiting.id, later.id]);
      expect(await isolated.expireDue(plus(-1, waiting.expiresAt))).toEqual([]);
      const expired = await isolated.expireDue(waiting.expiresAt);
      expect(expired.map((request) => [request.id, request.state])).toEqual([[waiting.id, 'expired']]);
      expect(await isolated.expireDue(waiting.expiresAt)).toEqual([]);
      expect((await isolated.pending()).map((request) => request.id)).toEqual([later.id]);
      expect((await isolated.get(decided.id))?.state).toBe('approved');
      // What a crash between approval and execution leaves behind is listed, not re-run.
      expect((await isolated.inFlight()).map((request) => [request.id, request.state])).toEqual([[decided.id, 'approved']]);
      await isolated.claimExecution(decided.id);
      expect((await isolated.inFlight()).map((request) => request.state)).toEqual(['executing']);
      await isolated.finish(decided.id, true);
      expect(await isolated.inFlight()).toEqual([]);
    } finally {
      await own.close();
    }
  });
});

describe('when the store cannot answer', () => {
  it('refuses with a reason when PostgreSQL is not reachable, so escalated actions fail closed', async () => {
    const dead = createPool({ databaseUrl: 'postgres://postgres@127.0.0.1:1/acgs', max: 1, applicationName: 'acgs-approvals-test' });
    try {
      const offline = createApprovalStore({ pool: dead });
      const attempt = offline.create(scaleRequest());
      await expect(attempt).rejects.toThrow(ApprovalStoreUnavailableError);
      await expect(attempt).rejects.toThrow(/The approval store \(PostgreSQL\) is not available .*; escalated actions are refused until it is back/);
      await expect(offline.vote('7d0f8a58-5a4a-4a43-9c6e-111111111111', approver(1), APPROVER_ROLES, 'approve')).rejects.toThrow(ApprovalStoreUnavailableError);
      await expect(offline.claimExecution('7d0f8a58-5a4a-4a43-9c6e-111111111111')).rejects.toThrow(ApprovalStoreUnavailableError);
    } finally {
      await dead.end();
    }
  });

  it('says the tables are missing when the store was never migrated', async () => {
    const bare = await createTestDatabase('acgs_approvals_bare');
    const barePool = createPool({ databaseUrl: bare.url, max: 1, applicationName: 'acgs-approvals-test' });
    try {
      const unmigrated = createApprovalStore({ pool: barePool });
      await expect(unmigrated.pending()).rejects.toThrow(/The approval store's tables are missing .*migrateApprovalStore/);
    } finally {
      await barePool.end();
      await bare.drop();
    }
  });
});

describe('bounds on waiting requests', () => {
  it("refuses a requester's 21st waiting request with a message and stores nothing; a decided one frees a place, and other requesters are not affected", async () => {
    const busy = 'U0BUSYREQUESTER';
    const now = new Date();
    const first = await store.create(scaleRequest({ requester: busy }), now);
    for (let index = 1; index < MAX_PENDING_PER_REQUESTER; index += 1) await store.create(scaleRequest({ requester: busy }), now);
    const count = async () => Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM approval_requests WHERE requester = $1', [busy])).rows[0]!.n);
    expect(await count()).toBe(MAX_PENDING_PER_REQUESTER);
    const refused = store.create(scaleRequest({ requester: busy }), now);
    await expect(refused).rejects.toThrow(ApprovalInputError);
    await expect(refused).rejects.toThrow(`${busy} already has 20 requests waiting for approval, the most one person may have; cancel one or wait until they are decided or expire`);
    expect(await count()).toBe(MAX_PENDING_PER_REQUESTER);
    // Someone else can still ask.
    expect((await store.create(scaleRequest({ requester: 'U0SOMEONEELSE' }), now)).code).toBe('created');
    // Cancelling one frees a place.
    expect((await store.cancel(first.request!.id, busy, now)).code).toBe('cancelled');
    expect((await store.create(scaleRequest({ requester: busy }), now)).code).toBe('created');
  });

  it('keeps the bound when many requests by one requester arrive at the same moment', async () => {
    const racer = 'U0RACINGREQUESTER';
    const small = createApprovalStore({ pool: database.pool(10), maxPendingPerRequester: 3 });
    const attempts = await Promise.allSettled(Array.from({ length: 10 }, () => small.create(scaleRequest({ requester: racer }))));
    expect(attempts.filter((attempt) => attempt.status === 'fulfilled')).toHaveLength(3);
    expect(attempts.filter((attempt) => attempt.status === 'rejected' && attempt.reason instanceof ApprovalInputError)).toHaveLength(7);
  });
});

describe('a run left executing by a stopped process', () => {
  async function executing(by: ApprovalStore): Promise<string> {
    const { request } = await by.create(scaleRequest());
    expect((await by.vote(request!.id, approver(1), APPROVER_ROLES, 'approve')).code).toBe('approved');
    expect((await by.claimExecution(request!.id)).code).toBe('claimed');
    return request!.id;
  }

  it('becomes outcome_unknown for exactly one of two replicas restarting under the instance that claimed it, never runs again, and leaves a live run of another instance alone', async () => {
    const crashed = createApprovalStore({ pool, instance: 'bot-a' });
    const otherReplica = createApprovalStore({ pool, instance: 'bot-b' });
    const interrupted = await executing(crashed);
    const live = await executing(otherReplica);
    const abandoned = await executing(otherReplica);
    // Claimed by bot-b two hours ago and never finished: orphaned whoever claimed it.
    await pool.query(`UPDATE approval_requests SET state_changed_at = now() - interval '2 hours' WHERE id = $1`, [abandoned]);

    const restarted = [createApprovalStore({ pool: database.pool(2), instance: 'bot-a' }), createApprovalStore({ pool: database.pool(2), instance: 'bot-a' })];
    const marked = await Promise.all(restarted.map((replica) => replica.markInterrupted()));
    const ids = marked.flat().map((request) => request.id);
    expect(ids.filter((id) => id === interrupted)).toHaveLength(1);
    expect(ids.filter((id) => id === abandoned)).toHaveLength(1);
    expect(ids).not.toContain(live);
    expect(await otherReplica.markInterrupted()).not.toContainEqual(expect.objectContaining({ id: live }));
    expect((await store.get(live))?.state).toBe('executing');

    const unknown = (await store.get(interrupted))!;
    expect(unknown).toMatchObject({ state: 'outcome_unknown', endedReason: 'it was running when the bot stopped; whether it finished is unknown' });
    expect(unknown.approvedBy).toEqual([approver(1)]);
    // Nothing moves it again: not a claim, not a vote, not a cancel, not a finish.
    expect((await store.claimExecution(interrupted)).code).toBe('closed');
    expect((await store.vote(interrupted, approver(2), APPROVER_ROLES, 'approve')).code).toBe('closed');
    expect((await store.cancel(interrupted, REQUESTER)).code).toBe('closed');
    expect((await store.finish(interrupted, true)).code).toBe('not-executing');
    expect((await restarted[0]!.markInterrupted()).map((request) => request.id)).not.toContain(interrupted);
  });
});
