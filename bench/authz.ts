/**
 * `npm run bench:authz`: in-process authorization decisions (bot/authorization: the committed
 * policy.wasm with the default rules), the way the command path calls Authorizer.decide.
 *
 * The input mix is what a busy channel sends: mostly read-only commands from people with and
 * without roles, Level 1 actions from on-call, some escalated requests, refusals (no role,
 * unknown commands), lockdown and strict mode now and then, and a rare break-glass. Inputs are
 * built before measuring, with varied users, arguments and times, so the figures are the
 * decision alone: serialising the input into the wasm, evaluating, reading the decision back.
 *
 * 1. Latency: every decision timed on its own (hrtime), nanosecond histogram, after a warm-up.
 * 2. Throughput: decisions per second in a tight loop without per-call timing.
 *
 * Target (issue 5): p99 at most 50 microseconds. BENCH_SECONDS sets each phase's length.
 */
import { cpus, loadavg } from 'node:os';
import { build } from 'hdr-histogram-js';
import { Authorizer } from '../bot/authorization/authorizer.js';
import { defaultAuthorizationData } from '../bot/authorization/data.js';
import type { AuthorizationInput, AuthorizationLevel } from '../bot/authorization/input.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP_SECONDS = Math.min(2, SECONDS);
const P99_TARGET_US = 50;
const POOL_SIZE = 4096;

/** [weight, command, registry level, roles, extras] */
type Shape = [number, string, AuthorizationLevel, string[], Partial<AuthorizationInput>?];
const SHAPES: Shape[] = [
  [18, 'health', 0, ['oncall']],
  [10, 'metrics', 0, []],
  [8, 'status', 0, ['approvers']],
  [6, 'logs', 0, ['oncall']],
  [5, 'violations', 0, []],
  [4, 'cache stats', 0, ['oncall']],
  [4, 'db connections', 0, ['admins']],
  [3, 'audit verify', 0, []],
  [3, 'help', 0, []],
  [8, 'restart', 1, ['oncall']],
  [4, 'cache warm', 1, ['oncall']],
  [3, 'restart', 1, []],
  [5, 'scale', 2, ['oncall']],
  [3, 'strict-mode', 2, ['oncall']],
  [2, 'cache clear', 2, ['admins']],
  [2, 'db kill-idle', 2, ['approvers']],
  [2, 'redis flush', 3, ['oncall']],
  [1, 'lockdown lift', 3, ['oncall'], { modes: { strict: true, lockdown: true } }],
  [2, 'lockdown', 4, ['oncall']],
  [2, 'scale', 2, ['oncall'], { modes: { strict: false, lockdown: true } }],
  [1, 'health', 0, [], { modes: { strict: true, lockdown: true } }],
  [1, 'rollback', 3, ['admins']],
  [1, 'lockdown', 4, ['admins'], { break_glass: { reason: 'safety violations at 40 per minute' } }],
];

function inputPool(): AuthorizationInput[] {
  const total = SHAPES.reduce((sum, [weight]) => sum + weight, 0);
  const now = Date.now();
  const pool: AuthorizationInput[] = [];
  for (let i = 0; i < POOL_SIZE; i++) {
    let pick = (i * 7919) % total;
    const shape = SHAPES.find(([weight]) => (pick -= weight) < 0)!;
    const [, name, level, roles, extra] = shape;
    pool.push({
      user: { id: `U0BENCH${i % 97}`, roles },
      command: { name, args: name === 'scale' ? { service: 'policy-engine', replicas: 1 + (i % 4) } : name === 'logs' ? { service: 'audit-engine', tail: 100 } : {}, level },
      channel: i % 5 === 0 ? { id: 'C0ACGSALERT', purpose: 'alerts' } : { id: 'C0ACGSOPS01', purpose: 'ops' },
      modes: { strict: false, lockdown: false },
      time: (now + i * 1000) * 1e6,
      ...extra,
    });
  }
  return pool;
}

async function main(): Promise<void> {
  const authorizer = await Authorizer.load({ data: defaultAuthorizationData() });
  if (!authorizer.status.ok) throw new Error(`the authorization policy did not load: ${authorizer.status.problem}`);
  const pool = inputPool();
  const codes = new Map<string, number>();
  for (const input of pool) {
    const code = authorizer.decide(input).code;
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  if (codes.has('policy_unavailable')) throw new Error('some inputs fell back: the benchmark would not measure the policy');

  console.log(`bench:authz: policy ${authorizer.status.version}, ${pool.length} prepared inputs; decisions in the mix: ${[...codes].map(([code, n]) => `${code} ${((100 * n) / pool.length).toFixed(0)}%`).join(', ')}`);
  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), load average ${loadavg().map((load) => load.toFixed(2)).join(' ')}, Node ${process.version}`);

  // Warm-up: lets V8 optimise the JS around the wasm call.
  let sink = 0;
  const warmUntil = performance.now() + WARMUP_SECONDS * 1000;
  for (let i = 0; performance.now() < warmUntil; i++) sink += authorizer.decide(pool[i % POOL_SIZE]!).level;

  const latency = build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: 3 });
  const timedUntil = process.hrtime.bigint() + BigInt(SECONDS * 1e9);
  let timed = 0;
  for (let i = 0; ; i++) {
    const started = process.hrtime.bigint();
    sink += authorizer.decide(pool[i % POOL_SIZE]!).level;
    const ended = process.hrtime.bigint();
    latency.recordValue(Number(ended - started));
    timed++;
    if (ended > timedUntil) break;
  }

  let decisions = 0;
  const loopStarted = performance.now();
  const loopUntil = loopStarted + SECONDS * 1000;
  while (performance.now() < loopUntil) {
    for (let j = 0; j < 1000; j++) sink += authorizer.decide(pool[(decisions + j) % POOL_SIZE]!).level;
    decisions += 1000;
  }
  const loopSeconds = (performance.now() - loopStarted) / 1000;

  const us = (ns: number) => (ns / 1000).toFixed(1);
  const p99 = latency.getValueAtPercentile(99);
  console.log('');
  console.log(`latency (${timed} decisions timed one by one over ${SECONDS} s, microseconds):`);
  console.log(`  p50 ${us(latency.getValueAtPercentile(50))}  p90 ${us(latency.getValueAtPercentile(90))}  p99 ${us(p99)}  p99.9 ${us(latency.getValueAtPercentile(99.9))}  max ${us(latency.maxValue)}  mean ${us(latency.mean)}`);
  console.log(`throughput: ${Math.round(decisions / loopSeconds).toLocaleString('en-US')} decisions/s on one core (${decisions} decisions in ${loopSeconds.toFixed(1)} s)`);
  console.log(`target: p99 <= ${P99_TARGET_US} us: ${p99 / 1000 <= P99_TARGET_US ? 'met' : 'NOT met'}`);
  if (sink < 0) console.log(sink); // keeps the results alive for the optimiser
}

main().catch((error: unknown) => {
  console.error(`bench:authz: ${(error as Error).message}`);
  process.exitCode = 1;
});
