/**
 * An alert's Block Kit, its thread replies, its context reply and a storm's summary, from fixed
 * records: checked by the stand-in's Block Kit validator, which refuses what Slack refuses, and
 * read as a person reads them.
 */
import { describe, expect, it } from 'vitest';
import type { AlertEvent, AlertRecord } from '../alerts/alert-store.js';
import { blockText } from '../../test/testing/slack-harness.js';
import { validateBlocks } from './stand-in/index.js';
import { alertActionLine, escalatedLevel, isAlertId, renderAlertContext, renderAlertMessage, renderAlertReply, renderStormSummary } from './alert-message.js';
import type { SlackMessage } from './render.js';

const T0 = new Date('2026-12-07T03:12:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function alert(overrides: Partial<AlertRecord> = {}): AlertRecord {
  return {
    id: '42',
    fingerprint: 'monitor:ServiceDown:audit-engine',
    rule: 'ServiceDown',
    source: 'monitor',
    labels: { alertname: 'ServiceDown', service: 'audit-engine' },
    annotations: {},
    state: 'firing',
    firedAt: T0,
    resolvedAt: null,
    resolvedBy: null,
    value: 1,
    acknowledgedBy: null,
    acknowledgedAt: null,
    snoozedUntil: null,
    snoozedBy: null,
    flapping: false,
    silencedBy: null,
    updatedAt: T0,
    ...overrides,
  };
}

function event(kind: AlertEvent['kind'], overrides: Partial<AlertEvent> = {}): AlertEvent {
  return { id: '7', alertId: '42', at: at(5), kind, state: 'firing', actor: null, value: null, silenced: false, details: null, ...overrides };
}

const restarted = event('auto-action', { actor: 'bot', details: { summary: 'Restarted audit-engine at 03:12:05; healthy again after 4 s' } });

const buttons = (message: SlackMessage) =>
  message.blocks
    .filter((block) => block.type === 'actions')
    .flatMap((block) => (block as { elements: Array<{ action_id: string; value: string; text: { text: string } }> }).elements)
    .map((button) => [button.action_id, button.text.text, button.value]);

const header = (message: SlackMessage) => (message.blocks[0] as { text: { text: string } }).text.text;

describe("an alert's message", () => {
  it('tells a healed crash as what happened, informational, with its logs one click away, and a crash loop against its threshold', () => {
    const summary = 'audit-engine crashed (killed by SIGKILL) at 03:12:00 UTC; the supervisor restarted it; healthy again after 2 s';
    const crash = alert({ rule: 'ServiceRestarted', labels: { alertname: 'ServiceRestarted', service: 'audit-engine', replica: 'audit-engine' }, annotations: { summary }, state: 'resolved', resolvedAt: at(2) });
    const message = renderAlertMessage({ alert: crash, autoActions: [] });
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
    expect(header(message)).toBe(':white_check_mark: ServiceRestarted: audit-engine: resolved');
    expect(blockText(message.blocks)).toContain(`*${summary}*`);
    expect(blockText(message.blocks)).toContain('Value: 1 crash before it answered healthy again; informational, nobody is paged');
    const open = renderAlertMessage({ alert: { ...crash, state: 'firing', resolvedAt: null }, autoActions: [] });
    expect(buttons(open).map(([, text]) => text)).toContain('Show: logs');

    const loop = renderAlertMessage({ alert: alert({ rule: 'ServiceCrashLooping', labels: { alertname: 'ServiceCrashLooping', service: 'audit-engine' }, value: 4 }), autoActions: [] });
    expect(blockText(loop.blocks)).toContain('Value: 4 crashes within 10 min (alerts at 3)');
  });

  it('shows a firing alert with when it fired, its value against the threshold, and every button', () => {
    const message = renderAlertMessage({ alert: alert({ rule: 'HighP99Latency', labels: { service: 'policy-engine' }, value: 812.3456 }), autoActions: [] });
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
    expect(header(message)).toBe(':rotating_light: HighP99Latency: policy-engine: firing');
    const text = blockText(message.blocks);
    expect(text).toContain('Fired at 2026-12-07 03:12:00 UTC');
    expect(text).toContain('Value: 812.35 ms (alerts above 5 ms)');
    expect(buttons(message)).toEqual([
      ['acgs_alert_ack', 'Acknowledge', '42'],
      ['acgs_alert_snooze_1h', 'Snooze 1 h', '42'],
      ['acgs_alert_snooze_4h', 'Snooze 4 h', '42'],
      ['acgs_alert_snooze_tomorrow', 'Snooze until tomorrow', '42'],
      ['acgs_alert_resolve', 'Resolve', '42'],
      ['acgs_alert_respond', 'Run: high latency', '42'],
    ]);
    expect(message.text).toBe('HighP99Latency: policy-engine: firing (812.35 ms (alerts above 5 ms))');
  });

  it('offers Declare incident once its episode escalated, not before, not once resolved; the level is the highest of this episode', () => {
    const escalated = (level: number, seconds: number) => event('escalated', { at: at(seconds), details: { level, issue_type: 'infrastructure' } });
    expect(escalatedLevel(alert(), [escalated(2, 300), escalated(3, 1200), restarted])).toBe(3);
    // An earlier episode's escalation (before this firing) does not count.
    expect(escalatedLevel(alert({ firedAt: at(2000) }), [escalated(3, 1200)])).toBeUndefined();
    expect(escalatedLevel(alert(), [event('escalated', { details: { level: 'x' } })])).toBeUndefined();
    const message = renderAlertMessage({ alert: alert(), autoActions: [], escalatedTo: 2 });
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
    expect(buttons(message).at(-1)).toEqual(['acgs_alert_declare', 'Declare incident', '42']);
    expect(buttons(renderAlertMessage({ alert: alert(), autoActions: [] })).map(([id]) => id)).not.toContain('acgs_alert_declare');
    expect(buttons(renderAlertMessage({ alert: alert({ state: 'resolved', resolvedAt: at(60) }), autoActions: [], escalatedTo: 3 }))).toEqual([]);
  });

  it('says who acknowledged it and what the bot did, and offers no Acknowledge any more', () => {
    const message = renderAlertMessage({ alert: alert({ state: 'acknowledged', acknowledgedBy: 'U0ONCALL', acknowledgedAt: at(30), snoozedUntil: at(3600), snoozedBy: 'U0ONCALL' }), autoActions: [restarted] });
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
    expect(header(message)).toBe(':eyes: ServiceDown: audit-engine: acknowledged');
    const text = blockText(message.blocks);
    expect(text).toContain('Acknowledged by <@U0ONCALL> at 03:12:30 UTC');
    expect(text).toContain('Snoozed until 2026-12-07 04:12:00 UTC by <@U0ONCALL>');
    expect(text).toContain('1 failing health check');
    expect(text).toContain('Restarted audit-engine at 03:12:05; healthy again after 4 s _(03:12:05 UTC)_');
    expect(buttons(message).map(([id]) => id)).toEqual(['acgs_alert_snooze_1h', 'acgs_alert_snooze_4h', 'acgs_alert_snooze_tomorrow', 'acgs_alert_resolve', 'acgs_alert_respond']);
    expect(buttons(message).at(-1)).toEqual(['acgs_alert_respond', 'Run: service down', '42']);
  });

  it('shows a resolved alert with who resolved it, or that its source did, and no buttons', () => {
    const byHand = renderAlertMessage({ alert: alert({ state: 'resolved', resolvedAt: at(60), resolvedBy: 'U0APPROVER1' }), autoActions: [] });
    expect(header(byHand)).toBe(':white_check_mark: ServiceDown: audit-engine: resolved');
    expect(blockText(byHand.blocks)).toContain('*Resolved by <@U0APPROVER1>* at 2026-12-07 03:13:00 UTC');
    expect(buttons(byHand)).toEqual([]);
    const bySource = renderAlertMessage({ alert: alert({ state: 'resolved', resolvedAt: at(60), snoozedUntil: at(600) }), autoActions: [restarted] });
    // In words a person reads, not the source's internal name; the value is the one that fired it.
    expect(blockText(bySource.blocks)).toContain('*Resolved*: the built-in monitor saw it healthy again at 2026-12-07 03:13:00 UTC');
    expect(blockText(bySource.blocks)).toContain('Value when it fired: 1 failing health check');
    const fromAlertmanager = renderAlertMessage({ alert: alert({ source: 'alertmanager', state: 'resolved', resolvedAt: at(60) }), autoActions: [] });
    expect(blockText(fromAlertmanager.blocks)).toContain('*Resolved*: Alertmanager reported it resolved (Prometheus no longer sees it) at 2026-12-07 03:13:00 UTC');
    expect(blockText(bySource.blocks)).not.toContain('Snoozed');
    // Level 1's note: the message says what happened (its evidence), not only that the command succeeded.
    const levelOne = event('auto-action', { details: { summary: 'Level 1 ran restart (restart audit-engine): succeeded', evidence: 'audit-engine answered its health check healthy 7.4 s after Level 1 began the restart.', outcome: 'succeeded' } });
    expect(blockText(renderAlertMessage({ alert: alert({ state: 'resolved', resolvedAt: at(60) }), autoActions: [levelOne] }).blocks)).toContain(
      '*What the bot did*\n:robot_face: Level 1 ran restart (restart audit-engine): succeeded; audit-engine answered its health check healthy 7.4 s after Level 1 began the restart. _(03:12:05 UTC)_',
    );
    // Without a summary the evidence is one of the fields already, never said twice.
    const bare = event('auto-action', { details: { action: 'restart-service', evidence: 'healthy' } });
    expect(blockText(renderAlertMessage({ alert: alert({}), autoActions: [bare] }).blocks)).toContain(':robot_face: action: restart-service · evidence: healthy _(');
    expect(buttons(bySource)).toEqual([]);
    expect(validateBlocks(bySource.blocks, 'message')).toEqual([]);
  });

  it('marks a flapping alert in its header and its text', () => {
    const message = renderAlertMessage({ alert: alert({ flapping: true }), autoActions: [] });
    expect(header(message)).toBe(':rotating_light: ServiceDown: audit-engine: firing (flapping)');
    expect(blockText(message.blocks)).toContain('*Flapping*');
  });

  it('shows the cache hit rate as below its threshold, and an unknown rule without one', () => {
    expect(blockText(renderAlertMessage({ alert: alert({ rule: 'LowCacheHitRate', labels: {}, value: 72.5 }), autoActions: [] }).blocks)).toContain('Value: 72.5 % (alerts below 95 %)');
    const foreign = renderAlertMessage({ alert: alert({ rule: 'DiskFull', labels: { instance: 'db-1' }, value: 97 }), autoActions: [] });
    expect(blockText(foreign.blocks)).toContain('Value: value 97');
    // No response for a rule the runbook does not have; the rest of the buttons remain.
    expect(buttons(foreign).map(([id]) => id)).not.toContain('acgs_alert_respond');
    expect(validateBlocks(foreign.blocks, 'message')).toEqual([]);
  });

  it('never lets a label, an annotation or a note become a mention, and stays inside the limits with huge ones', () => {
    const hostile = alert({
      rule: 'DiskFull <!channel>',
      labels: { service: '<@U0EVIL>', note: `<!here> ${'x'.repeat(5000)}` },
      annotations: { summary: `<!channel> *${'y'.repeat(5000)}*` },
      silencedBy: '3',
    });
    const actions = Array.from({ length: 30 }, (_, index) => event('auto-action', { id: String(index), details: { summary: `<@U0EVIL> ${'z'.repeat(1000)}` } }));
    const message = renderAlertMessage({ alert: hostile, autoActions: actions });
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
    const json = JSON.stringify(message);
    expect(json).not.toMatch(/<[!#]|<@U0EVIL>/);
    expect(json).toContain('22 earlier actions are in the thread');
    expect(blockText(message.blocks)).toContain('silence 3');
  });

  it('maps its buttons to the lines a person could type, and takes only alert ids as values', () => {
    expect(alertActionLine('ack', '42')).toBe('alerts ack 42');
    expect(alertActionLine('snooze_1h', '42')).toBe('alerts snooze 42 1h');
    expect(alertActionLine('snooze_4h', '42')).toBe('alerts snooze 42 4h');
    expect(alertActionLine('snooze_tomorrow', '42')).toBe('alerts snooze 42 tomorrow');
    expect(alertActionLine('resolve', '42')).toBe('alerts resolve 42');
    for (const forged of ['42; restart policy-engine', '0', '-1', '', '4 2', '1'.repeat(19), undefined, 42]) expect(isAlertId(forged), String(forged)).toBe(false);
    expect(isAlertId('42')).toBe(true);
  });
});

describe("an alert's thread", () => {
  const subject = alert();
  const reply = (overrides: Partial<AlertEvent> & { kind: AlertEvent['kind'] }) => renderAlertReply(event(overrides.kind, overrides), subject);

  it('tells each event worth telling in one reply, people as mentions, inside the limits', () => {
    const texts = [
      reply({ kind: 'acknowledged', actor: 'U0ONCALL' }),
      reply({ kind: 'snoozed', actor: 'U0ONCALL', details: { until: at(4 * 3600).toISOString() } }),
      reply({ kind: 'fired', value: 1 }),
      reply({ kind: 'resolved' }),
      reply({ kind: 'resolved', actor: 'U0APPROVER1' }),
      reply({ kind: 'flapping', details: { changes: 5, window_ms: 600_000 } }),
      reply({ kind: 'auto-action', details: { action: 'restart-service', outcome: 'healthy' } }),
      reply({ kind: 'escalated', details: { summary: 'Level 2: on-call paged' } }),
      reply({ kind: 'note', details: { summary: 'looking at it' } }),
    ].map((message) => {
      expect(validateBlocks(message!.blocks, 'message')).toEqual([]);
      return blockText(message!.blocks);
    });
    expect(texts).toEqual([
      ':eyes: Acknowledged by <@U0ONCALL> at 03:12:05 UTC',
      ':zzz: Snoozed until 2026-12-07 07:12:00 UTC by <@U0ONCALL> (at 03:12:05 UTC)',
      ':rotating_light: Fired again at 03:12:05 UTC: 1 failing health check',
      ':white_check_mark: Resolved: the built-in monitor saw it healthy again at 03:12:05 UTC',
      ':white_check_mark: Resolved by <@U0APPROVER1> at 03:12:05 UTC',
      ':warning: Flapping: 5 changes within 10 min. The message stays current; no more replies here until it settles.',
      ':robot_face: action: restart-service · outcome: healthy',
      ':arrow_double_up: Escalated: Level 2: on-call paged',
      ':memo: looking at it',
    ]);
    expect(reply({ kind: 'acknowledged', actor: 'U0ONCALL' })!.text).toBe('Acknowledged by <@U0ONCALL> at 03:12:05 UTC');
  });

  it('has no reply for a settling: the message drops "flapping" by itself', () => {
    expect(reply({ kind: 'settled' })).toBeUndefined();
  });

  it('shows the context of a new alert (log lines as code, restarts, deploys), and what could not be read', () => {
    const lines = Array.from({ length: 40 }, (_, index) => ({ replica: 'acgs-audit-engine', stream: 'stderr' as const, time: at(index).toISOString(), text: `<!channel> line ${index} ${'l'.repeat(400)}` }));
    const message = renderAlertContext({
      service: 'audit-engine',
      logLines: lines,
      restarts: 3,
      deploys: [{ version: 'v1.4.2', at: at(-3600).toISOString(), requestedBy: 'U0ONCALL', outcome: 'succeeded' }],
      unavailable: ['Recent deploys could not be read: no answer within 5 s'],
    });
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
    const text = blockText(message.blocks);
    expect(text).toContain('Restarted on its own 3 times');
    expect(text).toContain('Recent deploys: v1.4.2 at 2026-12-07 02:12:00 UTC by <@U0ONCALL> (succeeded)');
    expect(text).toContain('_Recent deploys could not be read: no answer within 5 s_');
    // The newest lines are the ones shown.
    expect(text).toContain('line 39');
    expect(JSON.stringify(message)).not.toMatch(/<!channel>/);
  });

  it("shows a pino JSON log line as its time, level and message, and any other line as written", () => {
    const line = (text: string) => ({ replica: 'audit-engine', stream: 'stdout' as const, time: at(9).toISOString(), text });
    const message = renderAlertContext({
      service: 'audit-engine',
      logLines: [
        line(JSON.stringify({ level: 30, time: at(2).getTime(), pid: 4711, hostname: 'box', msg: 'shutting down', signal: 'SIGTERM' })),
        line(JSON.stringify({ level: 50, time: at(3).getTime(), msg: 'request failed', err: { type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:5432' } })),
        line('[supervisor] exited (SIGKILL); restarting in 1000 ms'),
        line('{"not": "pino"}'),
        line('{broken json'),
      ],
    });
    const text = blockText(message.blocks);
    expect(text).toContain('03:12:02 audit-engine INFO shutting down\n');
    expect(text).toContain('03:12:03 audit-engine ERROR request failed: connect ECONNREFUSED 127.0.0.1:5432\n');
    expect(text).toContain('03:12:09 audit-engine [supervisor] exited (SIGKILL); restarting in 1000 ms\n');
    expect(text).toContain('03:12:09 audit-engine {"not": "pino"}\n');
    expect(text).toContain('03:12:09 audit-engine {broken json');
    expect(text).not.toContain('"level"');
    expect(text).not.toContain('hostname');
  });
});

describe("a storm's summary", () => {
  it('counts the alerts by rule and by service and points at /acgs alerts, inside the limits however many there are', () => {
    const many = Array.from({ length: 40 }, (_, index) => ({ name: `service-${index}`, count: 40 - index }));
    const message = renderStormSummary({ startedAt: T0, total: 820, open: 800, byRule: [{ name: 'ServiceDown', count: 700 }, { name: 'HighCpu', count: 120 }], byService: many, threshold: 10 });
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
    expect(header(message)).toBe(':thunder_cloud_and_rain: Alert storm: 820 more alerts since 03:12:00 UTC');
    const text = blockText(message.blocks);
    expect(text).toContain('More than 10 alerts fired within a minute');
    expect(text).toContain('• ServiceDown: 700');
    expect(text).toContain('• and 25 more');
    expect(text).toContain('`/acgs alerts`');
  });
});
