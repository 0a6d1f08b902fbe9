/**
 * The weekly security report on the real PostgreSQL and the real Audit Engine. What the bot does
 * itself is seeded through its real code paths: refused commands and a break-glass through the
 * command path (the real authorization policy), failed authentication through the real alert
 * webhook, safety violations into the engine's store. Approvals and mode changes are appended in
 * the shape the approval flow and the command path write them (their own tests cover writing
 * them). Then: posted to the Slack stand-in with its chart, and a source down costs only its part.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebClient } from '@slack/web-api';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommandPathDependencies, type CommandPathDependencies } from '../command-path/index.js';
import { buildApp } from '../../services/audit-engine/app.js';
import { loadConfig } from '../../services/audit-engine/config.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import type { Service } from '../../services/kit/service.js';
import { openTestTrail, testGate, type TestTrail } from '../../test/testing/command-access.js';
import { commandRunner, type CommandRunner } from '../../test/testing/commands.js';
import { unusedLoopbackUrl } from '../../test/testing/loopback.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { waitFor } from '../../test/testing/wait-for.js';
import { TEST_SERVICE_TOKEN, testToken } from '../../test/testing/tokens.js';
import { buildApp as buildPolicyEngine } from '../../services/policy-engine/app.js';
import { testConfig as policyEngineConfig } from '../../services/policy-engine/testing/policy-fixtures.js';
import { ALERTMANAGER_WEBHOOK_PATH, createAlertmanagerWebhook } from '../alerts/alertmanager-webhook.js';
import { authFailureRecorder } from '../audit-trail/auth-failures.js';
import { channelWriteQueue } from '../slack/channel-write-queue.js';
import { createBotHttpServer } from '../slack/http-server.js';
import { postDailyReport } from '../slack/post-daily-report.js';
import { startSlackStandIn, type SlackStandIn } from '../slack/stand-in/index.js';
import { makeSecurityReport, securityReportSources } from './security-report-service.js';
import { AUTH_FAILURE_SPIKE_PER_DAY, type SecurityReport } from './security-report.js';

const ADMIN = 'U0ADMIN';
const ONCALL = 'U0ONCALL';
const STRANGER = 'U0STRANGER';
const ALERTS_TOKEN = 'alerts-token-for-the-security-report-test-0123';
const BOT_TOKEN = 'xoxb-security-report-test';
const REPORTS = 'C0ACGSREPORTS';
const DAY = 86_400_000;

let trail: TestTrail;
let engineDb: TestDatabase;
let engine: Service;
let stateDir: string;
let webhookServer: Server;
let slack: SlackStandIn;
let services: CommandPathDependencies;
let run: CommandRunner;

beforeAll(async () => {
  [trail, engineDb] = await Promise.all([openTestTrail({ prefix: 'acgs_security_report' }), createTestDatabase('acgs_security_engine')]);
  stateDir = mkdtempSync(join(tmpdir(), 'acgs-security-report-'));
  engine = buildApp(loadConfig({ DATABASE_URL: engineDb.url, ACGS_STATE_DIR: join(stateDir, 'engine'), AUDIT_VERIFY_INTERVAL_MS: '0', ACGS_SERVICE_TOKEN: TEST_SERVICE_TOKEN }), { logger: false });
  await engine.listen({ host: '127.0.0.1', port: 0 });
  const engineUrl = `http://127.0.0.1:${(engine.server.address() as AddressInfo).port}`;
  const nowhere = await unusedLoopbackUrl();
  const endpoints = Object.fromEntries(SERVICE_NAMES.map((name) => [name, name === 'audit-engine' ? engineUrl : nowhere])) as Record<ServiceName, string>;
  services = { ...createCommandPathDependencies({ endpoints, checkTimeoutMs: 500 }), authorization: await testGate({ roles: { admins: [ADMIN], oncall: [ONCALL] } }), trail: trail.trail };
  run = commandRunner({ services: () => services });

  // Refused by the policy: a stranger twice (no role), the on-call once (break-glass is the admins').
  for (const line of ['strict-mode on', 'lockdown']) expect((await run(line, { user: STRANGER })).outcome).toBe('rejected');
  expect((await run('break-glass "policy engine is serving bad decisions" lockdown', { user: ONCALL })).outcome).toBe('rejected');
  // A break-glass an admin may make: flagged before its execution (the Policy Engine is down, so the lockdown itself fails).
  await run('break-glass "policy engine is serving bad decisions" lockdown', { user: ADMIN });

  // Failed authentication through the real webhook: a spike today.
  const record = authFailureRecorder(trail.trail);
  webhookServer = createBotHttpServer({
    health: () => ({ statusCode: 200, body: {} }),
    metrics: new Registry(),
    alertmanagerWebhook: createAlertmanagerWebhook({ token: ALERTS_TOKEN, intake: { report: async () => ({ stored: 0, duplicates: 0 }) }, onUnauthorized: (attempt) => record({ source: 'alert-webhook', ...attempt }) }),
  });
  await new Promise<void>((resolve) => webhookServer.listen(0, '127.0.0.1', resolve));
  const webhook = `http://127.0.0.1:${(webhookServer.address() as AddressInfo).port}${ALERTMANAGER_WEBHOOK_PATH}`;
  for (let attempt = 0; attempt < AUTH_FAILURE_SPIKE_PER_DAY; attempt += 1) {
    expect((await fetch(webhook, { method: 'POST', body: '{}', headers: { authorization: `Bearer guess-${attempt}` } })).status).toBe(401);
  }
  await waitFor(
    'the failed attempts in the trail',
    async () => ((await trail.trail.query({ kind: 'auth_failure', limit: 200 })).records.length >= AUTH_FAILURE_SPIKE_PER_DAY ? true : undefined),
    10_000,
    () => 'fewer auth_failure records than attempts',
  );

  // Approvals as the approval flow ends them, and mode changes as the command path records their result.
  const threeDaysAgo = new Date(Date.now() - 3 * DAY);
  for (const [request, outcome] of [['r1', 'approved'], ['r2', 'denied'], ['r3', 'expired'], ['r4', 'approved']] as const) {
    await trail.trail.append({ kind: 'approval_resolved', actor: ONCALL, origin: 'approval', command: 'strict-mode', outcome, key: `approval_resolved:${request}:${outcome}`, details: { request_id: request }, at: threeDaysAgo });
  }
  await trail.trail.append({ kind: 'result', actor: ONCALL, origin: 'approval', command: 'strict-mode', args: { state: 'on' }, outcome: 'ok', at: threeDaysAgo });
  await trail.trail.append({ kind: 'result', actor: ONCALL, origin: 'approval', command: 'lockdown lift', args: {}, outcome: 'ok', at: new Date(threeDaysAgo.getTime() + 3600_000) });
  await trail.trail.append({ kind: 'result', actor: ONCALL, origin: 'approval', command: 'strict-mode', args: { state: 'off' }, outcome: 'fail', at: threeDaysAgo });
  // Older than the week: not in the report.
  await trail.trail.append({ kind: 'break_glass', actor: ADMIN, command: 'lockdown', details: { reason: 'last month' }, at: new Date(Date.now() - 30 * DAY) });
  await trail.trail.flush();

  // Safety violations as the Policy Engine reports them to the Audit Engine.
  await engine.auditStore.append([
    { event_type: 'safety_violation', source: 'policy-engine', agent_id: 'agent-1', data: { action: 'rm -rf /', violations: [{ code: 'destructive_command' }] } },
    { event_type: 'safety_violation', source: 'policy-engine', agent_id: 'agent-2', data: { action: 'curl evil', violations: [{ code: 'network_exfiltration' }, { code: 'destructive_command' }] } },
    { event_type: 'safety_violation', source: 'policy-engine', agent_id: 'agent-3', data: { action: 'x', reasons: ['no code given'] } },
    { event_type: 'routine', data: {} },
  ]);

  // The services' refused tokens: the real Policy Engine (its outbox delivers to this engine) and the engine itself.
  const policyEngine = await buildPolicyEngine(policyEngineConfig({ ACGS_STATE_DIR: join(stateDir, 'policy-engine'), ACGS_ADMIN_TOKEN: testToken(), AUDIT_ENGINE_URL: engineUrl }));
  try {
    const policyUrl = await policyEngine.listen({ host: '127.0.0.1', port: 0 });
    for (let attempt = 0; attempt < 4; attempt += 1) {
      expect((await fetch(`${policyUrl}/admin/clear-cache`, { method: 'POST', headers: { authorization: `Bearer ${testToken()}` } })).status).toBe(401);
    }
  } finally {
    // Closing hands the minute's count to the outbox, which delivers it before it closes.
    await policyEngine.close();
  }
  for (let attempt = 0; attempt < 3; attempt += 1) {
    expect((await fetch(`${engineUrl}/audit/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"event_type":"forged"}' })).status).toBe(401);
  }
  await engine.authRefusals.flush();

  slack = await startSlackStandIn({ botToken: BOT_TOKEN, console: false, workspace: { channels: [{ id: REPORTS, name: 'acgs-reports' }] } });
}, 60_000);

afterAll(async () => {
  await slack?.close();
  await new Promise<void>((resolve) => (webhookServer ? webhookServer.close(() => resolve()) : resolve()));
  await engine?.close().catch(() => undefined);
  await trail?.close();
  await engineDb?.drop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('the weekly security report', () => {
  it('counts the week by reason and by who, both chains, violations by kind and mode changes, with what needs a human first', async () => {
    const { document } = await makeSecurityReport(securityReportSources(services));
    const report = document.data as SecurityReport;

    expect(report.refused).toMatchObject({ state: 'ok', value: { total: 3 } });
    const refused = report.refused.state === 'ok' ? report.refused.value : undefined;
    expect(refused!.by_actor).toEqual([
      { name: STRANGER, count: 2 },
      { name: ONCALL, count: 1 },
    ]);
    expect(refused!.by_reason.reduce((sum, one) => sum + one.count, 0)).toBe(3);
    expect(refused!.per_day.at(-1)!.count).toBe(3);

    expect(report.failed_authentication).toMatchObject({ state: 'ok', value: { total: AUTH_FAILURE_SPIKE_PER_DAY, by_source: [{ name: 'alert-webhook', count: AUTH_FAILURE_SPIKE_PER_DAY }] } });
    expect(report.service_refusals).toMatchObject({
      state: 'ok',
      value: {
        // The Audit Engine's own 3 refusals stay on its /metrics: they never enter its chain.
        total: 4,
        by_source: [{ name: 'policy-engine admin token', count: 4 }],
        spikes: [],
        cut: false,
      },
    });
    expect(report.service_refusals.state === 'ok' && report.service_refusals.value.per_day.at(-1)!.count).toBe(4);
    expect(document.blocks.some((block) => JSON.stringify(block).includes('4 requests with a wrong or missing token refused by the services this week.'))).toBe(true);
    expect(report.break_glass.state === 'ok' && report.break_glass.value.uses.map((use) => [use.actor, use.command, use.reason])).toEqual([[ADMIN, 'lockdown', 'policy engine is serving bad decisions']]);
    expect(report.approvals).toEqual({
      state: 'ok',
      value: {
        by_outcome: [
          { name: 'approved', count: 2 },
          { name: 'denied', count: 1 },
          { name: 'expired', count: 1 },
        ],
        cut: false,
      },
    });
    expect(report.audit_engine_chain).toMatchObject({ state: 'ok', value: { valid: true } });
    expect(report.bot_trail_chain).toMatchObject({ state: 'ok', value: { valid: true } });
    expect(report.violations).toEqual({
      state: 'ok',
      value: {
        total: 3,
        by_kind: [
          { name: 'destructive_command', count: 2 },
          { name: 'network_exfiltration', count: 1 },
          { name: 'unnamed', count: 1 },
        ],
        cut: false,
      },
    });
    expect(report.mode_changes.state === 'ok' && report.mode_changes.value.changes.map((change) => [change.change, change.actor])).toEqual([
      ['strict-mode on', ONCALL],
      ['lockdown lift', ONCALL],
    ]);

    // Break-glass and the spike first; nothing else needs a human.
    expect(report.needs_a_human).toHaveLength(2);
    expect(report.needs_a_human[0]).toMatch(new RegExp(`^break-glass by ${ADMIN} at .*: lockdown \\("policy engine is serving bad decisions"\\): review it$`));
    expect(report.needs_a_human[1]).toMatch(new RegExp(`^${AUTH_FAILURE_SPIKE_PER_DAY} failed authentication attempts on \\d{4}-\\d{2}-\\d{2}`));
    expect(document.title).toBe('Weekly security report');
    expect(document.summary).toBe('2 things need a human this week.');
    expect(document.blocks[0]).toMatchObject({ type: 'checks', items: [{ name: 'Needs a human', tone: 'warn' }, { name: 'Needs a human', tone: 'warn' }] });
    expect(document.footer).toContain('Charts: security-per-day.png');
    expect(JSON.parse(JSON.stringify(document.data))).toEqual(report);
  }, 60_000);

  it('posts the report with its chart in the thread; a refused upload goes as text', async () => {
    const client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
    const poster = { channel: REPORTS, post: (made: Parameters<typeof postDailyReport>[2]) => postDailyReport({ client, queue: channelWriteQueue(client) }, { channel: REPORTS }, made) };
    const { document, posted } = await makeSecurityReport(securityReportSources(services), poster);
    expect(posted!.charts.map((chart) => [chart.filename, chart.as])).toEqual([['security-per-day.png', 'image']]);
    expect(slack.messages(REPORTS).find((message) => message.ts === posted!.ts)!.text).toContain('Weekly security report');
    expect(slack.thread(REPORTS, posted!.ts).flatMap((message) => message.files ?? []).map((file) => file.name)).toEqual(['security-per-day.png']);
    expect(document.footer).toContain(`Posted to #acgs-reports with 1 chart.`);

    slack.rateLimitNext('files.completeUploadExternal', 1, 5);
    const refused = await makeSecurityReport(securityReportSources(services), poster);
    expect(refused.posted!.charts.map((chart) => [chart.filename, chart.as])).toEqual([['security-per-day.png', 'text']]);
    expect(slack.thread(REPORTS, refused.posted!.ts).some((message) => message.text?.includes('refused commands') && message.text.includes('failed authentication'))).toBe(true);
  }, 60_000);

  it('still reports the rest when the Audit Engine is down or the process has no trail, saying which part is missing', async () => {
    const nowhere = await unusedLoopbackUrl();
    const engineDown = { ...services, ...createCommandPathDependencies({ endpoints: Object.fromEntries(SERVICE_NAMES.map((name) => [name, nowhere])) as Record<ServiceName, string>, checkTimeoutMs: 500, callTimeoutMs: 500 }), trail: trail.trail };
    const withoutEngine = (await makeSecurityReport(securityReportSources(engineDown))).document.data as SecurityReport;
    expect(withoutEngine.audit_engine_chain.state === 'missing' && withoutEngine.audit_engine_chain.reason).toMatch(/^audit chain unavailable: /);
    expect(withoutEngine.violations.state === 'missing' && withoutEngine.violations.reason).toMatch(/^safety violations unavailable: /);
    expect(withoutEngine.service_refusals.state === 'missing' && withoutEngine.service_refusals.reason).toMatch(/^services' refused tokens unavailable: /);
    expect(withoutEngine.refused.state).toBe('ok');
    expect(withoutEngine.bot_trail_chain.state).toBe('ok');
    expect(withoutEngine.needs_a_human.slice(0, 3).map((need) => need.split(':')[0])).toEqual(['audit chain unavailable', 'safety violations unavailable', "services' refused tokens unavailable"]);

    const noTrail = { ...services, trailProblem: 'no DATABASE_URL and no npm start' };
    delete (noTrail as Partial<CommandPathDependencies>).trail;
    const { document } = await makeSecurityReport(securityReportSources(noTrail));
    const withoutTrail = document.data as SecurityReport;
    for (const part of [withoutTrail.refused, withoutTrail.failed_authentication, withoutTrail.break_glass, withoutTrail.approvals, withoutTrail.mode_changes]) {
      expect(part).toEqual({ state: 'missing', reason: 'audit trail unavailable: no DATABASE_URL and no npm start' });
    }
    expect(withoutTrail.bot_trail_chain).toEqual({ state: 'missing', reason: "bot's audit trail chain unavailable: no DATABASE_URL and no npm start" });
    expect(withoutTrail.violations.state).toBe('ok');
    // One line per missing source, not one per part.
    expect(withoutTrail.needs_a_human).toEqual(['audit trail unavailable: no DATABASE_URL and no npm start', "bot's audit trail chain unavailable: no DATABASE_URL and no npm start"]);
    // The services' refused tokens come from the Audit Engine, so the chart still has them.
    expect(document.footer).toContain('Charts: security-per-day.png');
    // Neither the trail nor the Audit Engine: nothing to draw, and no chart.
    const nothing = { ...engineDown, trailProblem: 'no DATABASE_URL and no npm start' };
    delete (nothing as Partial<CommandPathDependencies>).trail;
    expect((await makeSecurityReport(securityReportSources(nothing))).document.footer).not.toContain('Charts:');
  }, 60_000);
});
