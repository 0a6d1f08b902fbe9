/**
 * The deploy, hotfix and rollback runbooks on real things: the four services of `npm start` on
 * spare loopback ports (embedded PGlite), the release fixture repository (tags v9.0.0 ...
 * v9.4.0-fragile), the local release builder, the run store and the deployment records on the
 * real PostgreSQL, the backups of the embedded databases. The notices port records what it was
 * given (Slack delivery has its own tests in bot/notices): every other port is the product's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCommandDependencies } from '../../../commands/dependencies.js';
import type { ServiceName } from '../../../services/kit/service-ports.js';
import { startLocalServices, type LocalServices } from '../../../services/stack/local/local-services.js';
import { createLocalStack } from '../../../services/stack/local/local-stack.js';
import { createLocalReleaseBuilder } from '../../../services/stack/releases/local-releases.js';
import { createReleaseSource } from '../../../services/stack/releases/release-source.js';
import type { Stack } from '../../../services/stack/stack.js';
import { createReleaseRepo, type ReleaseRepo } from '../../../test/testing/release-repo.js';
import { unusedLoopbackPort } from '../../../test/testing/loopback.js';
import { createBackupPorts } from '../../backup/backup-ports.js';
import type { AnyRunbook } from '../../engine/definition.js';
import type { DeploymentNotice, DeploymentRecords, NoticeDelivery, StepPorts } from '../../engine/ports.js';
import { createRunbookRegistry } from '../../engine/registry.js';
import { createRunExecutor, type RunExecutor } from '../../engine/run-executor.js';
import type { RunRecord } from '../../engine/run-store.js';
import { runbookTestDatabase, type RunbookTestDatabase } from '../../engine/testing/database.js';
import { DEFAULT_DEPLOY_SETTINGS, type DeploySettings } from '../deploy-settings.js';
import { observeInitialVersion } from '../initial-versions.js';
import { createReleaseRecords, migrateReleaseRecords } from '../release-records.js';

const ALL_SERVICES: readonly ServiceName[] = ['sandbox-controller', 'evolution-oversight', 'audit-engine', 'policy-engine'];
import { deployRunbooks } from '../index.js';

export interface DeployHarness {
  repo: ReleaseRepo;
  stateDir: string;
  ports: Record<ServiceName, number>;
  services: LocalServices;
  stack: Stack;
  t: RunbookTestDatabase;
  records: DeploymentRecords;
  /** Every notice the runbooks sent, in order. */
  notices: DeploymentNotice[];
  stepPorts: StepPorts;
  executor: RunExecutor;
  /** Submits the runbook as the on-call and returns the run once the executor has nothing left to do. */
  run(runbook: string, args: Record<string, string>): Promise<RunRecord>;
  settle(runId: string): Promise<RunRecord>;
  /** The output of a step's attempt that completed. */
  output(runId: string, step: string): Promise<unknown>;
  /** GET /health of a service: its status code and the version it reports. */
  health(service: ServiceName): Promise<{ status: number; version: string }>;
  close(): Promise<void>;
}

/** Short windows: a test watches seconds, not the runbook's 15 minutes. */
export const TEST_DEPLOY_SETTINGS: DeploySettings = { ...DEFAULT_DEPLOY_SETTINGS, watchMs: 3000, watchEveryMs: 500, hotfixWatchMs: 2000, healthTimeoutMs: 30_000, minFreeDiskBytes: 1024 ** 2 };

export interface DeployHarnessOptions {
  runbooks?: readonly AnyRunbook[];
  settings?: Partial<DeploySettings>;
  /** The Stack the runbooks are given, around the real one (a test that orders a race holds a call); `stack` stays the real one. */
  runbookStack?: (stack: Stack) => Stack;
}

export async function deployHarness(options: DeployHarnessOptions = {}): Promise<DeployHarness> {
  const repo = createReleaseRepo();
  const stateDir = mkdtempSync(join(tmpdir(), 'acgs-deploy-runbook-'));
  const ports = {} as Record<ServiceName, number>;
  for (const service of ALL_SERVICES) ports[service] = await unusedLoopbackPort();
  const services = await startLocalServices({ stateDir, ports, env: { ACGS_STATE_DIR: stateDir }, log: () => undefined });
  for (const process of services.processes) {
    if (!(await process.waitUntilHealthy(60_000))) throw new Error(`deploy harness: ${process.name} did not become healthy`);
  }
  const stack = createLocalStack({ processes: services.processes, stateDir });
  const endpoints = Object.fromEntries(Object.entries(ports).map(([service, port]) => [service, `http://127.0.0.1:${port}`])) as Record<ServiceName, string>;
  const commands = { ...createCommandDependencies({ endpoints, stack, checkTimeoutMs: 3000 }), stack };
  const t = await runbookTestDatabase();
  await migrateReleaseRecords(t.pool);
  // As the bot does: a service's first record comes from its /health and the stack's artifact.
  const records = createReleaseRecords({
    pool: t.pool,
    stack,
    observe: observeInitialVersion({
      health: Object.fromEntries(ALL_SERVICES.map((service) => [service, () => fetch(`${endpoints[service]}/health`).then((response) => response.json() as Promise<{ version: string }>)])),
      repository: repo.dir,
      artifact: (service) => stack.running(service),
    }),
  });
  const notices: DeploymentNotice[] = [];
  const backup = createBackupPorts({
    // The bot's database is the run store's (dumped with pg_dump); the services' are the embedded ones.
    env: { ACGS_BACKUP_DIR: join(stateDir, 'backups'), DATABASE_URL: t.db.url },
    commands,
    embedded: services.embeddedDatabases,
    auditChainHead: async () => null,
    unfinishedRuns: async () => [],
  });
  const stepPorts: StepPorts = {
    commands: options.runbookStack ? { ...commands, stack: options.runbookStack(stack) } : commands,
    backup,
    deployments: records,
    releases: createLocalReleaseBuilder({ stateDir, source: createReleaseSource({ repo: repo.dir }) }),
    deploySettings: { ...TEST_DEPLOY_SETTINGS, ...options.settings },
    notices: {
      async deploymentNotice(notice): Promise<NoticeDelivery> {
        notices.push(notice);
        return { summary: 'posted to C0DEPLOYS (channels.deploys)', delivered: 1, attempted: 1, targets: [{ kind: 'channel', target: 'C0DEPLOYS', delivered: true }] };
      },
    },
  };
  const executor = createRunExecutor({ store: t.store, registry: createRunbookRegistry([...(options.runbooks ?? deployRunbooks)]), ports: stepPorts, leaseMs: 10_000, renewEveryMs: 1000 });
  const settle = async (runId: string) => {
    await executor.scanNow();
    await executor.idle();
    return executor.get(runId);
  };
  return {
    repo,
    stateDir,
    ports,
    services,
    stack,
    t,
    records,
    notices,
    stepPorts,
    executor,
    settle,
    run: async (runbook, args) => settle((await executor.submit({ runbook, args, requester: 'U0ONCALL', origin: 'test' })).id),
    output: async (runId, step) => (await t.store.attempts(runId)).find((attempt) => attempt.stepId === step && attempt.outcome === 'done')?.output,
    async health(service) {
      const response = await fetch(`${endpoints[service]}/health`);
      return { status: response.status, version: ((await response.json()) as { version: string }).version };
    },
    async close() {
      await executor.stop?.().catch(() => undefined);
      await stack.close().catch(() => undefined);
      await services.stop().catch(() => undefined);
      await t.close();
      repo.remove();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
