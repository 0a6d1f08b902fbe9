/**
 * The two ways of moving the stack from one release to the next that the bench compares, each
 * from the same starting point (all four services up and healthy at the old release) and each
 * measured the same way: the bench's own /health samples, and the containers' start times.
 */
import type Docker from 'dockerode';
import type { ServiceName } from '../../services/kit/service-ports.js';
import type { DeployReport, Stack } from '../../services/stack/stack.js';
import { isHealthy, waitForContainer } from '../../test/testing/docker.js';
import type { ReleaseComposeStack } from '../../test/fixtures/compose/release-stack.js';
import type { HealthWatch } from './health-watch.js';
import { firstServing, longestOutage, type Outage } from './outage.js';
import type { BenchRelease } from './releases.js';

export type ProcedureName = 'rolling deploy' | 'docker-compose up -d';

export interface ServiceFigures {
  outage: Outage;
  /** From the new container's start (the engine's StartedAt) to its first 200 with the new version. */
  startMs: number | undefined;
  /** Stack.deploy's own report (rolling deploy only). */
  report?: DeployReport;
}

export interface ProcedureFigures {
  name: ProcedureName;
  /** The services' Docker health check interval; undefined: docker-compose.yml's. */
  healthInterval: string | undefined;
  /** Until the procedure returned: the last Stack.deploy, or the docker-compose process. */
  returnedMs: number;
  /** Until every service answered /health 200 with the new version. */
  servingMs: number;
  /** Until the engine's health check said healthy for every service (what the rolling deploy waits for). */
  engineHealthyMs: number;
  services: Record<ServiceName, ServiceFigures>;
}

/** Dependencies first, as a rollout would: the policy and audit engines, then the services that call them. */
export const ROLLOUT_ORDER: readonly ServiceName[] = ['policy-engine', 'audit-engine', 'evolution-oversight', 'sandbox-controller'];

const WAIT_MS = 180_000;
/** Samples after the end, so that a gap still open at the end is seen as one. */
const TAIL_MS = 1000;

export interface ProcedureContext {
  docker: Docker;
  compose: ReleaseComposeStack;
  stack: Stack;
  watch: HealthWatch;
  from: BenchRelease;
  to: BenchRelease;
  healthInterval: string | undefined;
}

async function allEngineHealthy(context: ProcedureContext): Promise<void> {
  await Promise.all(ROLLOUT_ORDER.map((service) => waitForContainer(context.docker, context.compose.containerName(service), isHealthy, WAIT_MS)));
}

/** The stack at the old release, serving and healthy in the engine's eyes, before the clock starts. */
async function startAtOldRelease(context: ProcedureContext): Promise<void> {
  await context.compose.up(context.from.tag, context.healthInterval);
  await context.watch.servingEverywhere(context.from.served, Date.now(), WAIT_MS);
  await allEngineHealthy(context);
  await new Promise((resolve) => setTimeout(resolve, TAIL_MS));
}

export async function runProcedure(context: ProcedureContext, name: ProcedureName): Promise<ProcedureFigures> {
  await startAtOldRelease(context);
  const reports = new Map<ServiceName, DeployReport>();
  const started = Date.now();
  if (name === 'rolling deploy') {
    for (const service of ROLLOUT_ORDER) {
      reports.set(service, await context.stack.deploy(service, { kind: 'image', image: context.to.images[service] }, { timeoutMs: WAIT_MS }));
    }
  } else {
    await context.compose.up(context.to.tag, context.healthInterval);
  }
  const returned = Date.now();
  const serving = await context.watch.servingEverywhere(context.to.served, started, WAIT_MS);
  await allEngineHealthy(context);
  const engineHealthy = Date.now();
  await new Promise((resolve) => setTimeout(resolve, TAIL_MS));
  const end = Date.now();

  const services = {} as Record<ServiceName, ServiceFigures>;
  for (const service of ROLLOUT_ORDER) {
    const info = await context.docker.getContainer(context.compose.containerName(service)).inspect();
    const startedAt = Date.parse(info.State.StartedAt);
    const samples = context.watch.samples(service);
    const firstNew = firstServing(samples, context.to.served, startedAt);
    const report = reports.get(service);
    services[service] = {
      outage: longestOutage(samples, started, end),
      startMs: firstNew === undefined ? undefined : firstNew - startedAt,
      ...(report ? { report } : {}),
    };
  }
  await context.compose.down();
  return { name, healthInterval: context.healthInterval, returnedMs: returned - started, servingMs: serving - started, engineHealthyMs: engineHealthy - started, services };
}
