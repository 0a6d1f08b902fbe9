/**
 * The alert store on the real PostgreSQL: one alert per fingerprint however often and however
 * concurrently it is reported, its history, people's actions, silences and flapping, with the
 * store's clock in the test's hands.
 */
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { AlertActionError, createAlertStore, migrateAlertStore, type AlertChange, type AlertStore } from './alert-store.js';
import type { ReportedAlert } from './intake.js';
import { firingReport } from './testing/reported-alerts.js';

let db: TestDatabase;
let pool: pg.Pool;
let otherReplica: pg.Pool;
let clock: Date;
let store: AlertStore;
const SETTINGS = { flappingChanges: 2, flappingWindowMs: 60_000 };
const T0 = new Date('2026-12-07T03:00:00.000Z');
const later = (ms: number) => new Date(T0.getTime() + ms);

beforeAll(async () => {
  db = await createTestDatabase('acgs_alerts');
  pool = createPool({ databaseUrl: db.url, max: 12, applicationName: 'acgs-alerts-test' });
  otherReplica = createPool({ databaseUrl: db.url, max: 12, applicationName: 'acgs-alerts-test-2' });
  expect(await migrateAlertStore(pool)).toEqual(['1767200000000_alerts', '1767300000001_level-one-actions']);
  expect(await migrateAlertStore(pool)).toEqual([]);
});
afterAll(async () => {
  await pool?.end();
  await otherReplica?.end();
  await db?.drop();
});
beforeEach(async () => {
  await pool.query('TRUNCATE alert_level_one_actions, alert_events, alert_reports, alerts, alert_silences RESTART IDENTITY');
  clock = T0;
  store = createAlertStore({ pool, settings: SETTINGS, now: () => clock });
});

function alert(overrides: Partial<ReportedAlert> = {}): ReportedAlert {
  return firingReport({ source: 'alertmanager', fingerprint: 'a1b2c3d4e5f60718', annotations: { summary: 'a service health check is failing' }, startsAt: T0, ...overrides });
}

const resolved = (startsAt: Date, endsAt: Date) => alert({ status: 'resolved', startsAt, endsAt, value: 0 });

async function eventKinds(): Promise<string[]> {
  return (await store.history(new Date(0))).map((entry) => `${entry.kind}:${entry.state}`);
}

describe('reports', () => {
  it('keeps a firing report as one alert, and the same report again as a duplicate', async () => {
    expect(await store.report([alert()])).toEqual({ stored: 1, duplicates: 0 });
    expect(await store.report([alert(), alert()])).toEqual({ stored: 0, duplicates: 2 });
    const stored = await store.byFingerprint('a1b2c3d4e5f60718');
    expect(stored).toMatchObject({ rule: 'ServiceDown', source: 'alertmanager', state: 'firing', firedAt: T0, resolvedAt: null, value: 1, flapping: false, silencedBy: null });
    expect(stored!.labels).toEqual({ alertname: 'ServiceDown', service: 'policy-engine' });
    expect(await eventKinds()).toEqual(['fired:firing']);
  });

  it('resolves an alert at the endsAt of its resolved report, and treats Alertmanager\'s zero endsAt of a firing one as none', async () => {
    await store.report([alert({ endsAt: new Date('0001-01-01T00:00:00Z') })]);
    expect((await store.byFingerprint('a1b2c3d4e5f60718'))!.resolvedAt).toBeNull();
    clock = later(30_000);
    expect(await store.report([resolved(T0, later(25_000))])).toEqual({ stored: 1, duplicates: 0 });
    expect(await store.report([resolved(T0, later(25_000))])).toEqual({ stored: 0, duplicates: 1 });
    expect(await store.byFingerprint('a1b2c3d4e5f60718')).toMatchObject({ state: 'resolved', resolvedAt: later(25_000), resolvedBy: null, value: 0 });
    expect(await store.listOpen()).toEqual([]);
    expect(await eventKinds()).toEqual(['fired:firing', 'resolved:resolved']);
  });

  it('numbers alerts consecutively, whatever was de-duplicated or changed in between', async () => {
    await store.report([alert()]);
    await store.report([alert()]);
    clock = later(10_000);
    await store.report([resolved(T0, later(10_000))]);
    await store.report([alert({ startsAt: later(20_000) })]);
    await store.report([alert({ fingerprint: 'ffff000011112222', labels: { service: 'audit-engine' } })]);
    const ids = (await store.history(new Date(0))).filter((entry) => entry.kind === 'fired').map((entry) => entry.fingerprint);
    expect(ids).toEqual(['a1b2c3d4e5f60718', 'a1b2c3d4e5f60718', 'ffff000011112222']);
    expect((await store.byFingerprint('a1b2c3d4e5f60718'))!.id).toBe('1');
    // The next alert people see is Alert 2, not a number a duplicate, a resolution or a re-fire used up.
    expect((await store.byFingerprint('ffff000011112222'))!.id).toBe('2');
  });

  it('makes one alert of the same fingerprint reported at once by two replicas and retried webhooks', async () => {
    const replica = createAlertStore({ pool: otherReplica, settings: SETTINGS, now: () => clock });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : replica).report([alert()])));
    expect(results.reduce((sum, result) => sum + result.stored, 0)).toBe(1);
    expect(results.reduce((sum, result) => sum + result.duplicates, 0)).toBe(19);
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM alerts');
    expect(rows[0]!.n).toBe(1);
    expect(await eventKinds()).toEqual(['fired:firing']);
  });

  it('makes one alert when its firing and its resolved report of a new fingerprint race each other', async () => {
    const replica = createAlertStore({ pool: otherReplica, settings: SETTINGS, now: () => clock });
    const fingerprint = 'race0000000000ff';
    await Promise.all([store.report([alert({ fingerprint })]), replica.report([alert({ fingerprint, status: 'resolved', endsAt: later(1000) })])]);
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM alerts WHERE fingerprint = $1', [fingerprint]);
    expect(rows[0]!.n).toBe(1);
    const kinds = (await eventKinds()).sort();
    // Whichever came first: resolved on arrival, or fired and then resolved.
    expect([['resolved:resolved'], ['fired:firing', 'resolved:resolved']]).toContainEqual(kinds);
  });

  it('stores nothing of a batch that fails part-way, so that the webhook may answer an error and be retried', async () => {
    await expect(store.report([alert({ fingerprint: 'aaaa' }), alert({ fingerprint: 'bbbb', status: 'pending' as 'firing' })])).rejects.toThrow();
    expect(await store.byFingerprint('aaaa')).toBeUndefined();
    expect(await store.report([alert({ fingerprint: 'aaaa' })])).toEqual({ stored: 1, duplicates: 0 });
  });

  it('ignores a late firing report of an episode that has resolved, and fires again for a new episode', async () => {
    await store.report([alert()]);
    await store.acknowledge('1', 'U0ONCALL');
    clock = later(10_000);
    await store.report([resolved(T0, later(10_000))]);
    // The first delivery of the firing, arriving after the resolve (another Alertmanager, a slow retry).
    expect(await store.report([alert({ status: 'firing', startsAt: new Date(T0.getTime() - 1000) })])).toEqual({ stored: 0, duplicates: 1 });
    expect((await store.get('1'))!.state).toBe('resolved');
    clock = later(60_000);
    expect(await store.report([alert({ startsAt: later(55_000), value: 1 })])).toEqual({ stored: 1, duplicates: 0 });
    expect(await store.get('1')).toMatchObject({ state: 'firing', firedAt: later(55_000), resolvedAt: null, acknowledgedBy: null, acknowledgedAt: null });
  });
});

describe('what people do', () => {
  it('acknowledges, snoozes and resolves an alert, each in its history with who did it', async () => {
    await store.report([alert()]);
    clock = later(1000);
    expect(await store.acknowledge('1', 'U0ONCALL')).toMatchObject({ changed: true, alert: { state: 'acknowledged', acknowledgedBy: 'U0ONCALL', acknowledgedAt: later(1000) } });
    // A double click changes nothing and is no error.
    expect(await store.acknowledge('1', 'U0OTHER')).toMatchObject({ changed: false, alert: { acknowledgedBy: 'U0ONCALL' } });
    clock = later(2000);
    expect(await store.snooze('1', later(3_602_000), 'U0ONCALL')).toMatchObject({ changed: true, alert: { snoozedUntil: later(3_602_000), snoozedBy: 'U0ONCALL', state: 'acknowledged' } });
    clock = later(3000);
    expect(await store.resolve('1', 'U0ONCALL')).toMatchObject({ changed: true, alert: { state: 'resolved', resolvedAt: later(3000), resolvedBy: 'U0ONCALL' } });
    expect(await store.resolve('1', 'U0ONCALL')).toMatchObject({ changed: false });
    const history = await store.history(new Date(0));
    expect(history.map((entry) => [entry.kind, entry.state, entry.actor])).toEqual([
      ['fired', 'firing', null],
      ['acknowledged', 'acknowledged', 'U0ONCALL'],
      ['snoozed', 'acknowledged', 'U0ONCALL'],
      ['resolved', 'resolved', 'U0ONCALL'],
    ]);
    expect(history[2]!.details).toEqual({ until: later(3_602_000).toISOString() });
    expect(history.every((entry) => entry.fingerprint === 'a1b2c3d4e5f60718' && entry.rule === 'ServiceDown')).toBe(true);
  });

  it('takes the same snooze asked twice (a double click) as done, and a different end as a new snooze', async () => {
    await store.report([alert()]);
    expect(await store.snooze('1', later(3_600_000), 'U0ONCALL')).toMatchObject({ changed: true });
    clock = later(20_000);
    expect(await store.snooze('1', later(3_620_000), 'U0OTHER')).toMatchObject({ changed: false, alert: { snoozedUntil: later(3_600_000), snoozedBy: 'U0ONCALL' } });
    expect(await store.snooze('1', later(4 * 3_600_000), 'U0OTHER')).toMatchObject({ changed: true, alert: { snoozedUntil: later(4 * 3_600_000), snoozedBy: 'U0OTHER' } });
    expect(await eventKinds()).toEqual(['fired:firing', 'snoozed:firing', 'snoozed:firing']);
  });

  it('refuses to snooze or acknowledge a resolved alert, a snooze in the past and an alert that does not exist, changing nothing', async () => {
    await store.report([alert(), resolved(T0, later(1000))]);
    await store.report([alert({ fingerprint: 'open' })]);
    const open = (await store.byFingerprint('open'))!.id;
    const refusal = (promise: Promise<unknown>) => promise.then(() => 'done', (error: unknown) => (error instanceof AlertActionError ? `${error.code}: ${error.message}` : String(error)));
    expect(await refusal(store.snooze('1', later(3_600_000), 'U0ONCALL'))).toBe('resolved: Alert 1 (ServiceDown) is resolved; a resolved alert cannot be snoozed.');
    expect(await refusal(store.acknowledge('1', 'U0ONCALL'))).toBe('resolved: Alert 1 (ServiceDown) is resolved already; there is nothing to acknowledge.');
    expect(await refusal(store.snooze(open, later(-1), 'U0ONCALL'))).toBe('past: A snooze must end in the future, not at 2026-12-07T02:59:59.999Z.');
    expect(await refusal(store.resolve('99', 'U0ONCALL'))).toBe('not-found: There is no alert 99.');
    expect(await refusal(store.acknowledge('1; DROP TABLE alerts', 'U0ONCALL'))).toBe('not-found: There is no alert "1; DROP TABLE alerts".');
    expect(await store.get(open)).toMatchObject({ state: 'firing', snoozedUntil: null });
    expect(await eventKinds()).toEqual(['fired:firing', 'resolved:resolved', 'fired:firing']);
  });

  it('lists the open alerts oldest first, of one source when asked, and the history since a time', async () => {
    await store.report([alert({ fingerprint: 'late', startsAt: later(5000) }), alert({ fingerprint: 'early' }), alert({ fingerprint: 'monitor/ServiceDown/service=audit-engine', source: 'monitor' })]);
    await store.report([resolved(T0, later(1000))]);
    expect((await store.listOpen()).map((open) => open.fingerprint)).toEqual(['early', 'monitor/ServiceDown/service=audit-engine', 'late']);
    expect((await store.listOpen({ source: 'monitor' })).map((open) => open.fingerprint)).toEqual(['monitor/ServiceDown/service=audit-engine']);
    clock = later(60_000);
    await store.acknowledge('1', 'U0ONCALL');
    expect((await store.history(later(30_000))).map((entry) => `${entry.fingerprint} ${entry.kind}`)).toEqual(['early acknowledged']);
    // The newest first, as many as asked: what `alerts history --limit` shows.
    expect((await store.history(new Date(0), { newestFirst: true, limit: 2 })).map((entry) => `${entry.fingerprint} ${entry.kind}`)).toEqual(['early acknowledged', 'a1b2c3d4e5f60718 resolved']);
  });
});

describe('silences', () => {
  it('stores the reports of a silenced rule marked silenced, until the silence expires', async () => {
    const silence = await store.silence({ rule: 'HighCpu', until: later(600_000), reason: ' load test until 03:10 ', by: 'U0ONCALL' });
    expect(silence).toMatchObject({ rule: 'HighCpu', until: later(600_000), reason: 'load test until 03:10', createdBy: 'U0ONCALL', createdAt: T0 });
    await store.report([alert({ fingerprint: 'cpu', rule: 'HighCpu' }), alert({ fingerprint: 'down' })]);
    expect((await store.byFingerprint('cpu'))!.silencedBy).toBe(silence.id);
    expect((await store.byFingerprint('down'))!.silencedBy).toBeNull();
    expect((await store.history(new Date(0))).map((entry) => `${entry.fingerprint} ${entry.silenced}`)).toEqual(['cpu true', 'down false']);
    expect((await store.activeSilences()).map((active) => active.id)).toEqual([silence.id]);

    clock = later(600_000);
    expect(await store.activeSilences()).toEqual([]);
    await store.report([alert({ fingerprint: 'cpu', rule: 'HighCpu', status: 'resolved', endsAt: clock })]);
    expect((await store.byFingerprint('cpu'))!.silencedBy).toBeNull();
  });

  it('refuses a silence of a rule nobody knows, one that ends in the past and one without a reason', async () => {
    await expect(store.silence({ rule: 'NoSuchRule', until: later(60_000), reason: 'x', by: 'U0ONCALL' })).rejects.toMatchObject({ code: 'unknown-rule' });
    await expect(store.silence({ rule: 'HighCpu', until: T0, reason: 'x', by: 'U0ONCALL' })).rejects.toMatchObject({ code: 'past' });
    await expect(store.silence({ rule: 'HighCpu', until: later(60_000), reason: '  ', by: 'U0ONCALL' })).rejects.toMatchObject({ code: 'invalid' });
    // A rule only Prometheus knows becomes silenceable once one of its alerts arrived.
    await store.report([alert({ fingerprint: 'disk', rule: 'DiskFull' })]);
    expect(await store.silence({ rule: 'DiskFull', until: later(60_000), reason: 'resizing', by: 'U0ONCALL' })).toMatchObject({ rule: 'DiskFull' });
    expect((await store.activeSilences()).map((active) => active.rule)).toEqual(['DiskFull']);
  });
});

describe('flapping', () => {
  const flip = async (n: number, status: 'firing' | 'resolved') => {
    clock = later(n * 5000);
    await store.report([status === 'firing' ? alert({ startsAt: clock }) : resolved(later((n - 1) * 5000), clock)]);
  };

  it('marks an alert that changes state more than N times in the window flapping once, and settles it after a quiet window', async () => {
    await flip(0, 'firing');
    await flip(1, 'resolved');
    expect((await store.get('1'))!.flapping).toBe(false);
    await flip(2, 'firing');
    expect((await store.get('1'))!.flapping).toBe(true);
    await flip(3, 'resolved');
    await flip(4, 'firing');
    expect(await eventKinds()).toEqual(['fired:firing', 'resolved:resolved', 'fired:firing', 'flapping:firing', 'resolved:resolved', 'fired:firing']);

    clock = later(4 * 5000 + 59_000);
    expect(await store.settleFlapping()).toEqual([]);
    clock = later(4 * 5000 + 60_000);
    const settled = await store.settleFlapping();
    expect(settled.map((change) => [change.event.kind, change.alert.flapping])).toEqual([['settled', false]]);
    expect(await store.settleFlapping()).toEqual([]);
  });

  it('does not count changes older than the window', async () => {
    await flip(0, 'firing');
    await flip(1, 'resolved');
    clock = later(70_000);
    await store.report([alert({ startsAt: clock })]);
    expect((await store.get('1'))!.flapping).toBe(false);
  });
});

describe('changes', () => {
  it('tells listeners each change after it is committed, and a failing listener neither stops the others nor the report', async () => {
    const failures: unknown[] = [];
    store = createAlertStore({ pool, settings: SETTINGS, now: () => clock, onListenerError: (error) => failures.push(error) });
    const seen: string[] = [];
    store.onChange(() => {
      throw new Error('the Slack side is down');
    });
    const stop = store.onChange(async (change: AlertChange) => {
      // Committed: another connection sees the state the change announces.
      const { rows } = await otherReplica.query<{ state: string }>('SELECT state FROM alerts WHERE id = $1', [change.alert.id]);
      seen.push(`${change.event.kind} ${change.alert.state} ${rows[0]!.state}`);
    });
    expect(await store.report([alert()])).toEqual({ stored: 1, duplicates: 0 });
    await store.report([alert()]);
    await store.acknowledge('1', 'U0ONCALL');
    stop();
    await store.resolve('1', 'U0ONCALL');
    expect(seen).toEqual(['fired firing firing', 'acknowledged acknowledged acknowledged']);
    expect(failures.map((error) => (error as Error).message)).toEqual(['the Slack side is down', 'the Slack side is down', 'the Slack side is down']);
  });

  it('notes what the bot did without changing the alert, tells listeners, and refuses an alert that does not exist', async () => {
    const seen: string[] = [];
    store.onChange((change) => void seen.push(`${change.event.kind} ${change.alert.state} ${JSON.stringify(change.event.details)}`));
    await store.report([alert()]);
    const change = await store.note('1', { kind: 'auto-action', actor: 'bot', details: { action: 'restart-service', outcome: 'healthy' } });
    expect(change.alert.state).toBe('firing');
    expect(change.event).toMatchObject({ kind: 'auto-action', actor: 'bot', state: 'firing', details: { action: 'restart-service', outcome: 'healthy' } });
    expect(seen).toEqual(['fired firing null', 'auto-action firing {"action":"restart-service","outcome":"healthy"}']);
    expect((await store.get('1'))!.state).toBe('firing');
    await expect(store.note('99', { kind: 'note', details: {} })).rejects.toMatchObject({ code: 'not-found' });
    expect(await eventKinds()).toEqual(['fired:firing', 'auto-action:firing']);
  });
});
