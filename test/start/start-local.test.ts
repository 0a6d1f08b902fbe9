import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditEngineClient } from '../../services/clients/audit-engine.js';
import { createEvolutionOversightClient } from '../../services/clients/evolution-oversight.js';
import { ServiceCallError } from '../../services/clients/http.js';
import { CONSTITUTIONAL_HASH } from '../../services/kit/constitution.js';
import { SERVICE_PORTS } from '../../services/kit/service-ports.js';
import { SERVICE_VERSION } from '../../services/kit/service.js';
import { lowRiskProposal } from '../../services/evolution-oversight/testing/fixtures.js';
import { FIRM_PORTS_WAIT_MS, takeFirmPorts } from '../testing/firm-ports.js';
import { openConsoleSession, type ConsoleSession } from '../testing/console-session.js';
import { unusedLoopbackPort } from '../testing/loopback.js';
import { requireFreePorts, startNpmStart, waitForHealth } from '../testing/npm-start.js';

/**
 * `npm start` on a machine with nothing configured: no DATABASE_URL, no REDIS_URL, no token, no
 * Slack. The four services must come up on their firm ports with embedded PostgreSQL, and the bot
 * with the local Slack console on its port.
 */
let child: ChildProcess | undefined;
/** What the stale pid file says its process runs: the policy engine as the supervisor starts it. */
const STALE_ARGV = [process.execPath, '--import', 'tsx', 'services/policy-engine/main.ts'];
/** A process whose pid a stale pid file names before the start: it must never be signalled. */
let stranger: ChildProcess | undefined;
let stateDir: string | undefined;

/** The service token `npm start` generated (the services' write endpoints require it). */
function localServiceToken(): string {
  return readFileSync(join(stateDir!, 'service-token'), 'utf8').trim();
}
/** What npm start printed so far. */
let output = () => '';
let botPort = 0;

let releaseFirmPorts: (() => Promise<void>) | undefined;

beforeAll(async () => {
  // start-kill-resume.test.ts runs npm start on the same ports: one suite at a time.
  releaseFirmPorts = await takeFirmPorts();
  // The firm ports are fixed: with another stack on them this test would talk to that stack.
  await requireFreePorts(SERVICE_PORTS);
  stateDir = mkdtempSync(join(tmpdir(), 'acgs-start-'));
  // An earlier run's pid file whose pid now belongs to something else: another node process that
  // even names the service's script, so a check of the executable, the process name or the
  // script would take it for an orphaned policy-engine; only its whole /proc cmdline differs.
  stranger = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)', 'services/policy-engine/main.ts'], { stdio: 'ignore' });
  mkdirSync(join(stateDir, 'run'), { recursive: true });
  writeFileSync(join(stateDir, 'run', 'policy-engine.pid'), JSON.stringify({ service: 'policy-engine', pid: stranger.pid, argv: STALE_ARGV, startedAt: new Date().toISOString(), supervisorPid: 1 }));
  botPort = await unusedLoopbackPort();
  const started = startNpmStart({ stateDir, botPort, ownProcessGroup: true });
  child = started.child;
  output = started.output;
}, FIRM_PORTS_WAIT_MS + 10_000);

afterAll(async () => {
  stranger?.kill('SIGKILL');
  const running = child;
  if (running && running.exitCode === null) {
    running.kill('SIGTERM');
    await new Promise((resolve) => running.once('exit', resolve));
  }
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  await releaseFirmPorts?.();
}, 30_000);

describe('npm start with nothing configured', () => {
  it('brings the four services up on their firm ports', async () => {
    for (const [service, port] of Object.entries(SERVICE_PORTS)) {
      const response = await waitForHealth(port, 90_000, output);
      const body = (await response.json()) as { service: string; constitutional_hash: string };
      expect(body.service).toBe(service);
      expect(body.constitutional_hash).toBe(CONSTITUTIONAL_HASH);
    }
  }, 120_000);

  it('serves decisions, stores audit events in the embedded database and generates an admin token', async () => {
    const decision = await fetch('http://127.0.0.1:8004/v1/data/acgs/main/decision', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        input: {
          type: 'action_authorization',
          constitutional_hash: CONSTITUTIONAL_HASH,
          action: 'system.execute_shell',
          context: { agent: { id: 'start-test', trust_level: 0.9 } },
        },
      }),
    });
    expect(decision.status).toBe(200);
    expect(((await decision.json()) as { result: { allow: boolean } }).result.allow).toBe(false);

    const forged = await fetch('http://127.0.0.1:8003/audit/events', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event_type: 'start_test', agent_id: 'start-test' }),
    });
    expect(forged.status).toBe(401);
    const stored = await fetch('http://127.0.0.1:8003/audit/events', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${localServiceToken()}` },
      body: JSON.stringify({ event_type: 'start_test', agent_id: 'start-test' }),
    });
    expect(stored.status).toBe(201);
    const verify = await fetch('http://127.0.0.1:8003/audit/verify');
    // Status and body together, so that a failure shows what the engine answered instead.
    expect({ status: verify.status, body: await verify.json() }).toMatchObject({ status: 200, body: { valid: true } });

    const token = readFileSync(join(stateDir!, 'admin-token'), 'utf8').trim();
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    // The service token is generated beside it, as private, and is another secret.
    expect(localServiceToken()).toMatch(/^[0-9a-f]{64}$/);
    expect(localServiceToken()).not.toBe(token);
    expect(statSync(join(stateDir!, 'service-token')).mode & 0o777).toBe(0o600);
    const denied = await fetch('http://127.0.0.1:8004/admin/clear-cache', { method: 'POST' });
    expect(denied.status).toBe(401);
    const cleared = await fetch('http://127.0.0.1:8004/admin/clear-cache', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(cleared.status).toBe(200);
  }, 60_000);

  it('keeps evolution oversight answering on the embedded database after conflicts', async () => {
    const evolutions = createEvolutionOversightClient('http://127.0.0.1:8002', 10_000, { serviceToken: localServiceToken() });
    const refusal = (call: Promise<unknown>) =>
      call.then(
        () => undefined,
        (error: unknown) => (error instanceof ServiceCallError ? [error.status, error.code] : error),
      );
    const auto = await evolutions.propose(lowRiskProposal({ agent_id: 'start-test' }));
    expect(auto.status).toBe('auto_approved');
    const review = { reviewer_id: 'U-START-REVIEWER', justification: 'checked by the start test' };
    expect(await refusal(evolutions.approve(auto.id, review))).toEqual([409, 'CONFLICT']);

    const risky = await evolutions.propose(lowRiskProposal({ agent_id: 'start-test', privilege_escalation: true, priority: 'high' }));
    expect(risky.status).toBe('human_review');
    expect((await evolutions.approve(risky.id, review)).status).toBe('approved');
    expect(await refusal(evolutions.approve(risky.id, review))).toEqual([409, 'CONFLICT']);

    expect((await evolutions.get(auto.id)).transitions).toHaveLength(1);
    expect((await evolutions.list({ agent_id: 'start-test' })).count).toBe(2);
    expect(await evolutions.health()).toMatchObject({ database: { reachable: true } });
    expect((await evolutions.propose(lowRiskProposal({ agent_id: 'start-test' }))).status).toBe('auto_approved');
  }, 60_000);

  it('keeps the audit engine appending on the embedded database after refused requests', async () => {
    const audit = createAuditEngineClient('http://127.0.0.1:8003', { serviceToken: localServiceToken() });
    const post = (body: unknown, query = '') =>
      fetch(`http://127.0.0.1:8003/audit/events${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${localServiceToken()}` },
        body: JSON.stringify(body),
      });
    expect((await post({ event_type: 'BAD SLUG' })).status).toBe(400);
    expect((await post({ event_type: 'start_test', constitutional_hash: '0000000000000000' })).status).toBe(400);
    expect((await post({ event_type: 'start_test' }, '?x=1')).status).toBe(400);
    // A replay takes the path where the database refuses a duplicate key.
    const first = await audit.postEvents({ event_type: 'start_replay', idempotency_key: 'start-local-replay' });
    expect(await audit.postEvents({ event_type: 'start_replay', idempotency_key: 'start-local-replay' })).toMatchObject({ appended: 0, replayed: 1 });
    const after = await audit.postEvents({ event_type: 'start_after_refusals' });
    expect(after).toMatchObject({ appended: 1, replayed: 0 });
    expect(after.events[0]!.sequence).toBeGreaterThan(first.events[0]!.sequence);
    expect((await audit.listEvents({ event_type: 'start_after_refusals' })).events.map((event) => event.id)).toEqual([after.events[0]!.id]);
    expect(await audit.verify()).toMatchObject({ valid: true });
  }, 60_000);

  it('records the evolution transitions in the audit engine', async () => {
    const audit = createAuditEngineClient('http://127.0.0.1:8003');
    const deadline = Date.now() + 20_000;
    // The outbox delivers in batches: wait for all of them, not just the first kind to arrive.
    let approved = 0;
    let created = 0;
    while (Date.now() < deadline) {
      approved = (await audit.listEvents({ event_type: 'evolution_approved', agent_id: 'start-test' })).events.length;
      created = (await audit.listEvents({ event_type: 'evolution_created', agent_id: 'start-test' })).events.length;
      if (approved >= 1 && created >= 3) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(approved).toBe(1);
    expect(created).toBe(3);
    expect((await audit.health()).integrity).toMatchObject({ valid: true });
  }, 30_000);

  type ConsoleMessage = { text: string; blocks: unknown[]; ts: string };

  let consoleOpened: Promise<{ url: string; session: ConsoleSession }> | undefined;
  /** The console as its user gets in: the link npm start printed, opened once, its cookie kept. */
  function openConsole(): Promise<{ url: string; session: ConsoleSession }> {
    consoleOpened ??= new Promise<string>((resolve, reject) => {
      const printed = () => /local Slack console: (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(output())?.[1];
      if (printed()) return resolve(printed()!);
      // Registered after the listener that fills `output`, so each chunk is already in it.
      const onData = () => {
        if (!printed()) return;
        child!.stdout!.off('data', onData);
        resolve(printed()!);
      };
      child!.stdout!.on('data', onData);
      child!.once('exit', () => reject(new Error(`npm start exited before printing the console link\n${output().slice(-4000)}`)));
    }).then(async (url) => ({ url, session: await openConsoleSession(url) }));
    return consoleOpened;
  }

  /** Types a line into #acgs-ops of the console as the on-call engineer and waits for the bot's reply. */
  async function typeInConsole(text: string, replyStartsWith: string, timeoutMs = 15_000, which: 'first' | 'newest' = 'first'): Promise<ConsoleMessage | undefined> {
    const { session } = await openConsole();
    const workspace = await session.get<{ channels: { id: string; name: string }[] }>('workspace');
    const ops = workspace.channels.find((channel) => channel.name === 'acgs-ops')!;
    const earlier = await session.get<{ messages: ConsoleMessage[] }>(`messages?channel=${ops.id}&as=U0ONCALL`);
    const before = earlier.messages.filter((message) => message.text.startsWith(replyStartsWith)).length;
    const sent = await session.post('compose', { as: 'U0ONCALL', channel: ops.id, text });
    expect(sent.json).toEqual({ ok: true });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const listed = await session.get<{ messages: ConsoleMessage[] }>(`messages?channel=${ops.id}&as=U0ONCALL`);
      const replies = listed.messages.filter((message) => message.text.startsWith(replyStartsWith));
      const reply = which === 'first' ? replies[0] : replies.length > before ? replies.at(-1) : undefined;
      if (reply) return reply;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return undefined;
  }

  /** The alert messages (the alerts channel, else ops) with their threads: what Level 1 decided and why. */
  async function alertThreads(): Promise<string> {
    const { session } = await openConsole();
    const workspace = await session.get<{ channels: { id: string; name: string }[] }>('workspace');
    const lines: string[] = [];
    for (const channel of workspace.channels.filter((candidate) => /alerts|ops/.test(candidate.name))) {
      const listed = await session.get<{ messages: ConsoleMessage[] }>(`messages?channel=${channel.id}&as=U0ONCALL`);
      // Every message of #acgs-alerts (an alert's fallback text is `ServiceDown: <service>: firing`); in ops, Level 1's and escalations'.
      const told = listed.messages.filter((candidate) => /alerts/.test(channel.name) || /level \d|escalat/i.test(candidate.text));
      for (const message of told.slice(-6)) {
        lines.push(`#${channel.name} ${message.ts}: ${message.text}`);
        const thread = await session.get<{ messages: ConsoleMessage[] }>(`thread?channel=${channel.id}&ts=${message.ts}&as=U0ONCALL`);
        for (const reply of thread.messages.slice(1)) lines.push(`    ${reply.ts}: ${reply.text}`);
      }
    }
    return lines.join('\n').slice(-6000);
  }

  it('starts the bot with the local Slack console on its port, where /acgs health reads the stack', async () => {
    const health = await waitForHealth(botPort, 60_000, output);
    expect(await health.json()).toMatchObject({ status: 'ok', mode: 'http' });
    const { url } = await openConsole();
    expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${botPort}/\\?token=`));
    const page = await fetch(url);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    // The bare address is the page that says to open the printed link; its API needs the cookie.
    expect((await fetch(`http://127.0.0.1:${botPort}/`)).status).toBe(403);
    expect((await fetch(`http://127.0.0.1:${botPort}/console/api/workspace`)).status).toBe(403);
    const reply = await typeInConsole('/acgs health', 'Stack health');
    expect(reply?.text).toBe('Stack health: All 5 checks pass.');
    expect(JSON.stringify(reply?.blocks)).toContain('sandbox-controller');
    expect(output()).toContain(`local Slack console: http://127.0.0.1:${botPort}`);
    expect(output()).toContain('stack: local, because ACGS_STACK=local');
    // Migrations as start lines, each store under its own name, not the migration tool's JSON chatter.
    expect(output()).toMatch(/\[acgs\] runbooks: applied 5 migrations 1766100000000_runbook-runs, /);
    expect(output()).toContain('[acgs] deployments: applied migration 1767000000000_deployments');
    // The alert store is there; Alertmanager's webhook is off until ACGS_ALERTS_TOKEN is set, and says so.
    expect(output()).toMatch(/\[acgs\] alerts: applied 2 migrations 1767200000000_alerts, 1767300000001_level-one-actions/);
    expect(output()).toContain('[acgs] leadership: applied migration 1767300000000_leadership-leases');
    expect(output()).toMatch(/\[acgs\] alerts: built-in monitor on, under the lease alert-monitor \(every 2 s\)/);
    expect(output()).toContain("[acgs] alerts: Alertmanager's webhook off (no ACGS_ALERTS_TOKEN)");
    // Without PROMETHEUS_URL the reports' trends come from the embedded sampler.
    expect(output()).toContain('[acgs] metrics history: applied migration 1767400000000_metric-samples');
    expect(output()).toContain('[acgs] metrics history: the embedded sampler (PostgreSQL), sampled every 60 s under the lease metrics-sampler');
    // Alerts are shown in the console's #acgs-alerts, and the start says so.
    expect(output()).toContain('[acgs] alert-messages: applied migration 1767300000000_slack-alert-messages');
    expect(output()).toContain('[acgs] alerts: posted to C0ACGSALERT (#acgs-alerts), one message per alert; more than 10 within a minute share one summary');
    // Unacknowledged alerts are escalated in the console's #acgs-alerts, with the runbook's times.
    expect(output()).toContain('[acgs] alert-escalations: applied migration 1767300000000_alert_escalations');
    // Escalation contacts are paged through a ledger of their own; none are configured here.
    expect(output()).toContain('[acgs] paging: applied migration 1767500000000_alert-pages');
    expect(output()).toContain('[acgs] alert paging: no contacts in ACGS_CONFIG');
    expect(output()).toContain('[acgs] alert escalation: to C0ACGSALERT, checked every 15 s by one replica (lease alert-escalation); Level 1 -> 2 after 5 min, 2 -> 3 after 15 min, 3 -> 4 after 30 min');
    const webhook = await fetch(`http://127.0.0.1:${botPort}/alerts/alertmanager`, { method: 'POST', body: '{}' });
    expect(webhook.status).toBe(404);
    expect(await webhook.json()).toEqual({ error: expect.stringContaining('set ACGS_ALERTS_TOKEN') });
    expect(output()).not.toContain('### MIGRATION');
  }, 90_000);

  it('lets on-call restart a local service from the console, with a new process that is healthy', async () => {
    const status = await typeInConsole('/acgs status', 'Stack status');
    expect(JSON.stringify(status?.blocks)).toMatch(/sandbox-controller/);
    const before = await fetch('http://127.0.0.1:8001/health');
    expect(before.status).toBe(200);
    const restarted = await typeInConsole('/acgs restart sandbox-controller', 'Restarted sandbox-controller', 60_000);
    expect(restarted, 'no restart reply in the console').toBeDefined();
    expect((await waitForHealth(8001, 30_000, output)).status).toBe(200);
  }, 90_000);

  it("records the restart in the bot's audit trail on a third embedded database, shown by /acgs audit and checked by audit verify", async () => {
    const trail = await typeInConsole('/acgs audit --command restart', 'Audit trail');
    expect(trail?.text).toMatch(/^Audit trail: 3 records, newest first \(command restart\)/);
    const table = JSON.stringify(trail?.blocks);
    for (const kind of ['command (L1)', 'execution (L1)', 'result (L1)']) expect(table).toContain(kind);
    expect(table).toContain('U0ONCALL');
    const verify = await typeInConsole('/acgs audit verify', 'Both audit chains intact', 30_000);
    expect(verify, 'no audit verify reply in the console').toBeDefined();
    expect(output()).toMatch(/audit trail: embedded PostgreSQL in .*pglite\/bot; spool .*bot-trail-spool\/bot/);
  }, 60_000);

  it('runs the health-check runbook from the console, on the runner npm start runs beside the embedded database', async () => {
    // The registry lists runbooks by name: the backup runbooks come first.
    expect(output()).toMatch(/runbooks: backup, backup-verify, cache-degradation, constitutional-emergency, database-connections, deploy, dr-test, health-check, high-latency, high-memory, hotfix, outage, restore, rollback, rollback-restore, sandbox-failures, security-breach \(/);
    const started = await typeInConsole('/acgs run health-check', 'Run started: health-check', 30_000);
    const id = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.exec(started?.text ?? '')?.[0];
    expect(id, `no run id in ${started?.text}`).toBeDefined();
    // Each try types the line again: the runner needs two rounds of health probes.
    let succeeded: ConsoleMessage | undefined;
    for (let tries = 0; tries < 10 && !succeeded; tries += 1) {
      succeeded = await typeInConsole(`/acgs run status ${id}`, `Run ${id!.slice(0, 8)}: health-check: health-check has succeeded`, 2000);
    }
    expect(succeeded, 'the run did not succeed').toBeDefined();
    // The run's own message, in the channel it was started in, kept current to its end.
    const { session } = await openConsole();
    const ops = (await session.get<{ channels: { id: string; name: string }[] }>('workspace')).channels.find((channel) => channel.name === 'acgs-ops')!.id;
    let runMessage: ConsoleMessage | undefined;
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && !runMessage; ) {
      const listed = await session.get<{ messages: ConsoleMessage[] }>(`messages?channel=${ops}&as=U0ONCALL`);
      runMessage = listed.messages.find((message) => message.text.startsWith('Runbook health-check succeeded') && JSON.stringify(message.blocks).includes(id!));
      if (!runMessage) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(runMessage, 'no run message in #acgs-ops').toBeDefined();
    expect(runMessage!.text).toBe('Runbook health-check succeeded (2/2 steps)');
  }, 60_000);

  /** Types `run status` until the run has succeeded (each try is a new line, as a person would). */
  async function untilSucceeded(id: string, runbook: string, tries = 60): Promise<ConsoleMessage | undefined> {
    for (let attempt = 0; attempt < tries; attempt += 1) {
      const succeeded = await typeInConsole(`/acgs run status ${id}`, `Run ${id.slice(0, 8)}: ${runbook}: ${runbook} has succeeded`, 2000);
      if (succeeded) return succeeded;
    }
    return undefined;
  }

  const runIdIn = (text: string | undefined) => /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.exec(text ?? '')?.[0];

  it('backs up the three embedded databases from the console, lists the backup and verifies it by a real restore', async () => {
    const none = await typeInConsole('/acgs backups', 'Backups: No backups yet.');
    expect(JSON.stringify(none?.blocks)).toContain(join(stateDir!, 'backups'));
    const plan = await typeInConsole('/acgs backup --dry-run', 'Dry run: backup', 30_000);
    expect(JSON.stringify(plan?.blocks)).toContain('embedded PGlite in');

    const backupStarted = Date.now();
    const started = await typeInConsole('/acgs backup', 'Run started: backup', 30_000);
    const runId = runIdIn(started?.text);
    expect(runId, `no run id in ${started?.text}`).toBeDefined();
    const done = await untilSucceeded(runId!, 'backup');
    expect(done, 'the backup did not succeed').toBeDefined();
    const backupSeconds = (Date.now() - backupStarted) / 1000;
    // Its steps, as `run status` shows them to the person who watches it.
    const steps = JSON.stringify(done!.blocks);
    for (const step of ['Check pg_dump, the config', 'Dump each database with pg_dump', 'Write the manifest, which makes']) expect(steps).toContain(step);
    expect(steps.match(/ (check|act|verify) +done +1 /g)).toHaveLength(7);

    const [id] = readdirSync(join(stateDir!, 'backups')).filter((name) => /^\d{8}T\d{6}Z-[0-9a-f]{6}$/.test(name));
    const manifest = JSON.parse(readFileSync(join(stateDir!, 'backups', id!, 'manifest.json'), 'utf8')) as {
      files: Array<{ name: string; kind: string; row_counts?: Record<string, number> }>;
      tools: Record<string, string>;
    };
    const dumps = manifest.files.filter((file) => file.kind === 'pglite-dump');
    expect(dumps.map((file) => file.name)).toEqual(['bot.sql', 'audit-engine.sql', 'evolution-oversight.sql']);
    // What the services and the bot wrote earlier in this suite is in the dumps.
    const rows = (name: string, table: string) => dumps.find((file) => file.name === name)!.row_counts![table] ?? 0;
    expect(rows('audit-engine.sql', 'public.audit_events')).toBeGreaterThanOrEqual(5);
    expect(rows('evolution-oversight.sql', 'public.evolutions')).toBeGreaterThanOrEqual(3);
    expect(Object.values(dumps[0]!.row_counts!).reduce((sum, count) => sum + count, 0)).toBeGreaterThan(0);
    expect(manifest.tools).toMatchObject({ 'pglite-tools': expect.stringMatching(/^@electric-sql\/pglite-tools /) });

    const listed = await typeInConsole('/acgs backups', 'Backups: 1 backup');
    expect(JSON.stringify(listed?.blocks)).toContain(id);

    const verifyStarted = Date.now();
    const verifying = await typeInConsole(`/acgs backup verify ${id}`, 'Run started: backup-verify', 30_000);
    const verifyId = runIdIn(verifying?.text);
    expect(verifyId, `no run id in ${verifying?.text}`).toBeDefined();
    const verified = await untilSucceeded(verifyId!, 'backup-verify');
    expect(verified, 'the verification did not succeed').toBeDefined();
    const verifySeconds = (Date.now() - verifyStarted) / 1000;
    // The list typed again: its newest answer, not the one before the verification.
    const after = await typeInConsole('/acgs backups', 'Backups: 1 backup, newest', 15_000, 'newest');
    expect(after?.text).toMatch(/1 complete \(1 verified\)/);
    // The time a person waits, from typing the line to seeing it succeed, console polling included.
    const stepTimes = (message: ConsoleMessage) => [...JSON.stringify(message.blocks).matchAll(/\\n(\d)  .{48}  \w+ +done +\d+ +([\d.]+ m?s)/g)].map(([, step, time]) => `${step}: ${time}`).join(', ');
    console.info(`embedded backup ${backupSeconds.toFixed(1)} s (${stepTimes(done!)}), verify ${verifySeconds.toFixed(1)} s (${stepTimes(verified!)})`);
  }, 240_000);

  it('starts the post-deployment checklist from the console on the embedded database, checks the local stack, and records a tick by its button', async () => {
    const { session } = await openConsole();
    const workspace = await session.get<{ channels: { id: string; name: string }[] }>('workspace');
    const ops = workspace.channels.find((channel) => channel.name === 'acgs-ops')!.id;
    const message = await typeInConsole('/acgs checklist post-deployment', 'Post-deployment checklist: ', 30_000);
    expect(message, 'no checklist message in the console').toBeDefined();
    expect(JSON.stringify(message!.blocks)).toContain('All services healthy');
    const clicked = await session.post('click', { as: 'U0ONCALL', actionId: 'acgs_checklist_tick', blockId: 'acgs_checklist_item_documentation-updated', channel: ops, messageTs: message!.ts });
    expect(clicked.status).toBe(200);
    let blocks = '';
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && !blocks.includes('Ticked by <@U0ONCALL>'); ) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const listed = await session.get<{ messages: ConsoleMessage[] }>(`messages?channel=${ops}&as=U0ONCALL`);
      blocks = JSON.stringify(listed.messages.find((found) => found.ts === message!.ts)?.blocks ?? []);
    }
    expect(blocks).toContain('Ticked by <@U0ONCALL>');
    await typeInConsole('/acgs audit --command checklist', 'Audit trail');
    let table = '';
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && !table; ) {
      const listed = await session.get<{ messages: ConsoleMessage[] }>(`messages?channel=${ops}&as=U0ONCALL`);
      const found = listed.messages.find((candidate) => /^Audit trail: .*\(command checklist\)/.test(candidate.text));
      table = found ? JSON.stringify(found.blocks) : '';
      if (!table) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(table).toMatch(/U0ONCALL +execution \(L1\) +checklist tick id=[0-9a-f]{8}-/);
    expect(table).toMatch(/U0ONCALL +result \(L1\) +checklist tick id=[^\n]* allow +ok/);
  }, 60_000);

  /**
   * `npx acgs ...` in another process, with only the state directory (no DATABASE_URL, no token)
   * and a config file whose cli_users gives this machine's user the on-call role.
   */
  function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const config = join(stateDir!, 'cli-operator.yml');
    writeFileSync(config, `roles:\n  oncall: [U0CLIOPS]\ncli_users:\n  ${JSON.stringify(userInfo().username)}: U0CLIOPS\n`);
    const cliChild = spawn(process.execPath, ['bot/cli-entry.js', ...args, '--json'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ACGS_STATE_DIR: stateDir, ACGS_STACK: 'local', ACGS_CONFIG: config },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    cliChild.stdout!.on('data', (chunk) => (stdout += chunk));
    cliChild.stderr!.on('data', (chunk) => (stderr += chunk));
    return new Promise((resolve) => cliChild.once('close', (code) => resolve({ code, stdout, stderr })));
  }

  it('lists what each local service runs, recorded by stack start from its /health on the embedded database, and no deployment in progress', async () => {
    const releases = await typeInConsole('/acgs releases', 'Releases', 30_000);
    expect(releases?.text).toMatch(/^Releases: What each service runs, from the bot's records\./);
    const table = JSON.stringify(releases?.blocks);
    for (const service of Object.keys(SERVICE_PORTS)) expect(table).toContain(service);
    expect(table.match(/found running/g)).toHaveLength(4);
    expect(table).toContain(SERVICE_VERSION);
    expect(table).toContain('stack start');
    const status = await typeInConsole('/acgs deploy status', 'Deploy status');
    expect(status?.text).toBe('Deploy status: No deployment in progress: the deploy lock is free.');
  }, 60_000);

  it('left a stale pid file of an earlier run alone: its process was never signalled, the file names the new child', async () => {
    const record = JSON.parse(readFileSync(join(stateDir!, 'run', 'policy-engine.pid'), 'utf8')) as { pid: number; supervisorPid: number };
    // The premise: same executable, same process name, same script, different cmdline. The name
    // is the real policy engine's (`node` on Node 20, `MainThread` on Node 24, which names its thread).
    const cmdline = readFileSync(`/proc/${stranger!.pid}/cmdline`, 'utf8').replace(/\0$/, '').split('\0');
    const processName = (pid: number) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    expect(cmdline[0]).toBe(STALE_ARGV[0]);
    expect(cmdline.at(-1)).toBe(STALE_ARGV.at(-1));
    expect(processName(stranger!.pid!)).toBe(processName(record.pid));
    expect(cmdline).not.toEqual(STALE_ARGV);
    expect(stranger!.exitCode).toBeNull();
    expect(stranger!.signalCode).toBeNull();
    expect(record.pid).not.toBe(stranger!.pid);
    expect(record.supervisorPid).toBe(child!.pid);
  });

  it('lets the CLI, another process, restart a service through the supervisor, read its logs and stats, and record into the embedded trail', async () => {
    const pidFile = join(stateDir!, 'run', 'sandbox-controller.pid');
    const before = (JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number }).pid;
    const restart = await cli(['restart', 'sandbox-controller']);
    expect(restart.stderr).toBe('');
    expect(restart.code).toBe(0);
    const report = JSON.parse(restart.stdout) as { health: string; durationMs: number; replicas: Array<{ previousPid: number; pid: number }> };
    expect(report.health).toBe('healthy');
    expect(report.replicas[0]!.previousPid).toBe(before);
    expect(report.replicas[0]!.pid).not.toBe(before);
    expect((JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number }).pid).toBe(report.replicas[0]!.pid);

    // LOG_LEVEL=warn here keeps the services quiet: the answer comes from the file, whatever it holds.
    const logs = await cli(['logs', 'sandbox-controller', '--tail', '5']);
    expect(logs.code).toBe(0);
    expect(JSON.parse(logs.stdout)).toMatchObject({ service: 'sandbox-controller', lines: expect.any(Array) });
    const stats = await cli(['stats', 'sandbox-controller']);
    const samples = (JSON.parse(stats.stdout) as { samples: Array<{ service: string; memory: { usedBytes: number } }> }).samples;
    expect(samples.map((sample) => sample.service)).toEqual(['sandbox-controller']);
    expect(samples[0]!.memory.usedBytes).toBeGreaterThan(1024 * 1024);

    // The same trail the console's restart went to, read by the CLI through the same channel.
    const audit = await cli(['audit', '--command', 'restart', '--limit', '6']);
    expect(audit.code).toBe(0);
    const records = (JSON.parse(audit.stdout) as { records: Array<{ kind: string; origin: string; actor: string }> }).records;
    expect(records.map((record) => `${record.kind} ${record.origin}`)).toEqual(['result cli', 'execution cli', 'command cli', 'result slash', 'execution slash', 'command slash']);
    expect(records[0]!.actor).toMatch(/^cli:/);
  }, 90_000);

  it("lets the CLI run a runbook on npm start's runner through the control channel, following its steps", async () => {
    const run = await cli(['run', 'health-check']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const followed = JSON.parse(run.stdout) as { run: { id: string; state: string; origin: string; requester: string } };
    expect(followed.run).toMatchObject({ state: 'succeeded', origin: 'cli', requester: expect.stringMatching(/^cli:/) });
    const steps = run.stderr.split('\n').filter((line) => line.includes('Step '));
    expect(steps.map((line) => line.replace(/ in [\d.]+ m?s/, '').replace(/ {2}\([\d.]+ m?s\)$/, ''))).toEqual([
      "· Step 1/2 Ask each service's /health: started",
      "✓ Step 1/2 Ask each service's /health: done",
      '· Step 2/2 Verify that every service says healthy: started',
      '✓ Step 2/2 Verify that every service says healthy: done',
    ]);
    const listed = await cli(['runs']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(followed.run.id);
  }, 60_000);

  it("lets the CLI start and tick a checklist in npm start's embedded database through the control channel", async () => {
    const started = await cli(['checklist', 'monthly-review']);
    expect(started.code, started.stdout + started.stderr).toBe(0);
    const { checklist } = JSON.parse(started.stdout) as { checklist: { id: string; startedBy: string; origin: string } };
    expect(checklist).toMatchObject({ origin: 'cli', startedBy: expect.stringMatching(/^cli:/) });
    const ticked = await cli(['checklist', 'tick', checklist.id, 'team-training']);
    expect(ticked.code, ticked.stdout + ticked.stderr).toBe(0);
    const shown = await cli(['checklist', 'show', checklist.id]);
    expect(shown.code).toBe(0);
    const events = (JSON.parse(shown.stdout) as { events: { kind?: string; item?: string | null; actor?: string; by?: string }[] }).events;
    expect(JSON.stringify(events)).toContain('team-training');
  }, 60_000);

  it("lets the CLI declare, list and update an incident and list and run a scheduled job in npm start's embedded database through the control channel", async () => {
    const declared = await cli(['incident', 'declare', 'sev3', 'CLI', 'relay', 'check']);
    expect(declared.code, declared.stdout + declared.stderr).toBe(0);
    const { incident } = JSON.parse(declared.stdout) as { incident: { key: string; severity: string; declaredBy: string; state: string } };
    expect(incident).toMatchObject({ severity: 'sev3', declaredBy: expect.stringMatching(/^cli:/), state: 'declared' });
    const listed = await cli(['incidents']);
    expect(JSON.parse(listed.stdout).incidents.map((one: { key: string }) => one.key)).toContain(incident.key);
    const updated = await cli(['incident', 'update', incident.key, 'relayed', 'update']);
    expect(updated.code, updated.stdout + updated.stderr).toBe(0);
    const jobs = await cli(['schedule']);
    expect(jobs.code, jobs.stdout + jobs.stderr).toBe(0);
    expect((JSON.parse(jobs.stdout) as { jobs: { name: string }[] }).jobs.map((job) => job.name)).toContain('cleanup');
    const ran = await cli(['schedule', 'run', 'cleanup']);
    expect(ran.code, ran.stdout + ran.stderr).toBe(0);
    expect(JSON.parse(ran.stdout).run).toMatchObject({ trigger: 'manual', requestedBy: expect.stringMatching(/^cli:/) });
  }, 60_000);

  it('posts an escalated scale as an approval request that an approver approves with its button, and records the whole flow', async () => {
    const { url, session } = await openConsole();
    const workspace = await session.get<{ channels: { id: string; name: string }[] }>('workspace');
    const ops = workspace.channels.find((channel) => channel.name === 'acgs-ops')!.id;
    const request = await typeInConsole('/acgs scale policy-engine 1', 'Approval pending: scale policy-engine 1');
    expect(request, 'no approval request in the console').toBeDefined();
    expect(JSON.stringify(request!.blocks)).toContain('policy-engine runs 1 replica');
    const clicked = await session.post('click', { as: 'U0APPROVER1', actionId: 'acgs_approval_approve', channel: ops, messageTs: request!.ts });
    expect(clicked.status).toBe(200);
    let text = '';
    for (const deadline = Date.now() + 20_000; Date.now() < deadline && !/^Approval (executed|failed)/.test(text); ) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const listed = await session.get<{ messages: ConsoleMessage[] }>(`messages?channel=${ops}&as=U0ONCALL`);
      const found = listed.messages.find((message) => message.ts === request!.ts);
      text = found?.text ?? '';
    }
    // The local stack runs one process per service: the approved scale runs once and reports what it did.
    expect(text).toMatch(/^Approval (executed|failed): scale policy-engine 1/);
    await typeInConsole('/acgs audit --command scale', 'Audit trail');
    let table = '';
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && !table; ) {
      const listed = await session.get<{ messages: ConsoleMessage[] }>(`messages?channel=${ops}&as=U0ONCALL`);
      const found = listed.messages.find((message) => /^Audit trail: .*\(command scale\)/.test(message.text));
      table = found ? JSON.stringify(found.blocks) : '';
      if (!table) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    for (const kind of ['approval requested', 'vote', 'execution', 'result']) expect(table).toContain(kind);
    // After all this console traffic the token is still only in the one start-up line.
    const token = new URL(url).searchParams.get('token')!;
    expect(output().split(token)).toHaveLength(2);
  }, 60_000);

  it('forwards the approval (a governance record) to the Audit Engine as well, through the durable outbox', async () => {
    const audit = createAuditEngineClient('http://127.0.0.1:8003');
    const wanted = ['chatops.approval_requested', 'chatops.vote', 'chatops.approval_resolved'];
    const found = new Map<string, number>();
    for (const deadline = Date.now() + 20_000; Date.now() < deadline && found.size < wanted.length; ) {
      for (const type of wanted) {
        const { events } = await audit.listEvents({ event_type: type });
        if (events.length > 0) found.set(type, events.length);
      }
      if (found.size < wanted.length) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect([...found.keys()].sort()).toEqual([...wanted].sort());
    expect((await audit.verify()).valid).toBe(true);
  }, 30_000);

  it('restores the backup from the console: two approvers approve a plan whose every check passed, and the run succeeds', async () => {
    const { session } = await openConsole();
    const workspace = await session.get<{ channels: { id: string; name: string }[] }>('workspace');
    const ops = workspace.channels.find((channel) => channel.name === 'acgs-ops')!.id;
    const [id] = readdirSync(join(stateDir!, 'backups')).filter((name) => /^\d{8}T\d{6}Z-[0-9a-f]{6}$/.test(name)).sort();
    const request = await typeInConsole(`/acgs restore ${id}`, `Approval pending: restore ${id}`, 60_000);
    expect(request, 'no approval request in the console').toBeDefined();
    const plan = JSON.stringify(request!.blocks);
    // The approval message shortens each step's text: the check's first dump, and the restore step's targets.
    expect(plan).toMatch(/checked \(read-only\): backup \S+ of \S+ \(verified [^)]*, checksums match\): audit-engine\.sql replaces audit-engine \(embedded PGlite in [^)]*\) whole: public\.\w+ \d+ rows \(now \d+\)/);
    expect(plan).toMatch(/act on databases audit-engine\.sql -&gt; audit-engine \(embedded PGlite in [^)]*\), evolution-oversight\.sql -&gt; evolution-oversight \(embedded PGlite in [^)]*\)\)/);
    expect(plan).not.toMatch(/its (check|dry run) failed/);
    // The console acts as any user of its workspace: both approvers vote.
    for (const approver of ['U0APPROVER1', 'U0APPROVER2']) {
      const clicked = await session.post('click', { as: approver, actionId: 'acgs_approval_approve', channel: ops, messageTs: request!.ts });
      expect(clicked.status).toBe(200);
    }
    let executed: ConsoleMessage | undefined;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && !executed; ) {
      const listed = await session.get<{ messages: ConsoleMessage[] }>(`messages?channel=${ops}&as=U0ONCALL`);
      executed = listed.messages.find((message) => message.ts === request!.ts && /^Approval (executed|failed)/.test(message.text));
      if (!executed) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(executed?.text).toMatch(/^Approval executed: restore/);
    const runId = runIdIn(JSON.stringify(executed!.blocks));
    expect(runId, `no run id in ${JSON.stringify(executed!.blocks)}`).toBeDefined();
    const done = await untilSucceeded(runId!, 'restore', 90);
    expect(done, 'the restore did not succeed').toBeDefined();
    // Verified, so the replaced data directories are gone.
    expect(readdirSync(join(stateDir!, 'pglite')).filter((name) => name.includes('.before-restore-') || name.includes('.restoring-'))).toEqual([]);
    // The Audit Engine's copy of its newest signed checkpoint, kept outside its database, was newer
    // than the restored chain: the run had it re-anchored, on the record, and the engine is healthy.
    const audit = createAuditEngineClient('http://127.0.0.1:8003');
    const [reanchored] = (await audit.listEvents({ event_type: 'audit.chain_reanchored' })).events;
    expect(reanchored).toMatchObject({ source: 'audit-engine', data: { backup_id: id, run_id: runId, requested_by: 'U0ONCALL', approved_by: ['U0APPROVER1', 'U0APPROVER2'] } });
    expect(await audit.health()).toMatchObject({ status: 'healthy', integrity: { valid: true } });
  }, 240_000);

  it('restarts a frozen service by itself (Level 1): the monitor fires, the bot restarts it, it is healthy within 30 s and the trail has it', async () => {
    // SIGSTOP: the process stops answering without exiting, so the supervisor does not restart it itself.
    await waitForHealth(botPort, 60_000, output);
    await waitForHealth(8002, 30_000, output);
    const pidFile = join(stateDir!, 'run', 'evolution-oversight.pid');
    const frozen = (JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number }).pid;
    const frozenAt = Date.now();
    process.kill(frozen, 'SIGSTOP');
    try {
      // The supervisor writes the new child's pid file when Level 1's restart starts it.
      const pidNow = () => {
        try {
          return (JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number }).pid;
        } catch {
          // Between the old child's exit and the new one's start there is no pid file.
          return frozen;
        }
      };
      for (const deadline = Date.now() + 40_000; Date.now() < deadline && pidNow() === frozen; ) await new Promise((resolve) => setTimeout(resolve, 200));
      if (pidNow() === frozen) expect.fail(`evolution-oversight was not restarted within 40 s of the freeze.\nAlert messages and their threads:\n${await alertThreads()}\nOutput:\n${output().slice(-3000)}`);
      expect((await waitForHealth(8002, 30_000, output)).status).toBe(200);
      // Fired within 10 s (5 s `for`), restarted (up to 10 s for SIGKILL of the stopped process), healthy.
      expect(Date.now() - frozenAt).toBeLessThanOrEqual(40_000);
      const trail = await typeInConsole('/acgs audit --command restart', 'Audit trail', 15_000, 'newest');
      expect(JSON.stringify(trail?.blocks)).toContain('acgs-bot:level-1');
    } finally {
      try {
        process.kill(frozen, 'SIGCONT');
      } catch {
        // Ended by the restart, as it should be.
      }
    }
  }, 120_000);

  it('stops every service on Ctrl-C, after the governance outbox is done with the Audit Engine', async () => {
    const running = child!;
    // A governance record (the approval request) just made, then Ctrl-C: a terminal signals the whole process group.
    await typeInConsole('/acgs scale policy-engine 1', 'Approval pending: scale policy-engine 1', 15_000, 'newest');
    const before = output().length;
    process.kill(-running.pid!, 'SIGINT');
    const code = await new Promise((resolve) => running.once('exit', resolve));
    expect(code).toBe(0);
    const stopping = output().slice(before);
    // The services are stopped by the bot in its order, not by the terminal's signal as crashes to restart.
    expect(stopping).not.toMatch(/exited \(.*\); restarting/);
    expect(stopping).not.toContain('audit delivery failed');
    for (const port of [...Object.values(SERVICE_PORTS), botPort]) {
      await expect(fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) })).rejects.toThrow();
    }
  }, 30_000);
});
