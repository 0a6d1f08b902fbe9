/**
 * `npm run bench:stack`: the bot's stack commands against the same operations done with the
 * docker CLI, side by side in one run, on one compose-labelled stack of busybox health responders
 * (acgs-test/responder:1, host network, 127.0.0.1) named like our four services.
 *
 *   operation  bot (the one execution path: executeCommandLine + registry + Docker driver)   docker CLI
 *   status     `status`                                                                         docker ps -a --filter label=com.docker.compose.project=<p>
 *   stats      `stats`                                                                          docker stats --no-stream <every running container>
 *   restart    `restart policy-engine` (restart, then wait until healthy)                       docker restart <c> + docker inspect every 250 ms until healthy
 *
 * The two paths take turns within each repetition (bot first on even repetitions, CLI first on
 * odd), so drift in the machine's load falls on both. Each path gets BENCH_WARMUP unmeasured runs
 * first. The CLI side pays a process start per call, as an operator typing it does. The goal is
 * that the bot is no slower than the CLI (ratio bot/CLI at most 1).
 *
 *   BENCH_REPS      repetitions of status and stats per path (default 20)
 *   BENCH_RESTARTS  repetitions of restart per path (default 8)
 *   BENCH_WARMUP    unmeasured runs per operation and path (default 2)
 *
 * Needs the Docker Engine and the test images (scripts/provision.sh). Every container it starts is
 * removed at the end, also after a failure or Ctrl-C.
 */
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { promisify } from 'node:util';
import { build, type Histogram } from 'hdr-histogram-js';
import { executeCommandLine } from '../bot/command-path/index.js';
import { createCommandRegistry } from '../commands/index.js';
import { SERVICE_NAMES, type ServiceName } from '../services/kit/service-ports.js';
import { openCommandAccess } from '../test/testing/command-access.js';
import { stackOnlyServices } from '../test/testing/commands.js';
import { TEST_DOCKER_HOST, removeContainersWithLabel, requireDockerEngine } from '../test/testing/docker.js';
import { composeProjectLabel, startResponderProject, uniqueProjectName } from '../test/testing/responder-project.js';

const REPS = Number(process.env.BENCH_REPS ?? 20);
const RESTARTS = Number(process.env.BENCH_RESTARTS ?? 8);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
/** The driver's default health poll; the CLI loop polls as often. */
const POLL_MS = 250;
const RESTART_TARGET: ServiceName = 'policy-engine';
const OPERATOR = 'U0BENCH';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const project = uniqueProjectName('acgs-bench');
const projectLabel = composeProjectLabel(project);
const cliEnv = { ...process.env, DOCKER_HOST: TEST_DOCKER_HOST };

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { env: cliEnv, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

type Operation = 'status' | 'stats' | 'restart';
type Path = 'bot' | 'cli';

interface Measured {
  histogram: Histogram;
  samples: number;
}

const results = new Map<string, Measured>();
const key = (operation: Operation, path: Path) => `${operation}:${path}`;

function record(operation: Operation, path: Path, ms: number): void {
  let entry = results.get(key(operation, path));
  if (!entry) {
    // Microseconds, 1 µs to 10 min at 3 significant digits.
    entry = { histogram: build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 }), samples: 0 };
    results.set(key(operation, path), entry);
  }
  entry.histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
  entry.samples += 1;
}

async function timed(action: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

async function main(): Promise<void> {
  const engine = await requireDockerEngine({ waitMs: 5000 });
  // Ctrl-C while the stack starts or runs: every container of the project goes.
  process.once('SIGINT', () => {
    void removeContainersWithLabel(engine, projectLabel).finally(() => process.exit(130));
  });

  // The stack: one responder per service name, on the host network at a port of its own, under
  // the Docker driver with the settings `npm start` gives it (not the tests' short ones).
  const responders = await startResponderProject({ project, docker: engine, replicas: SERVICE_NAMES.map((service) => ({ service })), driver: {}, healthyWithinMs: 60_000 });
  let access: Awaited<ReturnType<typeof openCommandAccess>> | undefined;
  try {
    const containers = Object.fromEntries(SERVICE_NAMES.map((service, index) => [service, responders.containers[index]!.id]));
    const names = SERVICE_NAMES.map((service) => `${project}-${service}-1`);

    // The bot's side: the registry and the Docker driver as `npm start` builds them for a Docker stack.
    // The path's real guards: the authorization policy and the bot's audit trail (test PostgreSQL).
    access = await openCommandAccess({ roles: { oncall: [OPERATOR] } });
    const services = { ...(await stackOnlyServices(responders.stack)), authorization: access.authorization, ...(access.trail ? { trail: access.trail } : {}) };
    const registry = createCommandRegistry();
    const bot = async (line: string) => {
      const outcome = await executeCommandLine({ registry, services }, { line, actor: { id: OPERATOR }, origin: 'slash' });
      if (outcome.outcome !== 'ok' && outcome.outcome !== 'info') {
        throw new Error(`\`${line}\` answered ${outcome.outcome}: ${outcome.document.summary ?? outcome.document.title}`);
      }
    };

    const restartTarget = containers[RESTART_TARGET]!;
    const paths: Record<Operation, Record<Path, () => Promise<void>>> = {
      status: {
        bot: () => bot('status'),
        cli: async () => {
          const out = await docker('ps', '-a', '--filter', `label=${projectLabel}`, '--format', '{{.Names}}\t{{.Status}}');
          if (out.trim().split('\n').length !== SERVICE_NAMES.length) throw new Error(`docker ps listed: ${out}`);
        },
      },
      stats: {
        bot: () => bot('stats'),
        cli: async () => {
          const out = await docker('stats', '--no-stream', '--format', '{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}', ...names);
          if (out.trim().split('\n').length !== SERVICE_NAMES.length) throw new Error(`docker stats printed: ${out}`);
        },
      },
      restart: {
        bot: () => bot(`restart ${RESTART_TARGET}`),
        cli: async () => {
          await docker('restart', restartTarget);
          const deadline = Date.now() + 60_000;
          for (;;) {
            const health = (await docker('inspect', '--format', '{{.State.Health.Status}}', restartTarget)).trim();
            if (health === 'healthy') return;
            if (Date.now() > deadline) throw new Error(`${RESTART_TARGET} not healthy after docker restart (${health})`);
            await sleep(POLL_MS);
          }
        },
      },
    };

    const plan: Array<[Operation, number]> = [
      ['status', REPS],
      ['stats', REPS],
      ['restart', RESTARTS],
    ];
    console.log(`bench:stack: project ${project}, ${SERVICE_NAMES.length} services, engine ${TEST_DOCKER_HOST}, load ${loadavg().map((value) => value.toFixed(2)).join(' ')}`);
    for (const [operation, reps] of plan) {
      for (let index = 0; index < WARMUP; index += 1) {
        await paths[operation].bot();
        await paths[operation].cli();
      }
      for (let index = 0; index < reps; index += 1) {
        const order: Path[] = index % 2 === 0 ? ['bot', 'cli'] : ['cli', 'bot'];
        for (const path of order) record(operation, path, await timed(paths[operation][path]));
      }
      console.log(`  ${operation}: ${reps} repetitions per path done`);
    }
    report();
  } finally {
    await access?.close();
    await responders.close();
  }
}

function report(): void {
  const ms = (histogram: Histogram, percentile: number) => histogram.getValueAtPercentile(percentile) / 1000;
  const pad = (text: string, width: number) => text.padStart(width);
  console.log('');
  console.log(`${'operation'.padEnd(10)}${pad('n', 4)}${pad('bot p50', 11)}${pad('CLI p50', 11)}${pad('ratio', 8)}${pad('bot p95', 11)}${pad('CLI p95', 11)}${pad('ratio', 8)}`);
  for (const operation of ['status', 'stats', 'restart'] as const) {
    const bot = results.get(key(operation, 'bot'));
    const cli = results.get(key(operation, 'cli'));
    if (!bot || !cli) continue;
    const cells = [50, 95].flatMap((percentile) => {
      const b = ms(bot.histogram, percentile);
      const c = ms(cli.histogram, percentile);
      return [pad(`${b.toFixed(1)} ms`, 11), pad(`${c.toFixed(1)} ms`, 11), pad((b / c).toFixed(2), 8)];
    });
    console.log(`${operation.padEnd(10)}${pad(String(bot.samples), 4)}${cells.join('')}`);
  }
  console.log('');
  console.log('ratio = bot / docker CLI; at most 1.00 meets the goal (no slower than the CLI).');
  console.log(`load average afterwards: ${loadavg().map((value) => value.toFixed(2)).join(' ')}`);
}

main().catch((error: unknown) => {
  console.error('bench:stack failed:', error);
  process.exitCode = 1;
});
