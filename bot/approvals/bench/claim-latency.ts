/**
 * The approval store's share of issue 5's "last approving click to the action starting" (p99 under
 * 300 ms end to end): from the start of the vote that completes a request to the end of the
 * claimExecution that wins it, on the real PostgreSQL. Prints figures; asserts nothing.
 *
 *   quiet        one approver at a time: the second approval, then the claim
 *   contended    20 approvers click at once on a 2-approval request and every click handler then
 *                tries to claim it (the exactly-once path under the heaviest realistic load);
 *                measured from the start of the vote that returned "approved" to the winning claim
 *
 *   npx tsx bot/approvals/bench/claim-latency.ts
 * Env: BENCH_REQUESTS (default 300 per scenario), TEST_DATABASE_URL (where the throw-away database is made).
 */
import os from 'node:os';
import { build, type Histogram } from 'hdr-histogram-js';
import { createApprovalStore, type ApprovalStore } from '../store.js';
import { approvalTestDatabase, approver, scaleRequest } from '../testing/fixtures.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
const APPROVERS = Array.from({ length: 20 }, (_, index) => approver(index));
const ROLES = ['approvers'];

const histogram = (): Histogram => build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
const micros = (since: number) => Math.max(1, Math.round((performance.now() - since) * 1000));

async function quiet(store: ApprovalStore, requests: number) {
  const vote = histogram();
  const claim = histogram();
  const total = histogram();
  for (let n = 0; n < requests; n += 1) {
    const { id } = (await store.create(scaleRequest({ approvalsRequired: 2 }))).request!;
    await store.vote(id, approver(1), ROLES, 'approve');
    const started = performance.now();
    const last = await store.vote(id, approver(2), ROLES, 'approve');
    const voted = performance.now();
    const won = await store.claimExecution(id);
    if (last.code !== 'approved' || won.code !== 'claimed') throw new Error(`unexpected ${last.code} / ${won.code}`);
    vote.recordValue(Math.max(1, Math.round((voted - started) * 1000)));
    claim.recordValue(micros(voted));
    total.recordValue(micros(started));
  }
  return { vote, claim, total };
}

async function contended(store: ApprovalStore, requests: number) {
  const total = histogram();
  for (let n = 0; n < requests; n += 1) {
    const { id } = (await store.create(scaleRequest({ approvalsRequired: 2 }))).request!;
    let approvingVoteStarted: number | undefined;
    let claimedAt: number | undefined;
    await Promise.all(
      APPROVERS.map(async (voter) => {
        const started = performance.now();
        const vote = await store.vote(id, voter, ROLES, 'approve');
        if (vote.code === 'approved') approvingVoteStarted = started;
        const claim = await store.claimExecution(id);
        if (claim.code === 'claimed') claimedAt = performance.now();
      }),
    );
    if (approvingVoteStarted === undefined || claimedAt === undefined) throw new Error('a round ended without an approval and a claim');
    // The winning claim can be another approver's, made before the approving vote returned.
    total.recordValue(Math.max(1, Math.round((claimedAt - approvingVoteStarted) * 1000)));
  }
  return { total };
}

const ms = (h: Histogram, p: number) => (h.getValueAtPercentile(p) / 1000).toFixed(2);
const row = (name: string, h: Histogram) =>
  `${name.padEnd(50)} ${ms(h, 50).padStart(7)} ${ms(h, 95).padStart(7)} ${ms(h, 99).padStart(7)} ${(h.maxValue / 1000).toFixed(2).padStart(7)}`;

const database = await approvalTestDatabase();
try {
  const pool = database.pool(20);
  const store = createApprovalStore({ pool });
  await Promise.all(APPROVERS.map(() => pool.query('SELECT 1')));
  // Warm-up: JIT, prepared plans, the connections.
  await quiet(store, 30);
  await contended(store, 10);

  const q = await quiet(store, REQUESTS);
  const c = await contended(store, REQUESTS);
  console.log(`approval store latency, ${REQUESTS} requests per scenario; ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`${'ms'.padEnd(50)} ${'p50'.padStart(7)} ${'p95'.padStart(7)} ${'p99'.padStart(7)} ${'max'.padStart(7)}`);
  console.log(row('quiet: approving vote', q.vote));
  console.log(row('quiet: claimExecution', q.claim));
  console.log(row('quiet: approving vote -> claimed', q.total));
  console.log(row('contended (20 clicks): approving vote -> claimed', c.total));
} finally {
  await database.close();
}
