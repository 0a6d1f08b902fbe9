/**
 * The alert commands through the command path every surface uses (parse, authorize, record, run):
 * the real authorization policy, the bot's trail and the alert store on the real PostgreSQL. Each
 * action is done as the person and recorded; a second click changes nothing; every bad input is
 * answered privately and changes nothing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { commandAlerts, createAlertStore, migrateAlertStore, type AlertStore, type ReportedAlert } from '../../bot/alerts/index.js';
import { firingReport } from '../../bot/alerts/testing/reported-alerts.js';
import { renderText } from '../../bot/cli-render.js';
import { createCommandPathDependencies, type CommandPathDependencies } from '../../bot/command-path/index.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { commandRunner, type CommandRunner } from '../testing/commands.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';

const ONCALL = 'U0ONCALL';
const OTHER = 'U0OTHER';
/** In the workspace, with no role. */
const VIEWER = 'U0VIEWER';

let trail: TestTrail;
let store: AlertStore;
let services: CommandPathDependencies;
let run: CommandRunner;

beforeAll(async () => {
  trail = await openTestTrail({ prefix: 'acgs_alert_cmds' });
  await migrateAlertStore(trail.pool);
  store = createAlertStore({ pool: trail.pool });
  const nowhere = await unusedLoopbackUrl();
  const base = createCommandPathDependencies({ endpoints: Object.fromEntries(SERVICE_NAMES.map((name) => [name, nowhere])) as Record<ServiceName, string>, checkTimeoutMs: 1000 });
  services = { ...base, authorization: await testGate({ roles: { oncall: [ONCALL, OTHER] } }), trail: trail.trail, alerts: commandAlerts(store, { timezone: 'Europe/Berlin' }) };
  run = commandRunner({ services: () => services, user: ONCALL });
}, 30_000);

afterAll(async () => {
  await trail?.close();
});

beforeEach(async () => {
  await trail.pool.query('TRUNCATE alert_events, alert_reports, alerts, alert_silences RESTART IDENTITY CASCADE');
});

// The built-in monitor's ServiceDown of the Policy Engine, fired 30 s ago, unless told otherwise.
const firing = firingReport;

async function fire(overrides: Partial<ReportedAlert> = {}): Promise<string> {
  const report = firing(overrides);
  await store.report([report]);
  return (await store.byFingerprint(report.fingerprint))!.id;
}

const eventsOf = async (id: string) => (await trail.pool.query<{ kind: string; actor: string | null }>('SELECT kind, actor FROM alert_events WHERE alert_id = $1 ORDER BY id', [id])).rows.map((row) => `${row.kind}:${row.actor ?? '-'}`);
const text = (outcome: Awaited<ReturnType<CommandRunner>>) => renderText(outcome.document);

describe('alerts ack, snooze and resolve', () => {
  it('acknowledge as the person, say so, and take a second click as done, changing nothing', async () => {
    const id = await fire();
    const acked = await run(`alerts ack ${id}`);
    expect(acked.outcome).toBe('ok');
    expect(text(acked)).toContain(`Alert ${id} acknowledged`);
    expect(text(acked)).toContain(`${ONCALL} acknowledged Alert ${id} (ServiceDown on policy-engine)`);
    expect(await store.get(id)).toMatchObject({ state: 'acknowledged', acknowledgedBy: ONCALL });

    const again = await run(`alerts ack #${id}`, { user: OTHER, origin: 'button' });
    expect(again.outcome).toBe('info');
    expect(text(again)).toContain(`was acknowledged already, by ${ONCALL}`);
    expect(text(again)).toContain('nothing changed');
    expect(await store.get(id)).toMatchObject({ acknowledgedBy: ONCALL });
    expect(await eventsOf(id)).toEqual(['fired:-', `acknowledged:${ONCALL}`]);

    // Both lines are in the trail as executed by who clicked or typed them.
    const records = (await trail.trail.query({ command: 'alerts ack', limit: 20 })).records;
    expect(records.filter((record) => record.kind === 'execution').map((record) => [record.actor, record.decision])).toEqual(
      expect.arrayContaining([
        [ONCALL, 'allow'],
        [OTHER, 'allow'],
      ]),
    );
  });

  it("snooze for 1 h, 4 h or until 09:00 tomorrow in the bot's timezone, saying until when; the same snooze again changes nothing", async () => {
    const id = await fire();
    const before = Date.now();
    const hour = await run(`alerts snooze ${id} 1h`);
    expect(hour.outcome).toBe('ok');
    const until = (await store.get(id))!.snoozedUntil!.getTime();
    expect(until - before).toBeGreaterThanOrEqual(3_600_000);
    expect(until - Date.now()).toBeLessThanOrEqual(3_600_000);
    expect(text(hour)).toContain(`${ONCALL} snoozed Alert ${id} (ServiceDown on policy-engine) until`);
    expect(text(hour)).toContain('Europe/Berlin');
    expect(text(await run(`alerts snooze ${id} 1h`, { origin: 'button' }))).toContain('nothing changed');

    const tomorrow = await run(`alerts snooze ${id} TOMORROW`, { user: OTHER });
    expect(tomorrow.outcome).toBe('ok');
    const morning = (await store.get(id))!.snoozedUntil!;
    // 09:00 on the wall clock of Berlin, on the day after today there.
    const berlin = (date: Date) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(date);
    expect(berlin(morning)).toMatch(/, 09:00$/);
    expect(morning.getTime() - Date.now()).toBeGreaterThan(0);
    expect(morning.getTime() - Date.now()).toBeLessThanOrEqual(33 * 3_600_000);
    expect(text(tomorrow)).toContain(`${berlin(morning).replace(', ', ' ')} Europe/Berlin`);
    expect(await eventsOf(id)).toEqual(['fired:-', `snoozed:${ONCALL}`, `snoozed:${OTHER}`]);
  });

  it('resolve by hand, and say a resolved alert was resolved already', async () => {
    const id = await fire();
    const resolved = await run(`alerts resolve ${id}`);
    expect(text(resolved)).toContain(`${ONCALL} resolved Alert ${id}`);
    expect(await store.get(id)).toMatchObject({ state: 'resolved', resolvedBy: ONCALL });
    const again = await run(`alerts resolve ${id}`, { user: OTHER });
    expect(again.outcome).toBe('info');
    expect(text(again)).toContain(`was resolved already`);
    expect(text(again)).toContain(`by ${ONCALL}`);
    expect(await eventsOf(id)).toEqual(['fired:-', `resolved:${ONCALL}`]);
  });

  it('answer every bad input privately with what to type, changing nothing', async () => {
    const id = await fire();
    await store.report([{ ...firing(), status: 'resolved', endsAt: new Date() }]);
    const open = await fire({ fingerprint: 'monitor/ServiceDown/service=audit-engine', labels: { service: 'audit-engine' } });
    const cases: Array<[string, string, string]> = [
      ['alerts ack twelve', 'usage', '`twelve` is not an alert id; an alert id is a number such as 12'],
      ['alerts ack 1; DROP TABLE alerts', 'usage', ''],
      ['alerts ack', 'usage', 'alert'],
      ['alerts resolve 0', 'usage', 'is not an alert id'],
      ['alerts ack 999', 'refused', 'There is no alert 999.'],
      [`alerts snooze ${id} 1h`, 'refused', 'is resolved; a resolved alert cannot be snoozed.'],
      [`alerts ack ${id}`, 'refused', 'is resolved already; there is nothing to acknowledge.'],
      [`alerts snooze ${open} 2h`, 'usage', 'Known: 1h, 4h, tomorrow'],
      [`alerts snooze ${open} tomorow`, 'usage', 'did you mean `tomorrow`?'],
      [`alerts snooze ${open}`, 'usage', 'snooze'],
    ];
    for (const [line, rejection, message] of cases) {
      const outcome = await run(line);
      expect({ line, outcome: outcome.outcome, rejection: outcome.rejection, ephemeral: outcome.document.ephemeral }).toEqual({ line, outcome: 'rejected', rejection, ephemeral: true });
      expect(text(outcome)).toContain(message);
    }
    expect(await eventsOf(id)).toEqual(['fired:-', 'resolved:-']);
    expect(await eventsOf(open)).toEqual(['fired:-']);
    expect(await store.get(open)).toMatchObject({ state: 'firing', snoozedUntil: null, acknowledgedBy: null });
  });

  it('refuse a person without the on-call role, recording the refusal and changing nothing', async () => {
    const id = await fire();
    for (const line of [`alerts ack ${id}`, `alerts snooze ${id} 4h`, `alerts resolve ${id}`]) {
      const refused = await run(line, { user: VIEWER });
      expect(refused.rejection).toBe('refused');
      expect(refused.document.ephemeral).toBe(true);
      expect(text(refused)).toContain('refused');
    }
    expect(await eventsOf(id)).toEqual(['fired:-']);
    const denied = (await trail.trail.query({ user: VIEWER, limit: 20 })).records.filter((record) => record.decision === 'deny');
    expect(denied.map((record) => record.command).sort()).toEqual(['alerts ack', 'alerts resolve', 'alerts snooze']);
  });

  it('say where the alerts are when this process has none (the CLI without DATABASE_URL)', async () => {
    const { alerts: _alerts, ...without } = services;
    const outcome = await run('alerts ack 1', { services: { ...without, alertsProblem: 'no DATABASE_URL and no running npm start' } });
    expect(outcome.rejection).toBe('unavailable');
    expect(text(outcome)).toContain('The alerts cannot be reached from here.');
    expect(text(outcome)).toContain('no DATABASE_URL and no running npm start');
  });
});

describe('alerts and alerts history', () => {
  it('list the open alerts with state, value against threshold, who acknowledged, snoozes and flapping; anyone may read them', async () => {
    expect(text(await run('alerts', { user: VIEWER }))).toContain('No open alerts.');
    const down = await fire();
    const slow = await fire({ fingerprint: 'am/HighP99Latency', rule: 'HighP99Latency', labels: { alertname: 'HighP99Latency' }, value: 7.25, source: 'alertmanager' });
    const gone = await fire({ fingerprint: 'monitor/ServiceDown/service=audit-engine', labels: { service: 'audit-engine' } });
    await run(`alerts ack ${slow}`);
    await run(`alerts snooze ${slow} 4h`);
    await run(`alerts resolve ${gone}`);
    const listed = await run('alerts', { user: VIEWER });
    expect(listed.outcome).toBe('fail');
    const rows = (listed.document.data as { alerts: Array<{ id: string }> }).alerts.map((alert) => alert.id);
    expect(rows).toEqual([down, slow]);
    const shown = text(listed);
    expect(shown).toContain('2 open: 1 firing, 1 acknowledged.');
    expect(shown).toContain('ServiceDown');
    expect(shown).toContain('policy-engine');
    expect(shown).toContain('7.25 ms (threshold 5 ms)');
    expect(shown).toContain(ONCALL);
    expect(shown).toContain('Europe/Berlin');
    expect(shown).not.toContain('audit-engine');
  });

  it('show a silence in force under the open alerts', async () => {
    await run('silence HighCpu 2h load test of the sandbox');
    const shown = text(await run('alerts'));
    expect(shown).toContain('Silenced (1)');
    expect(shown).toContain('HighCpu');
    expect(shown).toContain('load test of the sandbox');
  });

  it('history lists the events newest first with who, within --since and --limit', async () => {
    const id = await fire();
    await run(`alerts ack ${id}`);
    await run(`alerts snooze ${id} 1h`, { user: OTHER });
    await store.note(id, { kind: 'auto-action', actor: 'acgs-bot', details: { action: 'restart policy-engine' } });
    await run(`alerts resolve ${id}`);
    const history = await run('alerts history', { user: VIEWER });
    const events = (history.document.data as { events: Array<{ kind: string; actor: string | null }> }).events;
    expect(events.map((event) => `${event.kind}:${event.actor ?? '-'}`)).toEqual([`resolved:${ONCALL}`, 'auto-action:acgs-bot', `snoozed:${OTHER}`, `acknowledged:${ONCALL}`, 'fired:-']);
    const shown = text(history);
    expect(shown).toContain('5 events since');
    expect(shown).toContain('restart policy-engine');
    expect(shown).toContain('its source');

    const two = await run('alerts history --limit 2');
    expect((two.document.data as { events: unknown[] }).events).toHaveLength(2);
    expect(text(two)).toContain('The 2 newest events');
    expect(text(await run('alerts history --since 2099-01-01'))).toContain('Nothing happened to any alert since 2099-01-01');
  });

  it('history answers a bad --since or --limit privately', async () => {
    for (const [line, message] of [
      ['alerts history --since yesterday', 'must be a time span such as 30m'],
      ['alerts history --limit 0', 'must be a whole number from 1 to 200'],
      ['alerts history --limit 5000', 'must be a whole number from 1 to 200'],
      ['alerts history --until 1h', 'until'],
    ] as const) {
      const outcome = await run(line);
      expect({ line, rejection: outcome.rejection, ephemeral: outcome.document.ephemeral }).toEqual({ line, rejection: 'usage', ephemeral: true });
      expect(text(outcome)).toContain(message);
    }
  });
});

describe('silence and silences', () => {
  const silenceRows = async () => (await trail.pool.query('SELECT rule, reason, created_by FROM alert_silences ORDER BY id')).rows;

  it('silence a rule for a while with a reason, recorded with who, listed by silences until it ends', async () => {
    const before = Date.now();
    const silenced = await run('silence highcpu 90m "load test" of the sandbox, ticket 4711');
    expect(silenced.outcome).toBe('ok');
    expect(text(silenced)).toContain(`${ONCALL} silenced HighCpu for 1.5 min`.replace('1.5 min', '90 min'));
    expect(await silenceRows()).toEqual([{ rule: 'HighCpu', reason: '"load test" of the sandbox, ticket 4711', created_by: ONCALL }]);
    const until = new Date((silenced.document.data as { silence: { until: string } }).silence.until).getTime();
    expect(until - before).toBeGreaterThanOrEqual(90 * 60_000);
    expect(until - Date.now()).toBeLessThanOrEqual(90 * 60_000);
    const listed = text(await run('silences', { user: VIEWER }));
    expect(listed).toContain('1 rule is silenced');
    expect(listed).toContain('HighCpu');
    const records = (await trail.trail.query({ command: 'silence', user: ONCALL, limit: 10 })).records;
    expect(JSON.stringify(records)).toContain('ticket 4711');
  });

  it('say no rule is silenced when none is', async () => {
    expect(text(await run('silences'))).toContain('No rule is silenced');
  });

  it('answer every bad input privately, silencing nothing', async () => {
    const cases: Array<[string, string, string]> = [
      ['silence', 'usage', 'name the rule to silence, how long and why'],
      ['silence HighCpu', 'usage', 'say how long'],
      ['silence HighCpu 2h', 'usage', 'say why'],
      ['silence HighCpu 8d too long on purpose', 'usage', 'is longer than the 7 days a silence may last'],
      ['silence HighCpu 0m nothing', 'usage', 'must be a duration such as 30m, 4h or 2d'],
      ['silence HighCpu soon load test', 'usage', 'must be a duration such as 30m, 4h or 2d'],
      [`silence HighCpu 1h ${'x'.repeat(501)}`, 'usage', 'at most 500 characters'],
      ['silence HighCPUU 1h load test', 'refused', 'did you mean `HighCpu`?'],
      ['silence NoSuchRule 1h load test', 'refused', "the runbook's are ServiceDown, HighP99Latency"],
    ];
    for (const [line, rejection, message] of cases) {
      const outcome = await run(line);
      expect({ line: line.slice(0, 40), rejection: outcome.rejection, ephemeral: outcome.document.ephemeral }).toEqual({ line: line.slice(0, 40), rejection, ephemeral: true });
      expect(text(outcome)).toContain(message);
    }
    expect(await silenceRows()).toEqual([]);
  });

  it('refuse a person without the on-call role', async () => {
    const refused = await run('silence HighCpu 1h load test', { user: VIEWER });
    expect(refused.rejection).toBe('refused');
    expect(await silenceRows()).toEqual([]);
  });
});
