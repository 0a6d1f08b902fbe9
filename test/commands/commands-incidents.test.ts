/**
 * The incident commands through the command path every surface uses (parse, authorize, record,
 * run): the real authorization policy, the bot's trail and the incident store on the real
 * PostgreSQL. Each change is recorded with who and when; a request delivered twice counts once;
 * every bad input is answered privately and records nothing; commands typed in an incident's
 * channel land on its timeline.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { renderText } from '../../bot/cli-render.js';
import { createCommandPathDependencies, executeCommandLine, type CommandPathDependencies } from '../../bot/command-path/index.js';
import { commandIncidents, createIncidentStore, INCIDENT_TABLES, incidentCommandTimeline, migrateIncidentStore, type IncidentStore } from '../../bot/incidents/index.js';
import { createCommandRegistry } from '../../commands/index.js';
import type { Incidents } from '../../commands/ports.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { commandRunner, type CommandRunner } from '../testing/commands.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { waitFor } from '../testing/wait-for.js';

const ONCALL = 'U0ONCALL';
const LEAD = 'U0LEAD';
const APPROVER = 'U0APPROVER';
/** In the workspace, with no role. */
const VIEWER = 'U0VIEWER';
const OPS = 'C0OPS';

let trail: TestTrail;
let store: IncidentStore;
let base: CommandPathDependencies;
let services: CommandPathDependencies;
let run: CommandRunner;

const withPort = (overrides: Partial<Incidents> = {}): CommandPathDependencies => ({
  ...base,
  incidents: { ...commandIncidents(store, { timezone: 'UTC', opsChannel: OPS }), ...overrides },
  afterCommand: incidentCommandTimeline(store),
});

beforeAll(async () => {
  trail = await openTestTrail({ prefix: 'acgs_incident_cmds' });
  await migrateIncidentStore(trail.pool);
  store = createIncidentStore(trail.pool);
  const nowhere = await unusedLoopbackUrl();
  const plain = createCommandPathDependencies({ endpoints: Object.fromEntries(SERVICE_NAMES.map((name) => [name, nowhere])) as Record<ServiceName, string>, checkTimeoutMs: 1000 });
  base = { ...plain, authorization: await testGate({ roles: { oncall: [ONCALL, LEAD], approvers: [APPROVER] } }), trail: trail.trail };
  services = withPort();
  run = commandRunner({ services: () => services, user: ONCALL });
}, 30_000);

afterAll(async () => {
  await trail?.close();
});

beforeEach(async () => {
  services = withPort();
  await trail.pool.query(`TRUNCATE ${INCIDENT_TABLES.join(', ')} RESTART IDENTITY CASCADE`);
});

const text = (outcome: Awaited<ReturnType<CommandRunner>>) => renderText(outcome.document);
const count = async (table: string) => (await trail.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
const kinds = async (key: string) => (await store.timeline(key)).map((entry) => entry.kind);

async function expectRefused(line: string, rejection: string, message: string, options: Parameters<CommandRunner>[1] = {}) {
  const outcome = await run(line, options);
  expect({ line, outcome: outcome.outcome, rejection: outcome.rejection, ephemeral: outcome.document.ephemeral }).toEqual({ line, outcome: 'rejected', rejection, ephemeral: true });
  expect(text(outcome)).toContain(message);
}

describe('incident declare', () => {
  it('records the incident with the declarer as commander, runs it in the ops channel and says so', async () => {
    const declared = await run('incident declare sev2 Policy Engine p99 latency above 5 s', { channelId: 'C0SOMEWHERE' });
    expect(declared.outcome).toBe('ok');
    expect(declared.document.title).toBe('INC-1 declared: Policy Engine p99 latency above 5 s');
    expect(text(declared)).toContain(`${ONCALL} declared INC-1 (sev2, infrastructure) and is its commander.`);
    expect(text(declared)).toContain(`It runs in the ops channel (${OPS}): channels of their own are not set up yet.`);
    expect(await store.find('INC-1')).toMatchObject({ title: 'Policy Engine p99 latency above 5 s', severity: 'sev2', type: 'infrastructure', channelId: OPS, declaredBy: ONCALL, roles: { commander: { holder: ONCALL } } });
    expect(await kinds('INC-1')).toEqual(['declared']);
    const typed = await run('incident declare SEV1 --type security "Unknown admin token used"');
    expect(typed.document.title).toBe('INC-2 declared: Unknown admin token used');
    expect(await store.find('INC-2')).toMatchObject({ severity: 'sev1', type: 'security', private: true, title: 'Unknown admin token used' });
  });

  it("runs it in the channel the Slack side makes, or in ops with the reason when Slack refuses", async () => {
    services = withPort({ openChannel: async (incident) => ({ channelId: 'C0INC1', name: `inc-${incident.id}`, notInvited: [{ user: 'U0GONE', reason: 'the account is deactivated' }] }) });
    const own = await run('incident declare sev3 cache hit rate low');
    expect(text(own)).toContain('It runs in its own channel #inc-1 (C0INC1).');
    expect(text(own)).toContain('U0GONE could not be invited: the account is deactivated');
    expect((await store.find('INC-1'))!.channelId).toBe('C0INC1');

    services = withPort({ openChannel: async () => Promise.reject(new Error('Slack refused: restricted_action')) });
    const refused = await run('incident declare sev3 another one');
    expect(text(refused)).toContain(`It runs in the ops channel (${OPS}): its channel could not be made (Slack refused: restricted_action).`);
    expect((await store.find('INC-2'))!.channelId).toBe(OPS);
  });

  it('declares once when the same request is delivered twice', async () => {
    const registry = createCommandRegistry();
    const request = { line: 'incident declare sev2 audit chain head stuck', actor: { id: ONCALL }, origin: 'slash' as const, channelId: OPS, requestId: 'trigger:42.1' };
    const first = await executeCommandLine({ registry, services }, request);
    const again = await executeCommandLine({ registry, services }, request);
    expect(first.document.title).toBe('INC-1 declared: audit chain head stuck');
    expect(again.outcome).toBe('info');
    expect(renderText(again.document)).toContain('INC-1 was declared by this same request already; nothing new was recorded.');
    expect(await count('incidents')).toBe(1);
  });

  it('answers every bad declaration privately with what to type, and records nothing', async () => {
    await expectRefused('incident declare', 'usage', 'say how severe and what happened');
    await expectRefused('incident declare sev2', 'usage', 'give the incident a title');
    await expectRefused('incident declare sev5 something broke', 'usage', '`sev5` is not a severity');
    await expectRefused('incident declare critical something broke', 'usage', 'Known: sev1, sev2, sev3, sev4');
    await expectRefused('incident declare sev2 --type network something broke', 'usage', '`network` is not an incident type');
    await expectRefused('incident declare sev2 --type secrity something broke', 'usage', 'did you mean `security`?');
    await expectRefused('incident declare sev2 --type', 'usage', '`--type` needs one of performance, security, constitutional, infrastructure');
    await expectRefused('incident declare --sev sev2 outage', 'usage', '`--sev` is not an option of `incident declare`');
    await expectRefused(`incident declare sev2 ${'x'.repeat(151)}`, 'usage', 'the title may be at most 150 characters');
    expect(await count('incidents')).toBe(0);
  });

  it('lets on-call and approvers declare, not someone without a role, and still in lockdown', async () => {
    const viewer = await run('incident declare sev2 outage', { user: VIEWER });
    expect(viewer).toMatchObject({ outcome: 'rejected', rejection: 'refused' });
    expect((await run('incident declare sev2 outage', { user: APPROVER })).outcome).toBe('ok');
    const locked = { ...services, authorization: await testGate({ roles: { oncall: [ONCALL] }, modes: { strict: false, lockdown: true } }) };
    expect((await run('incident declare sev1 lockdown in force', { services: locked })).outcome).toBe('ok');
    expect((await run('incident update INC-2 containment holding', { services: locked })).outcome).toBe('ok');
    expect((await run('restart policy-engine', { services: locked })).rejection).toBe('refused');
    expect(await count('incidents')).toBe(2);
  });
});

describe('changes to an incident', () => {
  it('records updates, notes, roles, severity and type with who and when, each once', async () => {
    await run('incident declare sev2 latency', { channelId: OPS });
    expect(text(await run('incident update INC-1 Scaled the policy engine to 3 replicas'))).toContain(`${ONCALL} posted an update of INC-1: Scaled the policy engine to 3 replicas`);
    expect((await run('incident note inc-1 cache hit rate dropped first')).outcome).toBe('ok');
    const handed = await run(`incident commander INC-1 <@${LEAD}|lead>`);
    expect(text(handed)).toContain(`${ONCALL} made ${LEAD} the commander of INC-1 (was ${ONCALL}).`);
    expect(text(await run(`incident commander INC-1 ${LEAD}`))).toContain(`${LEAD} is the commander of INC-1 already; nothing changed.`);
    expect((await run('incident role INC-1 scribe <@U0SCRIBE>', { user: LEAD })).outcome).toBe('ok');
    expect(text(await run('incident severity INC-1 SEV1'))).toContain('changed the severity of INC-1 from sev2 to sev1.');
    expect(text(await run('incident type INC-1 performance'))).toContain('changed the type of INC-1 from infrastructure to performance.');
    expect(await store.find('INC-1')).toMatchObject({ severity: 'sev1', type: 'performance', roles: { commander: { holder: LEAD }, scribe: { holder: 'U0SCRIBE', changedBy: LEAD } } });
    expect(await kinds('INC-1')).toEqual(['declared', 'status-update', 'note', 'role-change', 'role-change', 'severity-change', 'type-change']);
    expect((await store.statusUpdates('INC-1')).map((update) => update.author)).toEqual([ONCALL]);
  });

  it('finds the incident from the channel, else the only open one, else lists the open ones', async () => {
    services = withPort({ openChannel: async (incident) => ({ channelId: `C0INC${incident.id}` }) });
    await run('incident declare sev2 first');
    expect((await run('incident update progress on the only one')).outcome).toBe('ok');
    expect((await store.statusUpdates('INC-1')).length).toBe(1);
    await run('incident declare sev3 second');
    expect((await run('incident note in the second channel', { channelId: 'C0INC2' })).outcome).toBe('ok');
    expect(await kinds('INC-2')).toEqual(['declared', 'note']);
    await expectRefused('incident update which one?', 'usage', '2 incidents are open: INC-1 (first), INC-2 (second). Say which one, for example `incident update INC-1 <text>`.');
    await expectRefused('incident resolve', 'usage', '2 incidents are open', { channelId: 'C0ELSEWHERE' });
    expect(await kinds('INC-1')).toEqual(['declared', 'status-update']);
  });

  it('answers every bad change privately, and records nothing', async () => {
    await expectRefused('incident update INC-9 anything', 'refused', 'There is no incident INC-9.');
    await expectRefused('incident update nothing is open', 'usage', 'No incident is open.');
    await run('incident declare sev2 latency');
    await expectRefused('incident update INC-1', 'usage', 'say what the update is');
    await expectRefused('incident update', 'usage', 'say what the update is');
    await expectRefused('incident severity INC-1 sev9', 'usage', '`sev9` is not a severity');
    await expectRefused('incident type INC-1 network', 'usage', '`network` is not an incident type');
    await expectRefused('incident role INC-1 observer @x', 'usage', '`observer` is not an incident role');
    await expectRefused('incident role INC-1 scribe', 'usage', 'name the scribe');
    await expectRefused('incident commander INC-1 everyone', 'usage', 'must name one person');
    await expectRefused('incident commander INC-1 <@U0A> <@U0B>', 'usage', 'unexpected');
    await expectRefused('incident resolve INC-1 now', 'usage', 'takes only the incident\'s key');
    await expectRefused(`incident note INC-1 ${'x'.repeat(1001)}`, 'usage', 'the limit is 1000');
    expect(await kinds('INC-1')).toEqual(['declared']);
  });
});

describe('resolve and close', () => {
  it('resolves and closes once, says who did it when asked again, and refuses changes to a closed incident', async () => {
    await run('incident declare sev2 latency');
    await expectRefused('incident close INC-1', 'refused', 'INC-1 is not resolved yet: resolve it before closing it.');
    const resolved = await run('incident resolve INC-1');
    expect(resolved.document.title).toBe('INC-1 resolved');
    const again = await run('incident resolve INC-1', { user: LEAD });
    expect(again.outcome).toBe('info');
    expect(text(again)).toMatch(new RegExp(`INC-1 was resolved already, by ${ONCALL} at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\dZ; nothing changed.`));
    const closed: string[] = [];
    services = withPort({ closed: async (incident) => void closed.push(incident.key) });
    expect((await run('incident close INC-1', { user: LEAD })).document.title).toBe('INC-1 closed');
    expect(text(await run('incident close INC-1'))).toContain(`INC-1 was closed already, by ${LEAD}`);
    expect(closed).toEqual(['INC-1']);
    await expectRefused('incident update INC-1 too late', 'refused', 'INC-1 is closed: nothing more can change in it.');
    await expectRefused('incident severity INC-1 sev1', 'refused', 'INC-1 is closed');
    await expectRefused('incident resolve INC-1', 'refused', 'INC-1 is closed already: it cannot be resolved again.');
    expect(await kinds('INC-1')).toEqual(['declared', 'resolved', 'closed']);
    expect(await count('incident_status_updates')).toBe(0);
  });
});

describe('action items and the list', () => {
  it('adds, lists and ticks action items, after the close too, and only the named incident\'s', async () => {
    await run('incident declare sev2 latency');
    await run('incident declare sev3 other');
    await run('incident resolve INC-1');
    await run('incident close INC-1');
    const added = await run(`incident action add INC-1 <@${LEAD}> Alert on p99 before p95`);
    expect(added.document.title).toBe('INC-1: action item 1 added');
    expect(text(await run('incident action add INC-1 Write the runbook step'))).toContain(`added item 2 for ${ONCALL}`);
    expect((await run('incident action done INC-1 #1', { user: LEAD })).document.title).toBe('INC-1: action item 1 done');
    const listed = await run('incident actions INC-1', { user: VIEWER });
    expect(listed.outcome).toBe('warn');
    expect(text(listed)).toContain('1 of 2 open.');
    await expectRefused('incident action done INC-2 1', 'refused', 'INC-2 has no action item 1');
    await expectRefused('incident action finish INC-1 1', 'usage', 'say what to do: `add`, `done`, `drop` or `reopen`');
    await expectRefused('incident action done INC-1 one', 'usage', 'name the item by its number');
    await expectRefused('incident action add INC-1', 'usage', 'say what is to be done');
    expect((await store.actionItems('INC-1')).map((item) => [item.owner, item.state])).toEqual([
      [LEAD, 'done'],
      [ONCALL, 'open'],
    ]);
  });

  it('lists open and recent incidents with the median times of the last 30 days', async () => {
    await run('incident declare sev2 first');
    await run('incident declare sev1 second');
    await run('incident resolve INC-2');
    await run('incident close INC-2');
    const listed = await run('incidents', { user: VIEWER });
    expect(listed.outcome).toBe('warn');
    expect(listed.document.summary).toBe('1 open (0 of them resolved, waiting to be closed); 1 closed in the last 30 days.');
    expect(text(listed)).toContain('INC-1');
    expect(text(listed)).toContain('Median time to resolve');
    expect(text(listed)).toContain('(1 of 2 resolved)');
    expect((listed.document.data as { times: { declared: number; medianDetectionMs: number } }).times).toMatchObject({ declared: 2, medianDetectionMs: 0 });
  });
});

describe('the timeline from the command path', () => {
  it("puts a command run in an incident's channel on its timeline at the time it ran, once, and nothing elsewhere", async () => {
    services = withPort({ openChannel: async () => ({ channelId: 'C0INC1' }) });
    await run('incident declare sev2 latency');
    const before = new Date();
    await run('help restart', { channelId: 'C0INC1', user: LEAD });
    await run('help scale', { channelId: 'C0OTHER' });
    await run('help', { channelId: 'C0INC1', user: LEAD, origin: 'button' });
    await run('nonsense command', { channelId: 'C0INC1' });
    // A read-only command's answer does not wait for its timeline entry.
    const commandsOf = async () => (await store.timeline('INC-1')).filter((entry) => entry.kind === 'command');
    await waitFor('both commands on the timeline', async () => ((await commandsOf()).length === 2 ? true : undefined), 5000, async () => JSON.stringify(await store.timeline('INC-1')));
    const commands = await commandsOf();
    expect(commands.map((entry) => [entry.actor, entry.text.split(' (')[0]])).toEqual([
      [LEAD, '/acgs help restart'],
      [LEAD, '/acgs help'],
    ]);
    expect(commands[0]!.occurredAt.getTime()).toBeGreaterThanOrEqual(before.getTime());
    // The incident commands record themselves, not twice; an escalated command's answer waits for its entry.
    await run('incident note typed in the channel', { channelId: 'C0INC1' });
    const escalated = await run('silence HighCpu 1h load test', { channelId: 'C0INC1' });
    expect(escalated.rejection).toBe('unavailable');
    const last = (await store.timeline('INC-1')).at(-1)!;
    expect(last).toMatchObject({ kind: 'command', actor: ONCALL, reference: expect.stringMatching(/^execution:/) });
    expect(last.text).toContain('/acgs silence HighCpu 1h load test (refused: Alerts are not set up in this process.');
    expect(await kinds('INC-1')).toEqual(['declared', 'command', 'command', 'note', 'command']);
  });

  it('records a command delivered twice once, and a failing timeline never changes the answer', async () => {
    services = withPort({ openChannel: async () => ({ channelId: 'C0INC1' }) });
    await run('incident declare sev2 latency');
    const registry = createCommandRegistry();
    const request = { line: 'help', actor: { id: LEAD }, origin: 'slash' as const, channelId: 'C0INC1', requestId: 'trigger:7.7' };
    await executeCommandLine({ registry, services }, request);
    await executeCommandLine({ registry, services }, request);
    await waitFor('the command on the timeline', async () => ((await kinds('INC-1')).length === 2 ? true : undefined), 5000, async () => JSON.stringify(await kinds('INC-1')));
    // The second delivery had its chance to write too: still one entry.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await kinds('INC-1')).toEqual(['declared', 'command']);
    const logged: unknown[] = [];
    const broken = { ...services, afterCommand: async () => Promise.reject(new Error('database away')) };
    const answered = await executeCommandLine({ registry, services: broken, logError: (_reference, error) => logged.push(error) }, { ...request, requestId: 'trigger:8.8' });
    expect(answered.outcome).toBe('info');
    await waitFor('the failure logged', () => (logged.length === 1 ? true : undefined), 5000, () => 'nothing logged');
    expect((logged[0] as Error).message).toBe('database away');
  });
});
