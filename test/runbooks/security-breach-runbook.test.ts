/**
 * The `security-breach` runbook end to end: typed through the command path, approved (Level 2) or
 * started by an admin's break-glass, run by the bot's runbook engine on the real PostgreSQL against
 * the four real service processes of the local stack (test/testing/local-stack.ts, spare ports),
 * with the real incident store, checklist book and approval store, and the security contact's
 * webhook a local receiver that checks signatures. Asserts: strict mode on, the lockdown asked as
 * a Level 4 approval request (not engaged), the evidence archive verified and its manifest hash in
 * the trail, a tampered file named, secrets out of the archive, the incident's timeline, the
 * impact checklist, the contact told; and bad input refused with nothing run.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApprovalStore, localApprovalSignals, migrateApprovalStore, type ApprovalStore } from '../../bot/approvals/index.js';
import { createCommandPathDependencies, decideOnApproval, executeCommandLine, type CommandPathDependencies } from '../../bot/command-path/index.js';
import { commandIncidents, createIncidentStore, migrateIncidentStore } from '../../bot/incidents/index.js';
import type { IncidentStore } from '../../bot/incidents/incident-store.js';
import { resolveContacts } from '../../bot/paging/index.js';
import { incidentResponseHostPorts, startRunbookEngine, type RunbookEngine } from '../../bot/runbook-runs/index.js';
import { createCommandRegistry } from '../../commands/index.js';
import { allChecklists, createChecklistBook, emergencyChecklists, migrateChecklistStore } from '../../runbooks/checklists/index.js';
import { MANIFEST_FILE, securityBreach, verifyEvidenceArchive } from '../../runbooks/emergency/index.js';
import { sha256 } from '../../runbooks/emergency/evidence-archive.js';
import type { StepContext } from '../../runbooks/engine/definition.js';
import { RunFailedError } from '../../runbooks/engine/errors.js';
import { FINAL_RUN_STATES, type RunState } from '../../runbooks/engine/run-store.js';
import { createPolicyEngineClient } from '../../services/clients/policy-engine.js';
import { SERVICE_NAMES } from '../../services/kit/service-ports.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { commandRunner, type CommandRunner } from '../testing/commands.js';
import { startTestLocalStack, type TestLocalStack } from '../testing/local-stack.js';
import { startWebhookReceiver, type WebhookReceiver } from '../testing/webhook-receiver.js';
import { runTables, waitForRunState } from './testing/run-records.js';

const ONCALL = 'U0ONCALL';
const APPROVER = 'U0APPROVER';
const ADMIN = 'U0ADMIN';
const SECRET = 'security-team-webhook-secret-0123456789';
const CONFIG_SECRET = 'config-file-secret-value-0123456789';

let local: TestLocalStack;
let trail: TestTrail;
let engine: RunbookEngine;
let approvals: ApprovalStore;
let incidentStore: IncidentStore;
let services: CommandPathDependencies;
let receiver: WebhookReceiver;
let scratch: string;
let evidenceDir: string;
let run: CommandRunner;
let stepPorts: StepContext<unknown>['ports'];
const registry = createCommandRegistry();

beforeAll(async () => {
  // Under vitest the services log nothing (services/kit/service.ts): the evidence needs their
  // log lines, so the service processes start without the test marker, as under npm start.
  const marker = { VITEST: process.env.VITEST, NODE_ENV: process.env.NODE_ENV };
  delete process.env.VITEST;
  delete process.env.NODE_ENV;
  try {
    local = await startTestLocalStack('acgs-security-breach');
  } finally {
    for (const [key, value] of Object.entries(marker)) if (value !== undefined) process.env[key] = value;
  }
  trail = await openTestTrail({ prefix: 'acgs_security_breach' });
  receiver = await startWebhookReceiver(SECRET);
  scratch = mkdtempSync(join(tmpdir(), 'acgs-security-breach-'));
  evidenceDir = join(scratch, 'evidence');
  const configPath = join(scratch, 'acgs.yaml');
  writeFileSync(configPath, `channels: { ops: C0OPS }\ncontacts:\n  security-team:\n    webhook: { url: ${receiver.url}, secret: ${CONFIG_SECRET} }\n`);

  await migrateApprovalStore(trail.pool);
  approvals = createApprovalStore({ pool: trail.pool, signals: localApprovalSignals() });
  await migrateIncidentStore(trail.pool);
  incidentStore = createIncidentStore(trail.pool);
  await migrateChecklistStore(trail.pool);
  const contacts = resolveContacts({ 'security-team': { webhook: { url: receiver.url, secret: SECRET } } }, {});

  const commands = createCommandPathDependencies({ endpoints: local.services.endpoints, adminToken: local.services.adminToken, serviceToken: local.services.serviceToken, stack: local.stack, checkTimeoutMs: 5000 });
  engine = await startRunbookEngine({
    pool: trail.pool,
    trail: trail.trail,
    runbooks: [securityBreach],
    ports: (stepPorts = {
      commands: { ...commands, trail: trail.trail },
      incidentResponse: incidentResponseHostPorts({
        services: () => services,
        incidentStore: () => incidentStore,
        execute: (request) => executeCommandLine({ registry, services }, request),
        contactsFor: (issueType) => (issueType === 'security' ? [...contacts.values()] : []),
        trail: trail.trail,
        evidenceDir,
        configFiles: [{ name: 'acgs.yaml', path: configPath }],
        settings: { ACGS_ADMIN_TOKEN: local.services.adminToken, PORT: '3000' },
        secrets: [local.services.adminToken, local.services.serviceToken],
      }),
    }),
    executor: { leaseMs: 10_000, renewEveryMs: 1000, scanEveryMs: 100 },
  });
  services = {
    ...commands,
    authorization: await testGate({ roles: { oncall: [ONCALL], approvers: [APPROVER, 'U0APPROVER2'], admins: [ADMIN] } }),
    trail: trail.trail,
    approvals,
    runs: engine.runs,
    incidents: commandIncidents(incidentStore, { timezone: 'UTC' }),
  };
  services.checklists = createChecklistBook({ pool: trail.pool, definitions: [...allChecklists, ...emergencyChecklists], services });
  run = commandRunner({ services: () => services, user: ONCALL });
}, 120_000);

afterAll(async () => {
  await engine?.stop();
  await receiver?.close();
  await trail?.close();
  await local?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}, 60_000);

const policy = () => createPolicyEngineClient({ baseUrl: local.services.endpoints['policy-engine'], adminToken: local.services.adminToken, actor: 'security-breach-test' });

async function ended(runId: string) {
  return waitForRunState(engine.store, runId, [...FINAL_RUN_STATES, 'needs_decision'] as RunState[], 60_000);
}

function outputs(attempts: Awaited<ReturnType<RunbookEngine['runs']['get']>>['attempts']) {
  return Object.fromEntries(attempts.filter((attempt) => attempt.action === 'run').map((attempt) => [attempt.stepId, attempt.output as Record<string, unknown> & { summary: string }]));
}

describe('run security-breach', () => {
  it('asks one approver (Level 2); approved, it declares the incident, contains, preserves evidence, starts the checklist and pages the security team', async () => {
    const asked = await run('run security-breach');
    expect(asked.approval, JSON.stringify(asked.document)).toBeDefined();
    expect((await policy().metrics()).mode.strict).toBe(false);
    const approved = await decideOnApproval({ registry, services }, { id: asked.approval!.id, choice: 'approve', actor: { id: APPROVER } });
    expect(approved.code).toBe('executed');
    const runId = (approved.ran?.document.data as { run: { id: string } }).run.id;
    const finished = await ended(runId);
    const detail = await engine.runs.get(runId);
    expect(finished.state, JSON.stringify(detail.attempts.map((attempt) => [attempt.stepId, attempt.outcome, attempt.error]))).toBe('succeeded');
    const out = outputs(detail.attempts);
    // Its last line says only what the steps did: without the contacts' step, that nobody was told.
    expect(securityBreach.outcome!(out)).toMatch(/^INC-\d+: strict mode on, lockdown asked of the approvers, evidence archived \(MANIFEST\.sha256 [0-9a-f]{16}…\), 1 of 1 security contacts told\.$/);
    const { ['notify-security-contacts']: _told, ...skipped } = out;
    expect(securityBreach.outcome!(skipped)).toMatch(/, NO security contact told: tell them by hand\.$/);

    // The incident: declared sev1, security, private, the requester its commander.
    const incidentKey = (out['open-incident']!.incident as { key: string }).key;
    const incident = (await incidentStore.find(incidentKey))!;
    expect({ severity: incident.severity, type: incident.type, private: incident.private, declaredBy: incident.declaredBy }).toEqual({ severity: 'sev1', type: 'security', private: true, declaredBy: ONCALL });

    // Containment: strict mode on at once; the lockdown asked of two approvers, not engaged.
    const modes = (await policy().metrics()).mode;
    expect(modes).toMatchObject({ strict: true, lockdown: false });
    const lockdownRequest = (await approvals.get(out['request-lockdown']!.approvalId as string))!;
    expect(lockdownRequest).toMatchObject({ state: 'pending', requester: ONCALL, approvalsRequired: 2 });
    expect(lockdownRequest.action.command).toBe('lockdown');
    expect(out['request-lockdown']!.summary).toMatch(/break-glass/);

    // Evidence: the archive verifies; its manifest's hash is the one the trail holds.
    const dir = out['preserve-evidence']!.dir as string;
    const verification = await verifyEvidenceArchive(dir);
    expect(verification.valid, JSON.stringify(verification.problems)).toBe(true);
    const manifestHash = sha256(readFileSync(join(dir, MANIFEST_FILE)));
    expect(out['preserve-evidence']!.manifestSha256).toBe(manifestHash);
    const recorded = (await trail.trail.query({ kind: 'evidence_archive', limit: 10 })).records;
    expect(recorded).toHaveLength(1);
    expect(recorded[0]!.details).toMatchObject({ manifest_sha256: manifestHash, incident: incidentKey, dir });
    const names = readdirSync(dir).sort();
    expect(names).toEqual(['MANIFEST.sha256', 'about.json', 'audit-chains.json', 'config-acgs.yaml', ...SERVICE_NAMES.map((service) => `logs-${service}.txt`).sort(), 'settings.json', 'versions.json'].sort());
    const chains = JSON.parse(readFileSync(join(dir, 'audit-chains.json'), 'utf8')) as { audit_engine: { hash: string; valid: boolean }; bot_trail: { hash: string; sequence: number } };
    expect(chains.audit_engine).toMatchObject({ valid: true, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(chains.bot_trail.sequence).toBeGreaterThan(0);
    // Each service's file says what was read; a quiet service may have written nothing in the window, the stack as a whole has.
    const logs = SERVICE_NAMES.map((service) => readFileSync(join(dir, `logs-${service}.txt`), 'utf8'));
    logs.forEach((text, index) => expect(text, SERVICE_NAMES[index]).toMatch(new RegExp(`^# ${SERVICE_NAMES[index]}: \\d+ lines since `)));
    expect(logs.reduce((sum, text) => sum + Number(/: (\d+) lines since/.exec(text)![1]), 0), logs.join('\n')).toBeGreaterThan(0);
    const versions = JSON.parse(readFileSync(join(dir, 'versions.json'), 'utf8')) as Record<string, { version?: string; status?: string }>;
    for (const service of SERVICE_NAMES) expect(versions[service]?.version, service).toEqual(expect.any(String));
    // Secrets stay out: the config's webhook secret, the admin and service tokens, wherever they were.
    for (const name of names) {
      const text = readFileSync(join(dir, name), 'utf8');
      for (const secret of [CONFIG_SECRET, local.services.adminToken, local.services.serviceToken]) expect(text.includes(secret), `${name} holds a secret`).toBe(false);
    }
    expect(readFileSync(join(dir, 'config-acgs.yaml'), 'utf8')).toContain('channels: { ops: C0OPS }');

    // Impact assessment: the checklist started, its automatic items checked.
    const checklistId = out['impact-assessment']!.checklist as string;
    const { checklist } = await services.checklists!.get(checklistId);
    expect(checklist.checklist).toBe('security-impact-assessment');
    expect(checklist.items.find((item) => item.id === 'audit-chains-intact')!.state).not.toBe('unchecked');

    // The security team's webhook got one signed page naming the incident and the archive.
    const pages = receiver.accepted();
    expect(pages).toHaveLength(1);
    expect(pages[0]).toMatchObject({ type: 'acgs.incident.security', contact: 'security-team', details: { incident: incidentKey, run: runId, manifest_sha256: manifestHash } });

    // Every step is on the incident's timeline, by this run.
    const steps = (await incidentStore.timeline(incident.id)).filter((entry) => entry.kind === 'runbook-step');
    expect(steps.map((entry) => entry.text.split(':')[0])).toEqual(securityBreach.steps.map((step) => step.title.split(':')[0]));
    expect(new Set(steps.map((entry) => entry.reference))).toEqual(new Set([`run:${runId}`]));

    // A file changed afterwards is named, and the manifest still hashes to what the trail holds.
    writeFileSync(join(dir, 'logs-policy-engine.txt'), 'nothing happened here\n');
    const tampered = await verifyEvidenceArchive(dir);
    expect(tampered.valid).toBe(false);
    expect(tampered.problems).toEqual([expect.objectContaining({ file: 'logs-policy-engine.txt', problem: 'changed' })]);
    expect(tampered.manifestSha256).toBe(manifestHash);
  }, 120_000);

  it('attaches to an open incident when an admin breaks glass, and refuses a closed, unknown or malformed one with nothing run', async () => {
    const declared = await incidentStore.declare({ title: 'Odd tokens in the audit trail', severity: 'sev2', type: 'security', declaredBy: ONCALL, at: new Date() });
    const before = await runTables(trail.pool);
    for (const line of ['run security-breach incident=INC-99999', 'run security-breach incident=twelve', 'run security-breach incident=INC-1 extra=1']) {
      const refused = await run(line);
      expect(refused.outcome, `${line}: ${JSON.stringify(refused.document)}`).toBe('rejected');
    }
    const plan = await run(`run security-breach incident=${declared.key} --dry-run`);
    expect(plan.outcome, JSON.stringify(plan.document)).not.toBe('rejected');
    expect(JSON.stringify(plan.document)).toContain(`Attaches to ${declared.key}`);
    expect(await runTables(trail.pool)).toEqual(before);

    const started = await run(`break-glass "SOC confirmed the breach at 02:10" run security-breach incident=${declared.key}`, { user: ADMIN });
    expect(started.document.title, JSON.stringify(started.document)).toMatch(/^BREAK-GLASS: Run started: /);
    const runId = (started.document.data as { run: { id: string } }).run.id;
    const finished = await ended(runId);
    expect(finished.state).toBe('succeeded');
    const out = outputs((await engine.runs.get(runId)).attempts);
    expect(out['open-incident']!.summary).toBe(`Attached to ${declared.key} (sev2, security, private): Odd tokens in the audit trail.`);
    expect(out['strict-mode']!.summary).toBe('Strict mode was on already.');
    const steps = (await incidentStore.timeline(declared.id)).filter((entry) => entry.kind === 'runbook-step');
    expect(steps).toHaveLength(securityBreach.steps.length);

    await incidentStore.resolve(declared.id, ONCALL, new Date());
    await incidentStore.close(declared.id, ONCALL, new Date());
    const closed = await run(`run security-breach incident=${declared.key}`);
    expect(closed.outcome).toBe('rejected');
    expect(JSON.stringify(closed.document)).toContain('is closed');
  }, 120_000);

  it('starts in lockdown (its rule allows it) and says the lockdown is on already instead of asking for it', async () => {
    const inLockdown: CommandPathDependencies = { ...services, authorization: await testGate({ roles: { oncall: [ONCALL], approvers: [APPROVER, 'U0APPROVER2'], admins: [ADMIN] }, modes: { strict: false, lockdown: true } }) };
    const saved = services;
    await policy().setMode('emergency-lockdown', 'security-breach test: a lockdown before the run');
    services = inLockdown;
    try {
      // Another runbook is refused in lockdown; this one asks its approver as usual.
      const other = await run('run restore id=20260101T000000Z-abcdef');
      expect(other.outcome).toBe('rejected');
      expect(JSON.stringify(other.document)).toContain('emergency lockdown');
      const asked = await run('run security-breach');
      expect(asked.approval, JSON.stringify(asked.document)).toBeDefined();
      const decided = await decideOnApproval({ registry, services }, { id: asked.approval!.id, choice: 'approve', actor: { id: APPROVER } });
      expect(decided.code, JSON.stringify(decided)).toBe('executed');
      const runId = (decided.ran?.document.data as { run?: { id: string } } | undefined)?.run?.id;
      expect(runId, JSON.stringify(decided)).toBeDefined();
      const finished = await ended(runId!);
      expect(finished.state, finished.reason ?? '').toBe('succeeded');
      const out = outputs((await engine.runs.get(runId!)).attempts);
      expect(out['request-lockdown']).toMatchObject({ summary: 'The stack is in lockdown already: no lockdown was asked for.', state: 'in-place' });
    } finally {
      services = saved;
      await policy().setMode('lift-lockdown', 'security-breach test: lockdown lifted');
    }
  }, 120_000);

  it('keeps a finished archive when its step runs again (a takeover), rebuilds an unfinished one, and stops on one changed since', async () => {
    const declared = await incidentStore.declare({ title: 'Archive takeover', severity: 'sev3', type: 'security', declaredBy: ONCALL, at: new Date() });
    const step = securityBreach.steps.find((candidate) => candidate.id === 'preserve-evidence')!;
    const runId = randomUUID();
    let attempt = 0;
    const once = async () =>
      (await step.run({
        runId,
        requester: ONCALL,
        origin: 'slash',
        approvedBy: [],
        args: {},
        outputs: { 'open-incident': { incident: { key: declared.key, channelId: null, title: declared.title } } },
        attempt: ++attempt,
        signal: AbortSignal.timeout(60_000),
        ports: stepPorts,
        progress: () => undefined,
      })) as { dir: string; manifestSha256: string; files: Array<{ name: string }> };
    const first = await once();
    const again = await once();
    expect(again.manifestSha256).toBe(first.manifestSha256);
    expect(again.files.map((file) => file.name)).toEqual(first.files.map((file) => file.name));
    const records = (await trail.trail.query({ kind: 'evidence_archive', limit: 50 })).records.filter((record) => (record.details as { run?: string }).run === runId);
    expect(records).toHaveLength(1);

    unlinkSync(join(first.dir, MANIFEST_FILE));
    const rebuilt = await once();
    expect((await verifyEvidenceArchive(rebuilt.dir)).valid).toBe(true);
    expect(rebuilt.files.map((file) => file.name)).toEqual(first.files.map((file) => file.name));

    writeFileSync(join(rebuilt.dir, 'versions.json'), '{}\n');
    const stopped = once();
    await expect(stopped).rejects.toBeInstanceOf(RunFailedError);
    await expect(stopped).rejects.toThrow(/versions\.json: changed/);
    expect((await incidentStore.timeline(declared.id)).filter((entry) => entry.kind === 'runbook-step')).toHaveLength(3);
  }, 60_000);
});
