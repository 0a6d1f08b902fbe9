/**
 * The deploy, hotfix and rollback runbooks on real things: a stack of the four services (a
 * DeployTarget: the embedded one of `npm start` here, the Docker one in docker-target.ts) on spare
 * loopback ports, the release fixture repository (tags v9.0.0 ... v9.4.0-fragile) and the stack's
 * own release builder, the run store and the deployment records on the real PostgreSQL, the
 * backups of the stack's databases. The notices port records what it was given (Slack delivery
 * has its own tests in bot/notices): every other port is the product's.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { createCommandDependencies } from '../../../commands/dependencies.js';
import type { ServiceName } from '../../../services/kit/service-ports.js';
import { startLocalServices, type LocalServices } from '../../../services/stack/local/local-services.js';
import { createLocalStack } from '../../../services/stack/local/local-stack.js';
import { createLocalReleaseBuilder } from '../../../services/stack/releases/local-releases.js';
import { createReleaseSource } from '../../../services/stack/releases/release-source.js';
import type { PreparedRelease } from '../../../services/stack/releases/release.js';
import type { Stack } from '../../../services/stack/stack.js';
import { createReleaseRepo, type ReleaseRepo } from '../../../test/testing/release-repo.js';
import { unusedLoopbackPort } from '../../../test/testing/loopback.js';
import type { ReleaseBuilder } from '../../../services/stack/releases/release.js';
import { createBackupPorts, type BackupEnv, type EmbeddedDatabases } from '../../backup/backup-ports.js';
import type { AnyRunbook } from '../../engine/definition.js';
import type { DeploymentNotice, DeploymentRecords, NoticeDelivery, NoticesPort, StepPorts } from '../../engine/ports.js';
import { createRunbookRegistry } from '../../engine/registry.js';
import { createRunExecutor, type RunExecutor } from '../../engine/run-executor.js';
import type { RunRecord } from '../../engine/run-store.js';
import { runbookTestDatabase, type RunbookTestDatabase } from '../../engine/testing/database.js';
import { DEFAULT_DEPLOY_SETTINGS, type DeploySettings } from '../deploy-settings.js';
import { observeInitialVersion } from '../initial-versions.js';
import { ROLLOUT_ORDER } from '../release-plan.js';
import { createReleaseRecords, migrateReleaseRecords } from '../release-records.js';

import { deployRunbooks } from '../index.js';

const ALL_SERVICES: readonly ServiceName[] = ['sandbox-controller', 'evolution-oversight', 'audit-engine', 'policy-engine'];

/** The stack the runbooks run on, as a bot would be handed it. */
export interface DeployTarget {
  ports: Record<ServiceName, number>;
  stack: Stack;
  /** Releases as this kind of stack runs them (checkouts, images), from the fixture repository. */
  releases: ReleaseBuilder;
  /** The stack's databases for the backups, beside the bot's own (DATABASE_URL, the run store's). */
  backup: { env: BackupEnv; embedded?: EmbeddedDatabases };
  /** The services' admin and service tokens, where the target made them. */
  tokens?: { adminToken: string; serviceToken: string };
  close(): Promise<void>;
}

/** Opens a target on the fixture repository; `stateDir` is the harness's, removed after close. */
export type OpenDeployTarget<Target extends DeployTarget> = (place: { repo: ReleaseRepo; stateDir: string }) => Promise<Target>;

export interface EmbeddedTarget extends DeployTarget {
  services: LocalServices;
}

export interface DeployHarness<Target extends DeployTarget = EmbeddedTarget> {
  repo: ReleaseRepo;
  stateDir: string;
  ports: Record<ServiceName, number>;
  target: Target;
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
  /**
   * Prepares a release and puts it on every service through the Stack, recorded as a deploy run
   * records it (no checks, no backup, no watch): the history a rollback test starts from, quickly.
   */
  deployByHand(version: string): Promise<{ runId: string; release: PreparedRelease }>;
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

export interface DeployPortsOptions {
  target: Omit<DeployTarget, 'close'>;
  /** The release repository (ACGS_RELEASE_REPO). */
  repository: string;
  /** Where the backups go (ACGS_BACKUP_DIR). */
  backupDir: string;
  /** The bot's database: run store, deployment records, and what a backup dumps. */
  pool: pg.Pool;
  databaseUrl: string;
  settings?: Partial<DeploySettings> | undefined;
  notices: NoticesPort;
  runbookStack?: ((stack: Stack) => Stack) | undefined;
}

/**
 * The ports the deploy runbooks get in the bot, over a target's stack: the harness's, and a crash
 * test's runner process's (deploy-runner-process.ts).
 */
export function deployPorts(options: DeployPortsOptions): { records: DeploymentRecords; stepPorts: StepPorts } {
  const { target } = options;
  const { stack } = target;
  const endpoints = Object.fromEntries(Object.entries(target.ports).map(([service, port]) => [service, `http://127.0.0.1:${port}`])) as Record<ServiceName, string>;
  // The tokens too: a rollback-restore re-anchors the audit chain (admin) and tests write audit events (service).
  const commands = { ...createCommandDependencies({ endpoints, ...target.tokens, stack, checkTimeoutMs: 3000 }), stack };
  // As the bot does: a service's first record comes from its /health and the stack's artifact.
  const records = createReleaseRecords({
    pool: options.pool,
    stack,
    observe: observeInitialVersion({
      health: Object.fromEntries(ROLLOUT_ORDER.map((service) => [service, () => fetch(`${endpoints[service]}/health`).then((response) => response.json() as Promise<{ version: string }>)])),
      repository: options.repository,
      artifact: (service) => stack.running(service),
    }),
  });
  const backup = createBackupPorts({
    // The bot's database is the run store's, dumped with pg_dump; the stack's are the target's.
    env: { ...target.backup.env, ACGS_BACKUP_DIR: options.backupDir, DATABASE_URL: options.databaseUrl },
    commands,
    ...(target.backup.embedded ? { embedded: target.backup.embedded } : {}),
    auditChainHead: async () => null,
    unfinishedRuns: async () => [],
  });
  const stepPorts: StepPorts = {
    commands: options.runbookStack ? { ...commands, stack: options.runbookStack(stack) } : commands,
    backup,
    deployments: records,
    releases: target.releases,
    deploySettings: { ...TEST_DEPLOY_SETTINGS, ...options.settings },
    notices: options.notices,
  };
  return { records, stepPorts };
}

/** The services of `npm start` already running (in this process) as a target: checkouts, embedded databases. */
export function embeddedTargetOf(services: LocalServices, repository: string): EmbeddedTarget {
  const stack = createLocalStack({ processes: services.processes, stateDir: services.stateDir });
  const ports = Object.fromEntries(Object.entries(services.endpoints).map(([service, endpoint]) => [service, Number(new URL(endpoint).port)])) as Record<ServiceName, number>;
  return {
    ports,
    services,
    stack,
    releases: createLocalReleaseBuilder({ stateDir: services.stateDir, source: createReleaseSource({ repo: repository }) }),
    // The services' embedded databases are dumped by the threads that hold them.
    backup: { env: {}, embedded: services.embeddedDatabases },
    tokens: { adminToken: services.adminToken, serviceToken: services.serviceToken },
    async close() {
      await stack.close().catch(() => undefined);
      await services.stop().catch(() => undefined);
    },
  };
}

/** The deploy ports over services started in this process, as the bot of `npm start` has them. */
export function embeddedDeployPorts(options: Omit<DeployPortsOptions, 'target' | 'backupDir'> & { services: LocalServices }): { stack: Stack; records: DeploymentRecords; stepPorts: StepPorts } {
  const target = embeddedTargetOf(options.services, options.repository);
  return { stack: target.stack, ...deployPorts({ ...options, target, backupDir: join(options.services.stateDir, 'backups') }) };
}

/** The four services of `npm start` on spare loopback ports, with embedded PGlite, released as checkouts. */
export const embeddedTarget: OpenDeployTarget<EmbeddedTarget> = async ({ repo, stateDir }) => {
  const ports = {} as Record<ServiceName, number>;
  for (const service of ALL_SERVICES) ports[service] = await unusedLoopbackPort();
  const target = embeddedTargetOf(await startLocalServices({ stateDir, ports, env: { ACGS_STATE_DIR: stateDir }, log: () => undefined }), repo.dir);
  for (const process of target.services.processes) {
    if (!(await process.waitUntilHealthy(60_000))) {
      await target.close();
      throw new Error(`deploy harness: ${process.name} did not become healthy`);
    }
  }
  return target;
};

export function deployHarness(options: DeployHarnessOptions = {}): Promise<DeployHarness> {
  return deployHarnessOn(embeddedTarget, options);
}

export async function deployHarnessOn<Target extends DeployTarget>(open: OpenDeployTarget<Target>, options: DeployHarnessOptions = {}): Promise<DeployHarness<Target>> {
  const repo = createReleaseRepo();
  const stateDir = mkdtempSync(join(tmpdir(), 'acgs-deploy-runbook-'));
  let target: Target;
  try {
    target = await open({ repo, stateDir });
  } catch (error) {
    repo.remove();
    rmSync(stateDir, { recursive: true, force: true });
    throw error;
  }
  const { ports, stack } = target;
  const t = await runbookTestDatabase();
  await migrateReleaseRecords(t.pool);
  const notices: DeploymentNotice[] = [];
  const { records, stepPorts } = deployPorts({
    target,
    repository: repo.dir,
    backupDir: join(stateDir, 'backups'),
    pool: t.pool,
    databaseUrl: t.db.url,
    settings: options.settings,
    runbookStack: options.runbookStack,
    notices: {
      async deploymentNotice(notice): Promise<NoticeDelivery> {
        notices.push(notice);
        return { summary: 'posted to C0DEPLOYS (channels.deploys)', delivered: 1, attempted: 1, targets: [{ kind: 'channel', target: 'C0DEPLOYS', delivered: true }] };
      },
    },
  });
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
    target,
    stack,
    t,
    records,
    notices,
    stepPorts,
    executor,
    settle,
    run: async (runbook, args) => settle((await executor.submit({ runbook, args, requester: 'U0ONCALL', origin: 'test' })).id),
    async deployByHand(version) {
      const releases = stepPorts.releases!;
      const release = await releases.prepare(await releases.resolve(version));
      const runId = randomUUID();
      for (const service of ROLLOUT_ORDER) {
        await stack.deploy(service, release.artifacts[service], { timeoutMs: 60_000 });
        await records.record({ service, version, ref: release.ref, commit: release.commit, artifact: release.artifacts[service], kind: 'deploy', runId, requestedBy: 'U0DEPLOYER', outcome: 'live' });
      }
      return { runId, release };
    },
    output: async (runId, step) => (await t.store.attempts(runId)).find((attempt) => attempt.stepId === step && attempt.outcome === 'done')?.output,
    async health(service) {
      const response = await fetch(`http://127.0.0.1:${ports[service]}/health`);
      return { status: response.status, version: ((await response.json()) as { version: string }).version };
    },
    async close() {
      await executor.stop?.().catch(() => undefined);
      await target.close();
      await t.close();
      repo.remove();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
