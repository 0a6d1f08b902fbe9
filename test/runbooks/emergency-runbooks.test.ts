/**
 * The emergency runbooks (`constitutional-emergency`, `outage`) through the command path and the
 * bot's runbook engine on the real PostgreSQL, against the four real services of `npm start`
 * (test/testing/local-stack.ts): real violations made by the real Policy Engine and read back
 * from the real Audit Engine; the lockdown a real approval request of the real store (and not
 * applied); the incident declared or joined with its timeline in the bot's incident store; the
 * contacts paged at a local webhook receiver that checks each signature; a frozen service
 * restarted through `restart` at its own level. Bad input (an unknown incident, a closed one, a
 * malformed key) is refused and nothing runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApprovalStore, migrateApprovalStore, type ApprovalStore } from '../../bot/approvals/index.js';
import type { CommandPathDependencies } from '../../bot/command-path/index.js';
import { DEFAULT_ESCALATION } from '../../bot/alerts/escalation-matrix.js';
import { commandIncidents, createIncidentStore, migrateIncidentStore } from '../../bot/incidents/index.js';
import type { IncidentStore } from '../../bot/incidents/incident-store.js';
import { createIncidentPages, resolveContacts } from '../../bot/paging/index.js';
import { startRunbookEngine, type RunbookEngine } from '../../bot/runbook-runs/index.js';
import { runCommandLines } from '../../bot/runbook-runs/run-command-lines.js';
import { createCommandDependencies } from '../../commands/dependencies.js';
import { createCommandRegistry } from '../../commands/index.js';
import type { Incidents } from '../../commands/ports.js';
import { constitutionalEmergencyRunbook, outageRunbook } from '../../runbooks/emergency/index.js';
import { FINAL_RUN_STATES, type RunState } from '../../runbooks/engine/run-store.js';
import { createPolicyEngineClient } from '../../services/clients/policy-engine.js';
import { dangerousInput } from '../../services/policy-engine/testing/policy-fixtures.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { commandRunner, type CommandRunner } from '../testing/commands.js';
import { startTestLocalStack, type TestLocalStack } from '../testing/local-stack.js';
import { waitFor } from '../testing/wait-for.js';
import { startWebhookReceiver, type WebhookReceiver } from '../testing/webhook-receiver.js';
import { runTables, waitForRunState } from './testing/run-records.js';

const ONCALL = 'U0ONCALL';
const APPROVERS = ['U0APPROVER1', 'U0APPROVER2'];
const SECRET = 'emergency-runbooks-webhook-secret-0123456789';
const AGENT = `agent-emergency-${process.pid}`;

let local: TestLocalStack;
let trail: TestTrail;
let engine: RunbookEngine;
let approvals: ApprovalStore;
let incidentStore: IncidentStore;
let incidents: Incidents;
let receiver: WebhookReceiver;
let services: CommandPathDependencies;
let run: CommandRunner;
const announced: string[] = [];

beforeAll(async () => {
  [local, trail, receiver] = await Promise.all([startTestLocalStack('acgs-emergency'), openTestTrail({ prefix: 'acgs_emergency' }), startWebhookReceiver(SECRET)]);
  await migrateApprovalStore(trail.pool);
  await migrateIncidentStore(trail.pool);
  approvals = createApprovalStore({ pool: trail.pool });
  incidentStore = createIncidentStore(trail.pool);
  incidents = commandIncidents(incidentStore, { timezone: 'UTC' });
  const commands = createCommandDependencies({ endpoints: local.services.endpoints, adminToken: local.services.adminToken, serviceToken: local.services.serviceToken, stack: local.stack });
  const contacts = resolveContacts({ oversight: { webhook: { url: receiver.url, secret: SECRET } } }, {});
  const matrix = { issueTypes: { ...DEFAULT_ESCALATION.issueTypes, constitutional: { primary: ['oncall', 'oversight'], secondary: ['approvers'], escalation: ['admins'] }, infrastructure: { primary: ['oversight'], secondary: [], escalation: [] } } };
  const registry = createCommandRegistry();
  engine = await startRunbookEngine({
    pool: trail.pool,
    trail: trail.trail,
    runbooks: [constitutionalEmergencyRunbook, outageRunbook],
    ports: {
      commands,
      incidents,
      commandLines: runCommandLines({
        execution: { registry, get services() { return services; } },
        // Where the bot posts the request with its buttons (bot/main.ts); here, where it would go.
        announce: async (request) => {
          announced.push(request.id);
          return ['C0RUNTHREAD'];
        },
      }),
      contactPages: createIncidentPages({ contacts, matrix }),
    },
    executor: { leaseMs: 10_000, renewEveryMs: 1000, scanEveryMs: 100 },
  });
  services = { ...commands, authorization: await testGate({ roles: { oncall: [ONCALL], approvers: APPROVERS } }), trail: trail.trail, approvals, runs: engine.runs, incidents };
  run = commandRunner({ services: () => services, user: ONCALL });
}, 90_000);

afterAll(async () => {
  await engine?.stop();
  await Promise.all([trail?.close(), local?.close(), receiver?.close()]);
});

async function runToEnd(line: string): Promise<{ id: string; state: string; reason: string | null; outputs: Record<string, { summary?: string; evidence?: unknown }> }> {
  const started = await run(line);
  expect(started.document.title, JSON.stringify(started.document)).toMatch(/^Run started: /);
  const id = (started.document.data as { run: { id: string } }).run.id;
  const ended = await waitForRunState(engine.store, id, [...FINAL_RUN_STATES, 'needs_decision'] as RunState[], 60_000);
  const { attempts } = await engine.runs.get(id);
  const outputs = Object.fromEntries(attempts.filter((attempt) => attempt.outcome === 'done').map((attempt) => [attempt.stepId, attempt.output as { summary?: string; evidence?: unknown }]));
  return { id, state: ended.state, reason: ended.reason, outputs };
}

const timelineTexts = async (key: string) => (await incidentStore.timeline(key)).map((entry) => entry.text);

describe('run constitutional-emergency', () => {
  it('declares a sev1 constitutional incident, proposes the lockdown as an approval request without applying it, gathers the real violations by agent and action, and pages the oversight contact', async () => {
    const policy = createPolicyEngineClient({ baseUrl: local.services.endpoints['policy-engine'], adminToken: local.services.adminToken, actor: 'emergency-test' });
    for (let i = 0; i < 3; i += 1) expect((await policy.decide(dangerousInput(AGENT))).safety_violation).toBe(true);
    const inAudit = async () => (await services.auditEngine.listEvents({ event_type: 'safety_violation', agent_id: AGENT })).events.length;
    await waitFor('the violations in the Audit Engine', async () => ((await inAudit()) >= 3 ? true : undefined), 20_000, async () => `${await inAudit()} there`);

    const ended = await runToEnd('run constitutional-emergency title="Agents breaking the safety principle"');
    expect(ended.state, ended.reason ?? '').toBe('succeeded');

    const incident = ended.outputs['incident']!.evidence as { key: string; declared: boolean };
    expect(incident.declared).toBe(true);
    const info = (await incidents.find(incident.key))!;
    expect(info).toMatchObject({ severity: 'sev1', type: 'constitutional', title: 'Agents breaking the safety principle', declaredBy: ONCALL, state: 'declared' });

    // The lockdown waits for two approvers who are not the requester; the engine is not locked down.
    const proposal = ended.outputs['propose-lockdown']!.evidence as { outcome: { kind: string; request: string; approvalsRequired: number } };
    expect(proposal.outcome.kind).toBe('approval');
    expect(announced).toContain(proposal.outcome.request);
    const request = (await approvals.get(proposal.outcome.request))!;
    expect(request).toMatchObject({ requester: ONCALL, level: 4, approvalsRequired: 2, state: 'pending' });
    expect(request.action.command).toBe('lockdown');
    expect(request.action.line).toContain(incident.key);
    expect((await policy.metrics()).mode.lockdown).toBe(false);
    expect(ended.outputs['propose-lockdown']!.summary).toMatch(/nothing is locked down until approvers approve/);

    // The patterns come from the real Audit Engine and Policy Engine.
    const details = ended.outputs['gather-violations']!.evidence as { patterns: { byAgent: { key: string; count: number }[]; byAction: { key: string; count: number }[] }; engine: { violationsTotal: number }; unread: Record<string, string> };
    expect(details.patterns.byAgent.find((entry) => entry.key === AGENT)?.count).toBeGreaterThanOrEqual(3);
    expect(details.patterns.byAction.map((entry) => entry.key)).toContain('system.execute_shell');
    expect(details.engine.violationsTotal).toBeGreaterThanOrEqual(3);
    expect(details.unread).toEqual({});
    expect(ended.outputs['gather-violations']!.summary).toContain(`${AGENT} ×`);

    const safeguards = (ended.outputs['additional-safeguards']!.evidence as { safeguards: { id: string; state: string; command?: string }[] }).safeguards;
    expect(safeguards.map((safeguard) => safeguard.id)).toEqual(['lockdown', 'strict-mode', 'hold-changes', 'sandboxes', 'audit-chains']);
    expect(safeguards.find((safeguard) => safeguard.id === 'lockdown')).toMatchObject({ state: 'to-do', command: `approvers decide request ${proposal.outcome.request} (Level 4)` });
    expect(safeguards.find((safeguard) => safeguard.id === 'sandboxes')?.command).toContain('sandbox prune --agent');

    // One signed page to the oversight contact, naming the incident.
    const pages = receiver.accepted().filter((page) => (page.incident as { key?: string } | undefined)?.key === incident.key);
    expect(pages).toHaveLength(1);
    expect(pages[0]).toMatchObject({ type: 'acgs.incident.page', contact: 'oversight', incident: { severity: 'sev1', type: 'constitutional' } });
    expect(String(pages[0]!.summary)).toContain('approval request');

    // Every step is on the incident's timeline.
    const timeline = await timelineTexts(incident.key);
    for (const step of ['incident', 'propose-lockdown', 'gather-violations', 'additional-safeguards', 'notify-oversight']) {
      expect(timeline.some((text) => text.startsWith(`Runbook constitutional-emergency (run ${ended.id}), ${step}: `)), `${step} on the timeline: ${JSON.stringify(timeline)}`).toBe(true);
    }
  }, 60_000);

  it('works in the incident it is given: no new incident, its steps on that one', async () => {
    const { incident } = await incidents.declare({ title: 'Violations seen by on-call', severity: 'sev2', type: 'constitutional', by: ONCALL, at: new Date() });
    const before = (await incidents.open()).length;
    const ended = await runToEnd(`run constitutional-emergency incident=${incident.key}`);
    expect(ended.state, ended.reason ?? '').toBe('succeeded');
    expect(ended.outputs['incident']!.evidence).toMatchObject({ key: incident.key, declared: false });
    expect((await incidents.open()).length).toBe(before);
    expect((await timelineTexts(incident.key)).filter((text) => text.startsWith(`Runbook constitutional-emergency (run ${ended.id})`))).toHaveLength(5);
  }, 60_000);

  it('stops for a decision when the oversight page is not delivered, saying so on the timeline; a retry pages again with the same delivery id', async () => {
    receiver.answerNext(503);
    const ended = await runToEnd('run constitutional-emergency');
    expect(ended.state).toBe('needs_decision');
    const { attempts } = await engine.runs.get(ended.id);
    const failed = attempts.find((attempt) => attempt.stepId === 'notify-oversight' && attempt.outcome === 'failed')!;
    expect(failed.error).toMatch(/^paged 0 of 1 oversight contacts: oversight by webhook \(http:\/\/127\.0\.0\.1:\d+\): not delivered, the webhook at http:\/\/127\.0\.0\.1:\d+ answered HTTP 503/);
    expect(failed.error).not.toContain('routing_key');
    const key = (ended.outputs['incident']!.evidence as { key: string }).key;
    expect((await timelineTexts(key)).some((text) => text.startsWith(`Runbook constitutional-emergency (run ${ended.id}), notify-oversight: failed: paged 0 of 1`))).toBe(true);
    const decided = await run(`run decide ${ended.id} retry`);
    expect(decided.outcome, JSON.stringify(decided.document)).not.toBe('rejected');
    expect((await waitForRunState(engine.store, ended.id, [...FINAL_RUN_STATES, 'needs_decision'] as RunState[], 30_000)).state).toBe('succeeded');
    const deliveries = receiver.received.filter((page) => (JSON.parse(page.body) as { incident?: { key?: string } }).incident?.key === key).map((page) => page.headers['x-acgs-delivery']);
    expect(deliveries).toHaveLength(2);
    expect(new Set(deliveries).size).toBe(1);
  }, 60_000);

  it('asks for the same lockdown request when a run asks again (a takeover), never a second one', async () => {
    const lines = runCommandLines({ execution: { registry: createCommandRegistry(), get services() { return services; } }, announce: async () => [] });
    const line = 'lockdown constitutional violation emergency, INC-1, run 00000000-0000-4000-8000-000000000001';
    const first = await lines.run(line, { runId: 'run-takeover', requester: ONCALL });
    const again = await lines.run(line, { runId: 'run-takeover', requester: ONCALL });
    expect(first.kind).toBe('approval');
    expect(again).toEqual(first);
    const pending = await trail.pool.query<{ count: string }>("SELECT count(*) FROM approval_requests WHERE line = $1", [line]);
    expect(Number(pending.rows[0]!.count)).toBe(1);
  });

  it('shows its plan with --dry-run: the violations read for real, no incident declared, no request made, no run recorded', async () => {
    const tables = await runTables(trail.pool);
    const incidentsBefore = (await incidents.open()).length;
    const requests = announced.length;
    const plan = await run('run constitutional-emergency --dry-run');
    const text = JSON.stringify(plan.document);
    expect(text).toContain('Would declare a sev1 constitutional incident');
    expect(text).toContain('Would propose `lockdown` as an approval request as you (Level 4');
    expect(text).toMatch(/recent safety violation/);
    expect(await runTables(trail.pool)).toEqual(tables);
    expect((await incidents.open()).length).toBe(incidentsBefore);
    expect(announced.length).toBe(requests);
  });

  it('refuses an unknown incident, a closed one and a malformed key, recording no run', async () => {
    const { incident } = await incidents.declare({ title: 'Over already', severity: 'sev3', type: 'constitutional', by: ONCALL, at: new Date() });
    await incidents.resolve(incident.key, ONCALL, new Date());
    await incidents.close(incident.key, ONCALL, new Date());
    const tables = await runTables(trail.pool);
    const requests = announced.length;
    const unknown = await run('run constitutional-emergency incident=INC-99999');
    expect(`${unknown.document.title} ${unknown.document.summary}`).toContain('There is no incident INC-99999; nothing was run.');
    const closed = await run(`run outage incident=${incident.key}`);
    expect(`${closed.document.title} ${closed.document.summary}`).toContain(`${incident.key} is closed`);
    const malformed = await run('run constitutional-emergency incident=yesterday');
    expect(JSON.stringify(malformed.document)).toContain('incident is an incident key such as INC-3');
    expect(await runTables(trail.pool)).toEqual(tables);
    expect(announced.length).toBe(requests);
  });
});

describe('run outage', () => {
  it('finds a frozen service down, declares a sev1 infrastructure incident, tells the stakeholders, restarts it through `restart` and sees every service healthy, all on the timeline', async () => {
    const frozen = local.services.processes.find((child) => child.name === 'sandbox-controller')!;
    const pid = frozen.pid()!;
    process.kill(pid, 'SIGSTOP');
    try {
      const ended = await runToEnd('run outage');
      expect(ended.state, ended.reason ?? '').toBe('succeeded');
      const impact = ended.outputs['assess-impact']!.evidence as { down: string[] };
      expect(impact.down).toEqual(['sandbox-controller']);
      const incident = ended.outputs['incident']!.evidence as { key: string };
      expect(await incidents.find(incident.key)).toMatchObject({ severity: 'sev1', type: 'infrastructure', state: 'declared' });
      const restarts = (ended.outputs['quick-recovery']!.evidence as { restarts: { service: string; outcome: { kind: string } }[] }).restarts;
      expect(restarts).toEqual([{ service: 'sandbox-controller', outcome: expect.objectContaining({ kind: 'ran', outcome: 'ok' }) }]);
      expect(frozen.pid()).not.toBe(pid);
      expect(ended.outputs['verify-recovery']!.summary).toMatch(/^Recovered: /);
      // The restart went through the command path as the requester: it is in the bot's trail.
      expect((await trail.trail.query({ command: 'restart', limit: 5 })).records.some((record) => record.actor === ONCALL)).toBe(true);
      const updates = await incidentStore.statusUpdates(incident.key);
      expect(updates.map((update) => update.text).join(' ')).toContain('sandbox-controller');
      expect(receiver.accepted().some((page) => (page.incident as { key?: string }).key === incident.key)).toBe(true);
      const timeline = await timelineTexts(incident.key);
      for (const step of ['incident', 'notify-stakeholders', 'quick-recovery', 'verify-recovery']) {
        expect(timeline.some((text) => text.startsWith(`Runbook outage (run ${ended.id}), ${step}: `)), `${step} on the timeline: ${JSON.stringify(timeline)}`).toBe(true);
      }
      expect(timeline.find((text) => text.includes(', incident: '))).toContain('sandbox-controller');
    } finally {
      // The test's own freeze, in case the run never restarted it.
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // restarted: the frozen process is gone
      }
    }
  }, 60_000);
});
