/**
 * `npm run bench:deploy`: a rolling deploy of all four services of the Docker stack to a new
 * release (Stack.deploy of the Docker driver, service after service), side by side with
 * `docker-compose up -d` of the same images, in the same run and from the same starting point.
 *
 * The stack is OUR docker-compose.yml on the host network (test/fixtures/compose/release-images.yml)
 * running the images of releases v9.0.0 and v9.1.0 of the release fixture repository, built
 * before any timing starts. Each procedure starts from a fresh stack at v9.0.0 that serves and is
 * healthy, and moves it to v9.1.0. Figures per procedure:
 *
 *   total       until the procedure returned; until every service answered 200 with 9.1.0; until
 *               the engine's health check said healthy for all four
 *   no replica  per service, the longest time its /health answered nothing but failures, from the
 *               bench's own polls every 50 ms (the honest figure), beside DeployReport.unavailableMs
 *   start       per service, from the new container's start to its first 200 (the goal for a
 *               service that cannot run twice: no replica for at most this long)
 *
 *   BENCH_ROUNDS            rounds per health check interval; each runs both procedures, taking
 *                           turns at going first (default 1)
 *   BENCH_HEALTH_INTERVALS  the services' Docker health check intervals to run with, comma
 *                           separated; `compose` is docker-compose.yml's own 15 s (default compose,1s)
 *
 * Needs the Docker Engine, docker-compose, the test images (scripts/provision.sh), PostgreSQL and
 * Redis. Every container, volume, database, Redis key and image tag it creates is removed at the
 * end, also after a failure or Ctrl-C; the images of provision stay.
 */
import { loadavg } from 'node:os';
import { createDockerStack } from '../services/stack/docker/index.js';
import type { Stack } from '../services/stack/stack.js';
import { TEST_DOCKER_HOST, requireDockerEngine } from '../test/testing/docker.js';
import { openReleaseComposeStack, type ReleaseComposeStack } from '../test/fixtures/compose/release-stack.js';
import { watchHealth, type HealthWatch } from './deploy/health-watch.js';
import { printFigures } from './deploy/print-figures.js';
import { ROLLOUT_ORDER, runProcedure, type ProcedureFigures, type ProcedureName } from './deploy/procedures.js';
import { buildBenchReleases, type BenchReleases } from './deploy/releases.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const HEALTH_INTERVALS = (process.env.BENCH_HEALTH_INTERVALS || 'compose,1s').split(',').map((word) => word.trim());

const load = () => loadavg().map((value) => value.toFixed(2)).join(' ');

async function main(): Promise<void> {
  if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`BENCH_ROUNDS=${process.env.BENCH_ROUNDS}: a whole number of rounds, at least 1`);
  for (const interval of HEALTH_INTERVALS) {
    if (interval !== 'compose' && !/^\d+(ms|s)$/.test(interval)) {
      throw new Error(`BENCH_HEALTH_INTERVALS=${process.env.BENCH_HEALTH_INTERVALS}: "${interval}" is neither compose nor a duration such as 1s or 500ms`);
    }
  }
  const docker = await requireDockerEngine({ waitMs: 5000 });
  let releases: BenchReleases | undefined;
  let compose: ReleaseComposeStack | undefined;
  let stack: Stack | undefined;
  let watch: HealthWatch | undefined;
  const cleanup = async () => {
    await watch?.stop();
    await stack?.close();
    await compose?.close();
    await releases?.remove();
  };
  process.once('SIGINT', () => {
    void cleanup().finally(() => process.exit(130));
  });
  try {
    console.log(`bench:deploy: building the releases (not timed), load ${load()}`);
    releases = await buildBenchReleases(docker, (line) => console.log(`  ${line}`));
    compose = await openReleaseComposeStack(docker, 'acgs-benchdeploy');
    // The driver with the settings `npm start` gives it for a Docker stack.
    stack = createDockerStack({ dockerHost: TEST_DOCKER_HOST, project: compose.project });
    watch = watchHealth(compose.ports);
    console.log(
      `bench:deploy: project ${compose.project}, ${releases.from.served} -> ${releases.to.served}, order ${ROLLOUT_ORDER.join(', ')}, ` +
        `health check intervals ${HEALTH_INTERVALS.join(', ')}, load ${load()}`,
    );
    const figures: ProcedureFigures[] = [];
    for (const interval of HEALTH_INTERVALS) {
      const healthInterval = interval === 'compose' ? undefined : interval;
      for (let round = 0; round < ROUNDS; round += 1) {
        const order: ProcedureName[] = round % 2 === 0 ? ['rolling deploy', 'docker-compose up -d'] : ['docker-compose up -d', 'rolling deploy'];
        for (const name of order) {
          figures.push(await runProcedure({ docker, compose, stack, watch, from: releases.from, to: releases.to, healthInterval }, name));
          console.log(`  health check every ${interval}, round ${round + 1}: ${name} done, load ${load()}`);
        }
      }
    }
    printFigures(figures);
    console.log(`load average afterwards: ${load()}`);
  } finally {
    await cleanup();
  }
}

main().catch((error: unknown) => {
  console.error('bench:deploy failed:', error);
  process.exitCode = 1;
});
