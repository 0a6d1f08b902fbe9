/**
 * A second bot replica for the cross-process tests: `node --import tsx voter-process.ts '<json>'`.
 * It opens its own pool on the shared database, says "ready", waits for "go <epoch ms>" on stdin
 * (so that both processes start at the same moment), then has each of its voters click Approve on every
 * request and try to run it at once, as the Slack layer will. It prints one JSON line of outcomes.
 */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPool } from '../../../services/kit/postgres.js';
import { createApprovalStore } from '../store.js';

interface Plan {
  databaseUrl: string;
  requestIds: string[];
  voters: string[];
  roles: string[];
}

const plan = JSON.parse(process.argv[2] ?? '{}') as Plan;
const pool = createPool({ databaseUrl: plan.databaseUrl, max: plan.voters.length, applicationName: `acgs-approvals-voter-${process.pid}` });
const store = createApprovalStore({ pool });

try {
  // Warm the pool first, so that connecting does not stagger the clicks.
  await Promise.all(plan.voters.map(() => pool.query('SELECT 1')));
  process.stdout.write('ready\n');
  // The parent answers "go <epoch ms>": both processes start at that same instant, not when
  // each happens to read its pipe.
  process.stdin.setEncoding('utf8');
  let input = '';
  while (!/go \d+\n/.test(input)) {
    const [chunk] = (await once(process.stdin, 'data')) as [string];
    input += chunk;
  }
  // An open stdin would keep this process alive after its work is done.
  process.stdin.destroy();
  const startAt = Number(/go (\d+)/.exec(input)![1]);
  await sleep(Math.max(0, startAt - Date.now()));

  const startedAt = Date.now();
  const votes: Array<{ id: string; voter: string; code: string; changed: boolean }> = [];
  const claims: Array<{ id: string; voter: string; code: string }> = [];
  await Promise.all(
    plan.requestIds.flatMap((id) =>
      plan.voters.map(async (voter) => {
        const vote = await store.vote(id, voter, plan.roles, 'approve');
        votes.push({ id, voter, code: vote.code, changed: vote.changed });
        const claim = await store.claimExecution(id);
        claims.push({ id, voter, code: claim.code });
      }),
    ),
  );
  process.stdout.write(`${JSON.stringify({ pid: process.pid, startedAt, finishedAt: Date.now(), votes, claims })}\n`);
} finally {
  await pool.end();
}
