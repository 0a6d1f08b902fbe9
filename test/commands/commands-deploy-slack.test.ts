/**
 * A deploy and a hotfix as the on-call person lives them in Slack: typed as `/acgs` slash commands
 * through the real Bolt HTTP receiver and the Slack stand-in, approved with the request's buttons,
 * with the real authorization policy, approvals, trail, runbook engine, run messages, deployment
 * records and notices on the real PostgreSQL (test/testing/governance-bot.ts), controlling the
 * embedded local stack of `npm start` on spare loopback ports, deployed from the release fixture
 * (test/testing/release-repo.ts) with the deploy runbooks' windows shortened to seconds.
 * The tests run in order on one stack: each starts from what the one before left.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupHostPorts } from '../../bot/runbook-runs/index.js';
import { createBackupPorts } from '../../runbooks/backup/index.js';
import { deployRunbooks } from '../../runbooks/deploy/index.js';
import { TEST_DEPLOY_SETTINGS } from '../../runbooks/deploy/testing/deploy-harness.js';
import { FINAL_RUN_STATES } from '../../runbooks/engine/run-store.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { startLocalServices, type LocalServices } from '../../services/stack/local/local-services.js';
import { createLocalStack } from '../../services/stack/local/local-stack.js';
import { createLocalReleaseBuilder } from '../../services/stack/releases/local-releases.js';
import { createReleaseSource } from '../../services/stack/releases/release-source.js';
import type { Stack } from '../../services/stack/stack.js';
import type { WorkspaceChange } from '../../bot/slack/stand-in/workspace.js';
import { channelPeople, startGovernanceBot, type GovernanceBot } from '../testing/governance-bot.js';
import { unusedLoopbackPort } from '../testing/loopback.js';
import { createReleaseRepo, type ReleaseRepo } from '../testing/release-repo.js';
import { blockText, ONCALL, OPS } from '../testing/slack-harness.js';
import { waitForRunState } from '../runbooks/testing/run-records.js';

const APPROVER = 'U0APPROVER1';
const ADMIN = 'U0ADMIN';
const ROLES = { oncall: [ONCALL], approvers: [APPROVER, 'U0APPROVER2'], admins: [ADMIN] };
/** The stand-in's #acgs-deploys: channels.deploys. */
const DEPLOYS = 'C0ACGSDEPLY';

let repo: ReleaseRepo;
let stateDir: string;
let local: LocalServices;
let stack: Stack;
let bot: GovernanceBot;
let people: ReturnType<typeof channelPeople>;
const endpoints = {} as Record<ServiceName, string>;

beforeAll(async () => {
  repo = createReleaseRepo();
  stateDir = mkdtempSync(join(tmpdir(), 'acgs-deploy-slack-'));
  const ports = {} as Record<ServiceName, number>;
  for (const service of SERVICE_NAMES) ports[service] = await unusedLoopbackPort();
  for (const service of SERVICE_NAMES) endpoints[service] = `http://127.0.0.1:${ports[service]}`;
  local = await startLocalServices({ stateDir, ports, env: { ACGS_STATE_DIR: stateDir }, log: () => undefined });
  for (const process of local.processes) {
    if (!(await process.waitUntilHealthy(60_000))) throw new Error(`${process.name} did not become healthy`);
  }
  stack = createLocalStack({ processes: local.processes, stateDir });
  bot = await startGovernanceBot({
    roles: ROLES,
    modesTtlMs: 0,
    extraUsers: [{ id: ADMIN, name: 'admin', realName: 'Ada Admin', roleLabel: 'admin' }],
    prefix: 'acgs_deploy_slack',
    controls: { stack, endpoints, adminToken: local.adminToken, releaseRepo: repo.dir },
    runbooks: async () => deployRunbooks,
    stepPorts: (commands, botDatabase) => ({
      backup: createBackupPorts({
        // The bot's database is dumped with pg_dump, the services' embedded ones by their threads.
        env: { ACGS_BACKUP_DIR: join(stateDir, 'backups'), DATABASE_URL: botDatabase.url },
        commands,
        embedded: local.embeddedDatabases,
        auditChainHead: async () => null,
        ...backupHostPorts(botDatabase.pool),
      }),
      releases: createLocalReleaseBuilder({ stateDir, source: createReleaseSource({ repo: repo.dir }) }),
      deploySettings: { ...TEST_DEPLOY_SETTINGS, healthTimeoutMs: 15_000 },
    }),
    deploysChannel: DEPLOYS,
    runMessages: true,
  });
  people = channelPeople(bot.t);
}, 240_000);

afterAll(async () => {
  await bot?.close();
  await stack?.close().catch(() => undefined);
  await local?.stop().catch(() => undefined);
  repo?.remove();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

const pool = () => bot.trail.pool;
const count = async (table: string) => (await pool().query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
const recorded = async () => ({ runs: await count('runbook_runs'), requests: await count('approval_requests'), records: await count('deployment_records') });
const versionOf = async (service: ServiceName) => ((await (await fetch(`${endpoints[service]}/health`)).json()) as { version: string }).version;
/** The run once it ended or waits for a person, and what its failed steps said. */
async function settled(runId: string) {
  const run = await waitForRunState(bot.runEngine!.store, runId, [...FINAL_RUN_STATES, 'needs_decision'], 240_000);
  const failures = (await bot.runEngine!.store.attempts(runId)).filter((attempt) => attempt.error).map((attempt) => `${attempt.stepId}: ${attempt.error}`);
  return { run, failures };
}
const deploysText = () => bot.t.standIn.messages(DEPLOYS).map((message) => `${message.text}\n${blockText(message.blocks)}`);

/** The run's own message in the channel (the latest of its runbook's: the tests run one at a time). */
const runMessageText = (runbook: string) => {
  const message = bot.t.standIn
    .messages(OPS)
    .filter((candidate) => !candidate.threadTs && blockText(candidate.blocks).split('\n')[0]!.includes(`Runbook ${runbook}:`))
    .at(-1);
  return message ? blockText(message.blocks) : undefined;
};

/**
 * Every text the run's message in the channel showed while `until` was pending, in order: read at
 * each change the stand-in's workspace makes, so a line shown for a moment is seen too.
 */
async function watchRunMessage(runbook: string, until: Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const look = (change: WorkspaceChange) => {
    if (change.kind === 'home' || change.channel !== OPS) return;
    const text = runMessageText(runbook);
    if (text && text !== seen.at(-1)) seen.push(text);
  };
  bot.t.standIn.workspace.on('change', look);
  try {
    await until;
  } finally {
    bot.t.standIn.workspace.off('change', look);
  }
  return seen;
}

describe('a deploy through Slack', () => {
  it('refuses a version the release repository lacks at once, privately, with the nearest tags, recording nothing', async () => {
    const before = await recorded();
    const answer = await people.type(ONCALL, 'deploy nope-1.2.3', 'nope-1.2.3');
    expect(answer.visibleTo).toBe(ONCALL);
    expect(answer.text).toContain('The nearest tags: ');
    expect(answer.text).toMatch(/v9\.\d\.\d/);
    expect(answer.text).not.toContain('Approval:');
    expect(await recorded()).toEqual(before);
  });

  it('asks for approval with the plan, rolls out once approved, shows it in one message, announces it and records who deployed', async () => {
    const from = await versionOf('policy-engine');
    const { ts } = await people.request(ONCALL, 'deploy 9.1.0');
    const shown = people.messageText(ts);
    expect(shown).toContain('Level 2');
    for (const service of ['audit-engine', 'evolution-oversight', 'sandbox-controller', 'policy-engine']) expect(shown).toContain(`${service} ${from} → 9.1.0`);
    expect(shown).toContain('watch 3 s every 500 ms, rollback after 3');
    expect(await count('runbook_runs'), 'nothing runs before the approval').toBe(0);

    await people.click(APPROVER, 'approve', ts);
    const started = await people.untilMessage(ts, 'Run started: deploy');
    const runId = /Run ([0-9a-f-]{36}) /.exec(started)?.[1];
    expect(runId, started).toBeDefined();
    const ended = settled(runId!);
    const shownWhileRunning = await watchRunMessage('deploy', ended);
    const { run, failures } = await ended;
    expect(failures).toEqual([]);
    expect(run).toMatchObject({ state: 'succeeded', requester: ONCALL });
    const last = await bot.t.standIn.waitFor(
      () => {
        const text = runMessageText('deploy');
        return text?.includes('succeeded') ? text : undefined;
      },
      10_000,
      'the run message to end with the outcome',
    );
    expect(last).toContain('9.1.0 (v9.1.0) is live on audit-engine, evolution-oversight, sandbox-controller, policy-engine; the watch passed.');
    // The rollout's progress is shown while it runs, in rollout order. Which lines: the run message
    // is edited about once a second (the publisher's throttle), so a service replaced faster than
    // that may never have its own line shown; the lines shown must still be right and in order.
    const order = ['audit-engine', 'evolution-oversight', 'sandbox-controller', 'policy-engine'];
    const rolloutLines = [...new Set(shownWhileRunning.join('\n').match(/[a-z-]+: rolling out 9\.1\.0 \(\d of 4\)/g) ?? [])];
    expect(rolloutLines.length, shownWhileRunning.join('\n---\n')).toBeGreaterThan(0);
    for (const line of rolloutLines) {
      const [, service, index] = /^([a-z-]+): rolling out 9\.1\.0 \((\d) of 4\)$/.exec(line)!;
      expect(order[Number(index) - 1], line).toBe(service);
    }
    const indexes = rolloutLines.map((line) => Number(/\((\d) of 4\)/.exec(line)![1]));
    expect(indexes).toEqual([...indexes].sort());
    for (const service of SERVICE_NAMES) expect(await versionOf(service)).toBe('9.1.0');

    const notices = deploysText().filter((text) => text.includes(runId!) || text.includes('9.1.0'));
    expect(notices.some((text) => text.includes(`${ONCALL} started deploying 9.1.0`)), notices.join('\n---\n')).toBe(true);
    expect(notices.some((text) => /finished|is live/.test(text) && !text.includes('started deploying')), notices.join('\n---\n')).toBe(true);

    const releases = await people.type(ONCALL, 'releases', 'Releases');
    expect(releases.text).toContain('9.1.0');
    expect(releases.text).toContain(ONCALL);
    expect((await people.type(ONCALL, 'deploy status', 'Deploy status')).text).toContain('No deployment in progress');
  }, 300_000);
});

describe('a hotfix through Slack', () => {
  it('of a service the stack does not have is refused at once, privately, naming the services: nothing asked, run or recorded', async () => {
    const before = await recorded();
    const versions = Object.fromEntries(await Promise.all(SERVICE_NAMES.map(async (service) => [service, await versionOf(service)] as const)));
    const words = `the service to hotfix is one of ${SERVICE_NAMES.join(', ')}`;
    const answer = await people.type(ONCALL, 'hotfix web 9.0.0', words);
    expect(answer.visibleTo).toBe(ONCALL);
    expect(answer.text).not.toContain('Approval');
    // Breaking glass does not get past it either (its answer is the channel's, as every break-glass is).
    const glass = await people.type(ADMIN, 'break-glass "the web tier is down" hotfix web 9.0.0', words);
    expect(glass.text).not.toContain('Run started');
    expect(await recorded()).toEqual(before);
    for (const service of SERVICE_NAMES) expect(await versionOf(service)).toBe(versions[service]);
    expect((await people.type(ONCALL, 'deploy status', 'Deploy status')).text).toContain('No deployment in progress');
  });

  it('by the on-call waits for an approval and runs nothing without one', async () => {
    const before = await count('runbook_runs');
    const { ts, id } = await people.request(ONCALL, 'hotfix policy-engine 9.0.0');
    expect(people.messageText(ts)).toContain('policy-engine 9.1.0 → 9.0.0');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await count('runbook_runs')).toBe(before);
    expect(await versionOf('policy-engine')).toBe('9.1.0');
    await people.click(ONCALL, 'cancel', ts);
    await people.untilMessage(ts, 'nothing was run');
    expect(await bot.approvals.get(id)).toMatchObject({ state: 'cancelled' });
    expect(await count('runbook_runs')).toBe(before);
  });

  it('by an admin breaking glass runs at once, flagged, and only that service changes', async () => {
    const reason = 'policy engine serves bad decisions, no approver awake';
    const answer = await people.type(ADMIN, `break-glass "${reason}" hotfix policy-engine 9.0.0`, 'Run started: hotfix');
    expect(answer.text).toContain('BREAK-GLASS');
    const runId = /Run ([0-9a-f-]{36}) /.exec(answer.text)?.[1];
    expect(runId, answer.text).toBeDefined();
    const { run, failures } = await settled(runId!);
    expect(failures).toEqual([]);
    expect(run).toMatchObject({ state: 'succeeded', requester: ADMIN });
    expect(await versionOf('policy-engine')).toBe('9.0.0');
    expect(await versionOf('audit-engine')).toBe('9.1.0');
    const { records } = await bot.trail.trail.query({ command: 'hotfix', user: ADMIN, limit: 20 });
    expect(records.some((record) => record.kind === 'break_glass')).toBe(true);
    const releases = await people.type(ONCALL, 'releases policy-engine', 'Releases: policy-engine');
    expect(releases.text).toContain('9.0.0');
    expect(releases.text).toContain(ADMIN);
  }, 300_000);
});
