/**
 * The bot's alerts in PostgreSQL: one alert per fingerprint whichever source reported it, its
 * history, silences, and what people do to it (acknowledge, snooze, resolve). Reports are taken
 * in one transaction per batch, so `report` resolves only once they are durable, which is when the
 * webhook may answer 2xx. Every change is announced to `onChange` listeners after its commit: the
 * seam for the Slack message, Level 1 actions and escalation, which read the alert from here.
 */
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { migrate, withTransaction } from '../../services/kit/postgres.js';
import { ALERT_RULE_NAMES } from './alert-rules.js';
import { DEFAULT_ALERT_SETTINGS, type AlertSettings } from './alert-settings.js';
import type { AlertIntake, AlertIntakeResult, AlertSource, ReportedAlert } from './intake.js';

export const ALERT_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));
export const ALERT_MIGRATIONS_TABLE = 'bot_alerts_migrations';
export const ALERT_TABLES = ['alerts', 'alert_reports', 'alert_events', 'alert_silences', 'alert_level_one_actions'] as const;

export function migrateAlertStore(pool: pg.Pool, log?: (message: string) => void): Promise<string[]> {
  return migrate(pool, { directory: ALERT_MIGRATIONS_DIR, table: ALERT_MIGRATIONS_TABLE, ...(log ? { log } : {}) });
}

export type AlertState = 'firing' | 'acknowledged' | 'resolved';
export type AlertEventKind =
  | 'fired'
  | 'resolved'
  | 'acknowledged'
  | 'snoozed'
  | 'flapping'
  | 'settled'
  /** Something the bot did about the alert on its own (a Level 1 action, its verification). */
  | 'auto-action'
  /** The alert went up a level of the escalation matrix. */
  | 'escalated'
  /** Context that belongs in the alert's thread (log lines, a restart count, a deploy). */
  | 'note';

export interface AlertRecord {
  id: string;
  fingerprint: string;
  rule: string;
  source: AlertSource;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: AlertState;
  firedAt: Date;
  resolvedAt: Date | null;
  /** Who resolved it by hand; null when its source did. */
  resolvedBy: string | null;
  value: number | null;
  acknowledgedBy: string | null;
  acknowledgedAt: Date | null;
  snoozedUntil: Date | null;
  snoozedBy: string | null;
  flapping: boolean;
  /** The silence its last state change happened under, if any. */
  silencedBy: string | null;
  updatedAt: Date;
}

export interface AlertEvent {
  id: string;
  alertId: string;
  at: Date;
  kind: AlertEventKind;
  /** The alert's state after the event. */
  state: AlertState;
  /** The person; null for the alert's source. */
  actor: string | null;
  value: number | null;
  silenced: boolean;
  details: Record<string, unknown> | null;
}

/** One entry of the history: the event and which alert it is of. */
export interface AlertHistoryEntry extends AlertEvent {
  fingerprint: string;
  rule: string;
  labels: Record<string, string>;
}

/** What a listener is told after a change is committed: the event and the alert as it is now. */
export interface AlertChange {
  event: AlertEvent;
  alert: AlertRecord;
}

export interface AlertSilence {
  id: string;
  rule: string;
  until: Date;
  reason: string;
  createdBy: string;
  createdAt: Date;
}

/** A person's action that cannot be done; the message is safe to show. */
export class AlertActionError extends Error {
  override readonly name = 'AlertActionError';
  constructor(
    message: string,
    readonly code: 'not-found' | 'resolved' | 'past' | 'unknown-rule' | 'invalid',
  ) {
    super(message);
  }
}

/** What a person's action did: `changed` is false when the alert already was that way (a double click). */
export interface AlertActionResult {
  alert: AlertRecord;
  changed: boolean;
}

export interface AlertStore extends AlertIntake {
  get(alertId: string): Promise<AlertRecord | undefined>;
  byFingerprint(fingerprint: string): Promise<AlertRecord | undefined>;
  /** Alerts not resolved, oldest first; of one source when asked. */
  listOpen(filter?: { source?: AlertSource }): Promise<AlertRecord[]>;
  /** Events since a time, oldest first; with `newestFirst`, the `limit` newest, newest first. */
  history(since: Date, options?: { limit?: number; newestFirst?: boolean }): Promise<AlertHistoryEntry[]>;
  /** One alert's events, oldest first (its Slack message and thread are told from them). */
  events(alertId: string): Promise<AlertEvent[]>;
  acknowledge(alertId: string, by: string): Promise<AlertActionResult>;
  snooze(alertId: string, until: Date, by: string): Promise<AlertActionResult>;
  resolve(alertId: string, by: string): Promise<AlertActionResult>;
  silence(silence: { rule: string; until: Date; reason: string; by: string }): Promise<AlertSilence>;
  /** Silences not yet expired. */
  activeSilences(): Promise<AlertSilence[]>;
  /**
   * Records something that happened to the alert without changing its state (a Level 1 action, an
   * escalation, context for its thread) and tells the listeners, as any other change.
   */
  note(alertId: string, note: { kind: 'auto-action' | 'escalated' | 'note'; actor?: string | null; details: Record<string, unknown> }): Promise<AlertChange>;
  /** Unmarks flapping alerts that have not changed state for a whole window; run it periodically. */
  settleFlapping(): Promise<AlertChange[]>;
  /**
   * Told every committed change, in order; a listener that throws is reported to `onListenerError`
   * and the others still run. The caller (the webhook's answer) waits for the listeners, so a
   * listener only hands the change on (an outbox, a queue) and never waits for Slack.
   */
  onChange(listener: (change: AlertChange) => void | Promise<void>): () => void;
}

export interface AlertStoreOptions {
  pool: pg.Pool;
  settings?: Pick<AlertSettings, 'flappingChanges' | 'flappingWindowMs'>;
  /** The store's clock: when reports arrive, events happen, snoozes and silences expire. */
  now?: () => Date;
  onListenerError?(error: unknown): void;
}

interface AlertRow {
  id: string;
  fingerprint: string;
  rule: string;
  source: AlertSource;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: AlertState;
  fired_at: Date;
  resolved_at: Date | null;
  resolved_by: string | null;
  value: number | null;
  acknowledged_by: string | null;
  acknowledged_at: Date | null;
  snoozed_until: Date | null;
  snoozed_by: string | null;
  flapping: boolean;
  silenced_by: string | null;
  updated_at: Date;
}

interface EventRow {
  id: string;
  alert_id: string;
  at: Date;
  kind: AlertEventKind;
  state: AlertState;
  actor: string | null;
  value: number | null;
  silenced: boolean;
  details: Record<string, unknown> | null;
}

const toAlert = (row: AlertRow): AlertRecord => ({
  id: row.id,
  fingerprint: row.fingerprint,
  rule: row.rule,
  source: row.source,
  labels: row.labels,
  annotations: row.annotations,
  state: row.state,
  firedAt: row.fired_at,
  resolvedAt: row.resolved_at,
  resolvedBy: row.resolved_by,
  value: row.value,
  acknowledgedBy: row.acknowledged_by,
  acknowledgedAt: row.acknowledged_at,
  snoozedUntil: row.snoozed_until,
  snoozedBy: row.snoozed_by,
  flapping: row.flapping,
  silencedBy: row.silenced_by,
  updatedAt: row.updated_at,
});

const toEvent = (row: EventRow): AlertEvent => ({
  id: row.id,
  alertId: row.alert_id,
  at: row.at,
  kind: row.kind,
  state: row.state,
  actor: row.actor,
  value: row.value,
  silenced: row.silenced,
  details: row.details,
});

const toSilence = (row: { id: string; rule: string; until: Date; reason: string; created_by: string; created_at: Date }): AlertSilence => ({
  id: row.id,
  rule: row.rule,
  until: row.until,
  reason: row.reason,
  createdBy: row.created_by,
  createdAt: row.created_at,
});

/** Snooze ends closer than this are the same snooze asked twice. */
const SAME_SNOOZE_MS = 60_000;
const EVENT_COLUMNS = 'id, alert_id, at, kind, state, actor, value, silenced, details';
/** Alertmanager's "not resolved" endsAt (0001-01-01T00:00:00Z) and anything else before the epoch. */
const isZeroTime = (date: Date | undefined) => date === undefined || date.getTime() <= 0;

/** Reports in the order their row locks are taken: the same everywhere, so two batches never deadlock. */
function lockOrder(a: ReportedAlert, b: ReportedAlert): number {
  if (a.fingerprint !== b.fingerprint) return a.fingerprint < b.fingerprint ? -1 : 1;
  if (a.startsAt.getTime() !== b.startsAt.getTime()) return a.startsAt.getTime() - b.startsAt.getTime();
  return a.status === b.status ? 0 : a.status === 'firing' ? -1 : 1;
}

export function createAlertStore(options: AlertStoreOptions): AlertStore {
  const { pool } = options;
  const settings = options.settings ?? DEFAULT_ALERT_SETTINGS;
  const now = options.now ?? (() => new Date());
  const listeners = new Set<(change: AlertChange) => void | Promise<void>>();

  async function announce(changes: readonly AlertChange[]): Promise<void> {
    for (const change of changes) {
      for (const listener of listeners) {
        try {
          await listener(change);
        } catch (error) {
          options.onListenerError?.(error);
        }
      }
    }
  }

  async function addEvent(
    client: pg.PoolClient,
    alert: AlertRecord,
    event: { at: Date; kind: AlertEventKind; actor?: string | null; value?: number | null; silenced?: boolean; details?: Record<string, unknown> },
  ): Promise<AlertChange> {
    const { rows } = await client.query<EventRow>(
      `INSERT INTO alert_events (alert_id, at, kind, state, actor, value, silenced, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${EVENT_COLUMNS}`,
      [alert.id, event.at, event.kind, alert.state, event.actor ?? null, event.value ?? null, event.silenced ?? false, event.details ? JSON.stringify(event.details) : null],
    );
    return { event: toEvent(rows[0]!), alert };
  }

  async function activeSilenceOf(client: pg.PoolClient, rule: string, at: Date): Promise<string | null> {
    const { rows } = await client.query<{ id: string }>('SELECT id FROM alert_silences WHERE rule = $1 AND until > $2 ORDER BY until DESC LIMIT 1', [rule, at]);
    return rows[0]?.id ?? null;
  }

  /** After a firing or resolved transition: more than N of them within the window makes it flapping. */
  async function markFlapping(client: pg.PoolClient, alert: AlertRecord, at: Date): Promise<AlertChange | undefined> {
    if (alert.flapping) return undefined;
    const { rows } = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM alert_events WHERE alert_id = $1 AND kind IN ('fired', 'resolved') AND at > $2",
      [alert.id, new Date(at.getTime() - settings.flappingWindowMs)],
    );
    const changes = rows[0]!.n;
    if (changes <= settings.flappingChanges) return undefined;
    const updated = await updateAlert(client, alert.id, 'flapping = true', [], at);
    return addEvent(client, updated, { at, kind: 'flapping', details: { changes, window_ms: settings.flappingWindowMs } });
  }

  async function updateAlert(client: pg.PoolClient, alertId: string, assignments: string, values: unknown[], at: Date): Promise<AlertRecord> {
    const { rows } = await client.query<AlertRow>(
      `UPDATE alerts SET ${assignments}, updated_at = $${values.length + 2} WHERE id = $${values.length + 1} RETURNING *`,
      [...values, alertId, at],
    );
    return toAlert(rows[0]!);
  }

  /** One report inside the batch's transaction: the changes it made (none for a duplicate). */
  async function takeIn(client: pg.PoolClient, report: ReportedAlert, at: Date): Promise<AlertChange[]> {
    const fresh = await client.query(
      'INSERT INTO alert_reports (fingerprint, status, starts_at, received_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
      [report.fingerprint, report.status, report.startsAt, at],
    );
    if (fresh.rowCount === 0) return [];
    const silencedBy = await activeSilenceOf(client, report.rule, at);
    const silenced = silencedBy !== null;
    const resolvedAt = report.status === 'resolved' ? (isZeroTime(report.endsAt) ? at : report.endsAt!) : null;
    // Looked up before inserting: an INSERT ... ON CONFLICT takes an id from the identity even when
    // it inserts nothing, and people read the ids (Alert 3, then Alert 7 for the next one).
    let existing = (await client.query<AlertRow>('SELECT * FROM alerts WHERE fingerprint = $1 FOR UPDATE', [report.fingerprint])).rows[0];
    if (!existing) {
      // ON CONFLICT still, for another replica inserting the same new fingerprint at this moment.
      const inserted = await client.query<AlertRow>(
        `INSERT INTO alerts (fingerprint, rule, source, labels, annotations, state, fired_at, resolved_at, value, silenced_by, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (fingerprint) DO NOTHING RETURNING *`,
        [report.fingerprint, report.rule, report.source, JSON.stringify(report.labels), JSON.stringify(report.annotations), report.status, report.startsAt, resolvedAt, report.value ?? null, silencedBy, at],
      );
      if (inserted.rows[0]) {
        const alert = toAlert(inserted.rows[0]);
        return [await addEvent(client, alert, { at, kind: report.status === 'firing' ? 'fired' : 'resolved', value: report.value ?? null, silenced })];
      }
      existing = (await client.query<AlertRow>('SELECT * FROM alerts WHERE fingerprint = $1 FOR UPDATE', [report.fingerprint])).rows[0];
    }
    const current = toAlert(existing!);
    const common = [JSON.stringify(report.labels), JSON.stringify(report.annotations), report.value ?? current.value, silencedBy];
    let changed: AlertRecord;
    if (report.status === 'firing') {
      // Still firing (a repeat, or the monitor again after its restart): nothing new happened.
      if (current.state !== 'resolved') return [];
      // A late firing of the episode that has resolved since (deliveries may come out of order).
      if (report.startsAt.getTime() <= current.firedAt.getTime()) return [];
      changed = await updateAlert(
        client,
        current.id,
        `labels = $1, annotations = $2, value = $3, silenced_by = $4, state = 'firing', fired_at = $5, resolved_at = NULL, resolved_by = NULL, acknowledged_by = NULL, acknowledged_at = NULL`,
        [...common, report.startsAt],
        at,
      );
    } else {
      if (current.state === 'resolved') return [];
      changed = await updateAlert(client, current.id, `labels = $1, annotations = $2, value = $3, silenced_by = $4, state = 'resolved', resolved_at = $5, resolved_by = NULL`, [...common, resolvedAt], at);
    }
    const changes = [await addEvent(client, changed, { at, kind: report.status === 'firing' ? 'fired' : 'resolved', value: report.value ?? null, silenced })];
    const flapping = await markFlapping(client, changed, at);
    if (flapping) changes.push(flapping);
    return changes;
  }

  /** A person's action on one alert, in a transaction holding the alert's row. */
  async function act(alertId: string, action: (client: pg.PoolClient, alert: AlertRecord, at: Date) => Promise<AlertActionResult & { changes: AlertChange[] }>): Promise<AlertActionResult> {
    if (!/^[0-9]{1,18}$/.test(alertId)) throw new AlertActionError(`There is no alert ${JSON.stringify(alertId.slice(0, 40))}.`, 'not-found');
    const result = await withTransaction(pool, async (client) => {
      const { rows } = await client.query<AlertRow>('SELECT * FROM alerts WHERE id = $1 FOR UPDATE', [alertId]);
      if (!rows[0]) throw new AlertActionError(`There is no alert ${alertId}.`, 'not-found');
      return action(client, toAlert(rows[0]), now());
    });
    await announce(result.changes);
    return { alert: result.alert, changed: result.changed };
  }

  const describe = (alert: AlertRecord) => `Alert ${alert.id} (${alert.rule})`;

  return {
    async report(alerts) {
      const at = now();
      const ordered = [...alerts].sort(lockOrder);
      const outcome = await withTransaction(pool, async (client) => {
        const result: AlertIntakeResult = { stored: 0, duplicates: 0 };
        const changes: AlertChange[] = [];
        for (const report of ordered) {
          const made = await takeIn(client, report, at);
          if (made.length > 0) result.stored += 1;
          else result.duplicates += 1;
          changes.push(...made);
        }
        return { result, changes };
      });
      await announce(outcome.changes);
      return outcome.result;
    },

    async get(alertId) {
      if (!/^[0-9]{1,18}$/.test(alertId)) return undefined;
      const { rows } = await pool.query<AlertRow>('SELECT * FROM alerts WHERE id = $1', [alertId]);
      return rows[0] ? toAlert(rows[0]) : undefined;
    },

    async byFingerprint(fingerprint) {
      const { rows } = await pool.query<AlertRow>('SELECT * FROM alerts WHERE fingerprint = $1', [fingerprint]);
      return rows[0] ? toAlert(rows[0]) : undefined;
    },

    async listOpen(filter = {}) {
      const { rows } = await pool.query<AlertRow>(
        "SELECT * FROM alerts WHERE state <> 'resolved' AND ($1::text IS NULL OR source = $1) ORDER BY fired_at, id",
        [filter.source ?? null],
      );
      return rows.map(toAlert);
    },

    async history(since, options = {}) {
      const { rows } = await pool.query<EventRow & { fingerprint: string; rule: string; labels: Record<string, string> }>(
        `SELECT e.id, e.alert_id, e.at, e.kind, e.state, e.actor, e.value, e.silenced, e.details, a.fingerprint, a.rule, a.labels
         FROM alert_events e JOIN alerts a ON a.id = e.alert_id WHERE e.at >= $1 ORDER BY e.id ${options.newestFirst ? 'DESC' : ''} LIMIT $2`,
        [since, options.limit ?? 1000],
      );
      return rows.map((row) => ({ ...toEvent(row), fingerprint: row.fingerprint, rule: row.rule, labels: row.labels }));
    },

    async events(alertId) {
      if (!/^[0-9]{1,18}$/.test(alertId)) return [];
      const { rows } = await pool.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM alert_events WHERE alert_id = $1 ORDER BY id`, [alertId]);
      return rows.map(toEvent);
    },

    acknowledge(alertId, by) {
      return act(alertId, async (client, alert, at) => {
        if (alert.state === 'resolved') throw new AlertActionError(`${describe(alert)} is resolved already; there is nothing to acknowledge.`, 'resolved');
        if (alert.state === 'acknowledged') return { alert, changed: false, changes: [] };
        const updated = await updateAlert(client, alert.id, "state = 'acknowledged', acknowledged_by = $1, acknowledged_at = $2", [by, at], at);
        return { alert: updated, changed: true, changes: [await addEvent(client, updated, { at, kind: 'acknowledged', actor: by })] };
      });
    },

    snooze(alertId, until, by) {
      return act(alertId, async (client, alert, at) => {
        if (alert.state === 'resolved') throw new AlertActionError(`${describe(alert)} is resolved; a resolved alert cannot be snoozed.`, 'resolved');
        if (until.getTime() <= at.getTime()) throw new AlertActionError(`A snooze must end in the future, not at ${until.toISOString()}.`, 'past');
        // A double click (or two people clicking the same snooze) asks for the same end again.
        if (alert.snoozedUntil && Math.abs(alert.snoozedUntil.getTime() - until.getTime()) < SAME_SNOOZE_MS) return { alert, changed: false, changes: [] };
        const updated = await updateAlert(client, alert.id, 'snoozed_until = $1, snoozed_by = $2', [until, by], at);
        return { alert: updated, changed: true, changes: [await addEvent(client, updated, { at, kind: 'snoozed', actor: by, details: { until: until.toISOString() } })] };
      });
    },

    resolve(alertId, by) {
      return act(alertId, async (client, alert, at) => {
        if (alert.state === 'resolved') return { alert, changed: false, changes: [] };
        const updated = await updateAlert(client, alert.id, "state = 'resolved', resolved_at = $1, resolved_by = $2", [at, by], at);
        return { alert: updated, changed: true, changes: [await addEvent(client, updated, { at, kind: 'resolved', actor: by })] };
      });
    },

    async silence({ rule, until, reason, by }) {
      const at = now();
      const known = (ALERT_RULE_NAMES as readonly string[]).includes(rule) || (await pool.query('SELECT 1 FROM alerts WHERE rule = $1 LIMIT 1', [rule])).rowCount! > 0;
      if (!known) throw new AlertActionError(`There is no alert rule ${JSON.stringify(rule.slice(0, 60))}; the runbook's are ${ALERT_RULE_NAMES.join(', ')}.`, 'unknown-rule');
      if (until.getTime() <= at.getTime()) throw new AlertActionError(`A silence must end in the future, not at ${until.toISOString()}.`, 'past');
      if (reason.trim() === '') throw new AlertActionError('A silence needs a reason, so that whoever finds the rule quiet knows why.', 'invalid');
      const { rows } = await pool.query<{ id: string; rule: string; until: Date; reason: string; created_by: string; created_at: Date }>(
        'INSERT INTO alert_silences (rule, until, reason, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING *',
        [rule, until, reason.trim(), by, at],
      );
      return toSilence(rows[0]!);
    },

    async activeSilences() {
      const { rows } = await pool.query<{ id: string; rule: string; until: Date; reason: string; created_by: string; created_at: Date }>(
        'SELECT * FROM alert_silences WHERE until > $1 ORDER BY until, id',
        [now()],
      );
      return rows.map(toSilence);
    },

    async note(alertId, { kind, actor, details }) {
      const change = await withTransaction(pool, async (client) => {
        const { rows } = await client.query<AlertRow>('SELECT * FROM alerts WHERE id = $1', [alertId]);
        if (!rows[0]) throw new AlertActionError(`There is no alert ${alertId}.`, 'not-found');
        return addEvent(client, toAlert(rows[0]), { at: now(), kind, actor: actor ?? null, details });
      });
      await announce([change]);
      return change;
    },

    async settleFlapping() {
      const at = now();
      const changes = await withTransaction(pool, async (client) => {
        const { rows } = await client.query<AlertRow>(
          `SELECT * FROM alerts a WHERE flapping AND NOT EXISTS (
             SELECT 1 FROM alert_events e WHERE e.alert_id = a.id AND e.kind IN ('fired', 'resolved') AND e.at > $1
           ) ORDER BY fingerprint FOR UPDATE`,
          [new Date(at.getTime() - settings.flappingWindowMs)],
        );
        const settled: AlertChange[] = [];
        for (const row of rows) {
          const updated = await updateAlert(client, row.id, 'flapping = false', [], at);
          settled.push(await addEvent(client, updated, { at, kind: 'settled' }));
        }
        return settled;
      });
      await announce(changes);
      return changes;
    },

    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
