/**
 * Following a run from the lines the run store gives, poll after poll: each attempt's start and end
 * told once and in order (also when one poll sees an attempt already finished), undo steps named
 * as such, an abort request told once, and the three ways a follow ends.
 */
import { describe, expect, it } from 'vitest';
import type { RunAttemptInfo, RunDetailInfo } from '../commands/ports.js';
import { followRun, type FollowLine } from './cli-follow.js';

const ID = '1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed';
const STEPS = [
  { index: 0, id: 'one', kind: 'act', title: 'First thing', idempotent: true, skippable: true, canBeUndone: true },
  { index: 1, id: 'two', kind: 'verify', title: 'Second thing', idempotent: true, skippable: true, canBeUndone: false },
];

function detail(state: string, attempts: Partial<RunAttemptInfo>[], extra: Partial<RunDetailInfo['run']> = {}): RunDetailInfo {
  return {
    run: { id: ID, runbook: 'demo', version: 'v', args: {}, requester: 'cli:me', origin: 'cli', state, reason: null, detail: null, decision: null, decidedBy: null, createdAt: '', updatedAt: '', runner: state === 'pending' ? null : 'r1', ...extra },
    steps: STEPS,
    attempts: attempts.map((attempt) => ({ stepIndex: 0, stepId: 'one', attempt: 1, action: 'run', outcome: 'running', startedAt: '2026-12-06T10:00:00.000Z', finishedAt: null, error: null, ...attempt })),
  };
}

/** A port whose `get` answers the scripted details one poll after another, then the last one again. */
function scripted(...polls: RunDetailInfo[]) {
  let at = 0;
  return { get: async () => polls[Math.min(at++, polls.length - 1)]! };
}

async function follow(runs: ReturnType<typeof scripted>, options: { unclaimedMs?: number; signal?: AbortSignal; now?: () => number } = {}) {
  const lines: FollowLine[] = [];
  const end = await followRun({ runs, runId: ID, pollMs: 0, report: (line) => lines.push(line), ...options });
  return { end, lines: lines.map((line) => `${line.tone} ${line.text}${line.detail ? ` | ${line.detail}` : ''}`) };
}

const done = { outcome: 'done', finishedAt: '2026-12-06T10:00:01.500Z' };

describe('followRun', () => {
  it('tells each start and end once, in order, with duration and detail, until the run ends', async () => {
    const { end, lines } = await follow(
      scripted(
        detail('pending', []),
        detail('running', [{}]),
        detail('running', [{}]),
        detail('running', [{ ...done, output: { token: 'secret-value-123', n: 1 } }, { stepIndex: 1, stepId: 'two' }]),
        // One poll sees step 2 start and fail at once: its start is still told first.
        detail('failed', [{ ...done }, { stepIndex: 1, stepId: 'two', outcome: 'failed', finishedAt: '2026-12-06T10:00:00.020Z', error: 'it broke' }]),
      ),
    );
    expect(end.how).toBe('ended');
    expect(end.detail.run.state).toBe('failed');
    expect(lines).toEqual([
      'info Step 1/2 First thing: started',
      'ok Step 1/2 First thing: done in 1.5 s | {"token":"[redacted]","n":1}',
      'info Step 2/2 Second thing: started',
      'fail Step 2/2 Second thing: failed in 20 ms | it broke',
    ]);
  });

  it('tells each new progress of a running step once, with what looks like a credential redacted, and the last one before the end', async () => {
    const progress = (text: string, second: number) => ({ progress: { text, at: `2026-12-06T10:00:0${second}.000Z` } });
    const { lines } = await follow(
      scripted(
        detail('running', [{}]),
        detail('running', [{ ...progress('sample 1 of 60: healthy', 1) }]),
        detail('running', [{ ...progress('sample 1 of 60: healthy', 1) }]),
        detail('running', [{ ...progress('sample 9 of 60: token=abcdef0123456789abcdef', 3) }]),
        // The last report was written with the step's end: told before the end.
        detail('succeeded', [{ ...done, ...progress('sample 60 of 60: passed', 5) }]),
      ),
    );
    expect(lines).toEqual([
      'info Step 1/2 First thing: started',
      'info Step 1/2 First thing: sample 1 of 60: healthy',
      'info Step 1/2 First thing: sample 9 of 60: token=[redacted]',
      'info Step 1/2 First thing: sample 60 of 60: passed',
      'ok Step 1/2 First thing: done in 1.5 s',
    ]);
  });

  it('names retries and undo steps, and tells an abort request once', async () => {
    const { end, lines } = await follow(
      scripted(
        detail('running', [{ ...done }, { stepIndex: 1, stepId: 'two', attempt: 2 }]),
        detail('aborting', [{ ...done }, { stepIndex: 1, stepId: 'two', attempt: 2, outcome: 'interrupted', finishedAt: '2026-12-06T10:00:00.100Z' }], { decidedBy: 'cli:me' }),
        detail('aborting', [{ ...done }, { stepIndex: 1, stepId: 'two', attempt: 2, outcome: 'interrupted', finishedAt: '2026-12-06T10:00:00.100Z' }, { action: 'compensate' }], { decidedBy: 'cli:me' }),
        detail('aborted', [{ ...done }, { stepIndex: 1, stepId: 'two', attempt: 2, outcome: 'interrupted', finishedAt: '2026-12-06T10:00:00.100Z' }, { action: 'compensate', outcome: 'compensated', finishedAt: '2026-12-06T10:00:00.300Z' }]),
      ),
    );
    expect(end.how).toBe('ended');
    expect(lines).toEqual([
      'info Step 1/2 First thing: started',
      'ok Step 1/2 First thing: done in 1.5 s',
      'info Step 2/2 Second thing (attempt 2): started',
      'warn Abort requested (cli:me): the step at hand stops, then done steps are undone where they can be',
      'warn Step 2/2 Second thing (attempt 2): interrupted in 100 ms',
      'info Undo of step 1/2 First thing: started',
      'ok Undo of step 1/2 First thing: undone in 300 ms',
    ]);
  });

  it('tells a skipped step as skipped by whom, never as started or done', async () => {
    const { lines } = await follow(
      scripted(
        detail('pending', [{ ...done }, { stepIndex: 1, stepId: 'two', attempt: 2, outcome: 'skipped', startedAt: '2026-12-06T10:01:00.000Z', finishedAt: '2026-12-06T10:01:00.000Z', error: 'skipped by cli:me' }]),
        detail('succeeded', [{ ...done }, { stepIndex: 1, stepId: 'two', attempt: 2, outcome: 'skipped', startedAt: '2026-12-06T10:01:00.000Z', finishedAt: '2026-12-06T10:01:00.000Z', error: 'skipped by cli:me' }]),
      ),
    );
    expect(lines).toEqual(['info Step 1/2 First thing: started', 'ok Step 1/2 First thing: done in 1.5 s', 'info Step 2/2 Second thing: skipped by cli:me']);
  });

  it('from a decision on, tells only what ended at or after it', async () => {
    const failed = { stepIndex: 1, stepId: 'two', outcome: 'failed', finishedAt: '2026-12-06T10:00:02.000Z', error: 'no' };
    const skip = { stepIndex: 1, stepId: 'two', attempt: 2, outcome: 'skipped', startedAt: '2026-12-06T10:01:00.000Z', finishedAt: '2026-12-06T10:01:00.000Z', error: 'skipped by cli:me' };
    const lines: FollowLine[] = [];
    await followRun({ runs: scripted(detail('succeeded', [{ ...done }, failed, skip])), runId: ID, pollMs: 0, since: '2026-12-06T10:01:00.000Z', report: (line) => lines.push(line) });
    expect(lines.map((line) => line.text)).toEqual(['Step 2/2 Second thing: skipped by cli:me']);
  });

  it('stops at a decision', async () => {
    const { end } = await follow(scripted(detail('needs_decision', [{ outcome: 'failed', finishedAt: '2026-12-06T10:00:00.100Z', error: 'no' }])));
    expect(end.how).toBe('ended');
    expect(end.detail.run.state).toBe('needs_decision');
  });

  it('gives up on a run no runner claims once unclaimedMs has passed, not before', async () => {
    let clock = 0;
    const runs = scripted(detail('pending', []));
    const { end } = await follow(runs, { unclaimedMs: 1000, now: () => (clock += 100) });
    expect(end.how).toBe('unclaimed');
    // Ten polls of 100 ms: the first at 100, the last one at 1000 or just past it.
    expect(clock).toBeGreaterThanOrEqual(1000);
    expect(clock).toBeLessThanOrEqual(1200);
  });

  it('a claimed run is never given up as unclaimed, however long it waits', async () => {
    let clock = 0;
    let polls = 0;
    const waiting = detail('running', [{}]);
    const runs = { get: async () => (++polls < 50 ? waiting : detail('succeeded', [{ ...done }])) };
    const { end } = await follow(runs, { unclaimedMs: 100, now: () => (clock += 100) });
    expect(end.how).toBe('ended');
    expect(polls).toBe(50);
  });

  it('stops when the signal fires, after one last look', async () => {
    const controller = new AbortController();
    let polls = 0;
    const runs = {
      get: async () => {
        polls += 1;
        if (polls === 3) controller.abort();
        return detail('running', polls >= 3 ? [{}] : []);
      },
    };
    const { end, lines } = await follow(runs, { signal: controller.signal });
    expect(end.how).toBe('stopped');
    expect(polls).toBe(3);
    expect(lines).toEqual(['info Step 1/2 First thing: started']);
  });

  it('tells a gate that waits for approvers once per request, with its id, where it is and its line; not before the request exists', async () => {
    const atGate = (request?: NonNullable<RunDetailInfo['gate']>['request']): RunDetailInfo => ({ ...detail('running', [{ ...done }, { stepIndex: 1, stepId: 'two' }]), gate: { stepId: 'two', ...(request ? { request } : {}) } });
    const first = { id: 'req-1', state: 'pending', approvalsRequired: 2, approvedBy: [], channels: ['C0OPS'] };
    const { end, lines } = await follow(
      scripted(
        atGate(),
        atGate({ id: 'req-1' }),
        atGate(first),
        atGate({ ...first, approvedBy: ['U0A'] }),
        // Denied, retried: the gate asks again with a new request, told again (no channel known yet).
        atGate({ id: 'req-2', state: 'pending', approvalsRequired: 2, approvedBy: [] }),
        detail('succeeded', [{ ...done }, { stepIndex: 1, stepId: 'two', ...done }]),
      ),
    );
    expect(end.how).toBe('ended');
    const gateLines = lines.filter((line) => line.includes('Waiting for approvers'));
    expect(gateLines).toEqual([
      `warn Waiting for approvers at "Second thing": approval request req-1 (2 approvals needed, pending); approvers vote with its buttons in channel C0OPS | It asks for \`run pass ${ID} demo two\`; the requester cannot approve it. Ctrl-C stops following; the run goes on.`,
      `warn Waiting for approvers at "Second thing": approval request req-2 (2 approvals needed, pending); approvers vote with its buttons in Slack or the local console | It asks for \`run pass ${ID} demo two\`; the requester cannot approve it. Ctrl-C stops following; the run goes on.`,
    ]);
    expect(lines.indexOf(gateLines[0]!)).toBeGreaterThan(lines.indexOf('info Step 2/2 Second thing: started'));
  });
});
