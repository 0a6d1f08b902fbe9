import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApprovalStore, type ApprovalStore, type Outcome, type VoteCode } from '../../bot/approvals/index.js';
import { approvalTestDatabase, approver, scaleRequest, type ApprovalTestDatabase } from '../../bot/approvals/testing/fixtures.js';

const VOTER_PROCESS = fileURLToPath(new URL('../../bot/approvals/testing/voter-process.ts', import.meta.url));
const ROLES = ['approvers'];
const APPROVERS = Array.from({ length: 20 }, (_, index) => approver(index));

let database: ApprovalTestDatabase;
let pool: pg.Pool;
let store: ApprovalStore;
const children: ChildProcess[] = [];

beforeAll(async () => {
  database = await approvalTestDatabase();
  // One connection per concurrent caller, so that the clicks really meet at the row lock.
  pool = database.pool(20);
  // Twenty requests by one requester wait at once below: more than one person may have in use (bot/approvals/store.test.ts).
  store = createApprovalStore({ pool, maxPendingPerRequester: 100 });
  await Promise.all(APPROVERS.map(() => pool.query('SELECT 1')));
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await database?.close();
});

async function recordedVoters(id: string): Promise<string[]> {
  const { rows } = await pool.query<{ voter: string }>('SELECT voter FROM approval_votes WHERE request_id = $1 ORDER BY sequence', [id]);
  return rows.map((row) => row.voter);
}

function codes(outcomes: Array<{ code: string }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { code } of outcomes) counts[code] = (counts[code] ?? 0) + 1;
  return counts;
}

/** Every caller's answer agrees with the table: those told "counted" are exactly the recorded votes. */
async function expectAnswersMatchTheRecord(id: string, outcomes: Array<{ voter: string; outcome: Outcome<VoteCode> }>) {
  const toldCounted = outcomes.filter(({ outcome }) => outcome.changed).map(({ voter }) => voter);
  expect(new Set(await recordedVoters(id))).toEqual(new Set(toldCounted));
  for (const { outcome } of outcomes) {
    if (!outcome.changed) expect(outcome.message).toMatch(/^This request is already approved/);
  }
}

describe('approvers clicking at the same moment', () => {
  it.each([1, 2, 3])(
    '20 concurrent approvals of a 2-approval request (round %i) record exactly two votes and run it exactly once',
    async () => {
      const request = (await store.create(scaleRequest({ approvalsRequired: 2 }))).request!;
      const outcomes = await Promise.all(
        APPROVERS.map(async (voter) => ({ voter, outcome: await store.vote(request.id, voter, ROLES, 'approve') })),
      );
      expect(codes(outcomes.map(({ outcome }) => outcome))).toEqual({ counted: 1, approved: 1, closed: 18 });
      await expectAnswersMatchTheRecord(request.id, outcomes);
      const final = await store.get(request.id);
      expect(final).toMatchObject({ state: 'approved' });
      expect(final?.approvedBy).toHaveLength(2);

      // Every approver's click handler tries to run it, all at once.
      const claims = await Promise.all(APPROVERS.map(() => store.claimExecution(request.id)));
      expect(codes(claims)).toEqual({ claimed: 1, 'already-claimed': 19 });
    },
  );

  it('loses no vote: 20 concurrent approvals of a 10-approval request record exactly ten, all told the truth', async () => {
    const request = (await store.create(scaleRequest({ approvalsRequired: 10 }))).request!;
    const outcomes = await Promise.all(APPROVERS.map(async (voter) => ({ voter, outcome: await store.vote(request.id, voter, ROLES, 'approve') })));
    expect(codes(outcomes.map(({ outcome }) => outcome))).toEqual({ counted: 9, approved: 1, closed: 10 });
    await expectAnswersMatchTheRecord(request.id, outcomes);
    // The counts people were shown went up one by one: 1 of 10, 2 of 10, ... 9 of 10, then approved.
    const shown = outcomes
      .filter(({ outcome }) => outcome.code === 'counted')
      .map(({ outcome }) => Number(/^(\d+) of 10 approved/.exec(outcome.message)?.[1]))
      .sort((a, b) => a - b);
    expect(shown).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('runs an approval exactly once when each approver clicks and immediately tries to run it', async () => {
    const request = (await store.create(scaleRequest({ approvalsRequired: 2 }))).request!;
    const claims = await Promise.all(
      APPROVERS.map(async (voter) => {
        await store.vote(request.id, voter, ROLES, 'approve');
        return store.claimExecution(request.id);
      }),
    );
    expect(claims.filter((claim) => claim.code === 'claimed')).toHaveLength(1);
    expect(await recordedVoters(request.id)).toHaveLength(2);
  });

  it('counts a burst of double clicks by one approver once', async () => {
    const request = (await store.create(scaleRequest({ approvalsRequired: 2 }))).request!;
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => store.vote(request.id, approver(7), ROLES, 'approve')));
    expect(codes(outcomes)).toEqual({ counted: 1, 'already-counted': 9 });
    expect(await recordedVoters(request.id)).toEqual([approver(7)]);
    expect((await store.get(request.id))?.state).toBe('pending');
  });

  it('lets one deny racing many approvals either end the request or arrive too late, never both', async () => {
    const request = (await store.create(scaleRequest({ approvalsRequired: 3 }))).request!;
    const outcomes = await Promise.all(
      APPROVERS.map(async (voter, index) => ({ voter, outcome: await store.vote(request.id, voter, ROLES, index === 10 ? 'deny' : 'approve') })),
    );
    const final = (await store.get(request.id))!;
    const deny = outcomes[10]!.outcome;
    if (deny.code === 'denied') {
      expect(final.state).toBe('denied');
      expect(final.approvedBy.length).toBeLessThan(3);
    } else {
      expect(deny.code).toBe('closed');
      expect(final.state).toBe('approved');
      expect(final.approvedBy).toHaveLength(3);
    }
    expect(new Set(await recordedVoters(request.id))).toEqual(new Set(outcomes.filter(({ outcome }) => outcome.changed).map(({ voter }) => voter)));
  });
});

describe('two bot processes sharing the database', () => {
  function startVoterProcess(plan: object): { child: ChildProcess; ready: Promise<void>; result: Promise<string> } {
    const child = spawn(process.execPath, ['--import', 'tsx', VOTER_PROCESS, JSON.stringify(plan)], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const ready = new Promise<void>((resolve, reject) => {
      const check = () => (stdout.includes('ready\n') ? resolve() : undefined);
      child.stdout!.on('data', check);
      child.once('exit', (code) => reject(new Error(`voter process exited (${code}) before it was ready: ${stderr}`)));
    });
    const result = once(child, 'exit').then(([code]) => {
      if (code !== 0) throw new Error(`voter process exited with ${code}: ${stderr}`);
      return stdout.split('\n').filter(Boolean).at(-1)!;
    });
    return { child, ready, result };
  }

  it('records every vote and runs each approved request exactly once when two processes vote and claim at the same moment', async () => {
    const requests = await Promise.all(Array.from({ length: 20 }, () => store.create(scaleRequest({ approvalsRequired: 2 }))));
    const requestIds = requests.map((outcome) => outcome.request!.id);
    const [first, second] = [
      startVoterProcess({ databaseUrl: database.db.url, requestIds, voters: APPROVERS.slice(0, 10), roles: ROLES }),
      startVoterProcess({ databaseUrl: database.db.url, requestIds, voters: APPROVERS.slice(10), roles: ROLES }),
    ];
    await Promise.all([first!.ready, second!.ready]);
    const startAt = Date.now() + 300;
    first!.child.stdin!.end(`go ${startAt}\n`);
    second!.child.stdin!.end(`go ${startAt}\n`);
    const reports = (await Promise.all([first!.result, second!.result])).map(
      (line) =>
        JSON.parse(line) as {
          startedAt: number;
          finishedAt: number;
          votes: Array<{ id: string; voter: string; code: string; changed: boolean }>;
          claims: Array<{ id: string; code: string }>;
        },
    );
    const votes = reports.flatMap((report) => report.votes);
    const claims = reports.flatMap((report) => report.claims);
    expect(votes).toHaveLength(requestIds.length * 20);

    for (const id of requestIds) {
      const counted = votes.filter((vote) => vote.id === id && vote.changed).map((vote) => vote.voter);
      expect(counted).toHaveLength(2);
      expect(new Set(await recordedVoters(id))).toEqual(new Set(counted));
      expect(claims.filter((claim) => claim.id === id && claim.code === 'claimed')).toHaveLength(1);
      expect((await store.get(id))?.state).toBe('executing');
    }
    // The two processes were at work at the same time, so their clicks met at the same rows.
    const [a, b] = reports as [(typeof reports)[0], (typeof reports)[0]];
    expect(Math.max(a.startedAt, b.startedAt)).toBeLessThan(Math.min(a.finishedAt, b.finishedAt));
  }, 60_000);
});
