/**
 * Incidents in the bot's PostgreSQL (migrations/): the incident, its roles, timeline, status
 * updates and action items. Changes to an incident take its row's lock first, so a change racing
 * a close either lands before it or is refused as being on a closed incident; resolve and close
 * are conditional updates, so two replicas resolving at once record one resolution.
 */
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { QueryResultRow } from 'pg';
import { migrate, withTransaction } from '../../services/kit/postgres.js';
import {
  ActionItemInput,
  Actor,
  ActionItemState,
  checked,
  Declaration,
  IncidentError,
  incidentIdOf,
  incidentKey,
  IncidentType,
  RoleChangeInput,
  Severity,
  StatusUpdateInput,
  TimelineEntryInput,
  type IncidentRole,
  type IncidentState,
  type TimelineKind,
} from './incident-input.js';
import type { TimedIncident } from './incident-times.js';

export const INCIDENT_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));
export const INCIDENT_MIGRATIONS_TABLE = 'bot_incident_migrations';
export const INCIDENT_TABLES = ['incidents', 'incident_role_changes', 'incident_timeline', 'incident_status_updates', 'incident_action_items', 'incident_reviews', 'incident_update_reminders'] as const;

export function migrateIncidentStore(pool: pg.Pool, log?: (message: string) => void): Promise<string[]> {
  return migrate(pool, { directory: INCIDENT_MIGRATIONS_DIR, table: INCIDENT_MIGRATIONS_TABLE, ...(log ? { log } : {}) });
}

export interface RoleHolder {
  holder: string;
  changedBy: string;
  changedAt: Date;
}

export interface Incident {
  id: string;
  /** INC-<id> */
  key: string;
  title: string;
  severity: Severity;
  type: IncidentType;
  private: boolean;
  state: IncidentState;
  channelId: string | undefined;
  declaredBy: string;
  declaredAt: Date;
  detectedAt: Date;
  resolvedAt: Date | undefined;
  resolvedBy: string | undefined;
  closedAt: Date | undefined;
  closedBy: string | undefined;
  /** The latest status update, or the declaration before the first. */
  lastUpdateAt: Date;
  /** The current holder of each role that was ever handed out. */
  roles: Partial<Record<IncidentRole, RoleHolder>>;
}

export interface RoleChange extends RoleHolder {
  role: IncidentRole;
}

export interface TimelineEntry {
  id: string;
  kind: TimelineKind;
  occurredAt: Date;
  recordedAt: Date;
  actor: string;
  text: string;
  reference: string | undefined;
}

export interface StatusUpdate {
  id: string;
  author: string;
  text: string;
  postedAt: Date;
}

export interface ActionItem {
  id: string;
  incidentId: string;
  text: string;
  owner: string;
  state: ActionItemState;
  createdBy: string;
  createdAt: Date;
  updatedBy: string;
  updatedAt: Date;
}

/** A change that may already have been made (a double click, another replica): `changed` says. */
export interface Transition {
  incident: Incident;
  changed: boolean;
}

/** `created` is false when the request key was seen before: nothing new was recorded. */
export type Declared = Incident & { created: boolean };
export type PostedUpdate = StatusUpdate & { created: boolean };

export interface IncidentStore {
  /** Records the incident with its declarer as commander, once per request key. */
  declare(declaration: Declaration): Promise<Declared>;
  /** By id or key (INC-12); undefined when there is none. */
  find(idOrKey: string): Promise<Incident | undefined>;
  /** Incidents not closed (declared or resolved), and the others declared since `since`, newest first. */
  list(options: { since: Date; limit?: number }): Promise<Incident[]>;
  /** Incidents not closed, oldest first. */
  open(): Promise<Incident[]>;
  /** The incidents run in a channel (their own, or the ops channel several may share), newest first, at most 20. */
  inChannel(channelId: string): Promise<Incident[]>;
  /** The incidents whose timeline names this reference (`run:<id>`): the incidents a run was started in. */
  referencing(reference: string): Promise<Incident[]>;
  /** The times of the incidents declared in [from, to), for their medians (incident-times.ts). */
  declaredIn(period: { from: Date; to: Date }): Promise<TimedIncident[]>;
  /** Sets the channel once: an incident already running in a channel keeps it (`changed: false`). */
  setChannel(incidentId: string, channelId: string): Promise<Transition>;
  changeRole(incidentId: string, change: RoleChangeInput): Promise<Transition>;
  roleHistory(incidentId: string): Promise<RoleChange[]>;
  changeSeverity(incidentId: string, severity: string, by: string, at: Date): Promise<Transition>;
  changeType(incidentId: string, type: string, by: string, at: Date): Promise<Transition>;
  addToTimeline(incidentId: string, entry: TimelineEntryInput, recordedAt: Date): Promise<TimelineEntry>;
  /** Oldest first, by the time each thing happened. */
  timeline(incidentId: string): Promise<TimelineEntry[]>;
  /** Records the update, moves the reminder's clock and puts it on the timeline, once per request key. */
  postUpdate(incidentId: string, update: StatusUpdateInput): Promise<PostedUpdate>;
  statusUpdates(incidentId: string): Promise<StatusUpdate[]>;
  resolve(incidentId: string, by: string, at: Date): Promise<Transition>;
  close(incidentId: string, by: string, at: Date): Promise<Transition>;
  /** Action items outlive the incident: they are added and tracked after it is closed. */
  addActionItem(incidentId: string, item: ActionItemInput): Promise<ActionItem>;
  setActionItemState(itemId: string, state: string, by: string, at: Date): Promise<ActionItem>;
  actionItems(incidentId: string): Promise<ActionItem[]>;
}

interface IncidentRow {
  id: string;
  title: string;
  severity: Severity;
  type: IncidentType;
  private: boolean;
  state: IncidentState;
  channel_id: string | null;
  declared_by: string;
  declared_at: Date;
  detected_at: Date;
  resolved_at: Date | null;
  resolved_by: string | null;
  closed_at: Date | null;
  closed_by: string | null;
  last_update_at: Date;
  request_key: string | null;
}

type Queryable = pg.Pool | pg.PoolClient;

/** The holders of every role of several incidents in one query: a list never asks per incident. */
const CURRENT_ROLES = `SELECT DISTINCT ON (incident_id, role) incident_id, role, holder, changed_by, changed_at FROM incident_role_changes WHERE incident_id = ANY($1::bigint[]) ORDER BY incident_id, role, id DESC`;

interface RoleRow {
  incident_id: string;
  role: IncidentRole;
  holder: string;
  changed_by: string;
  changed_at: Date;
}

export function createIncidentStore(pool: pg.Pool): IncidentStore {
  async function loadAll(db: Queryable, rows: readonly IncidentRow[]): Promise<Incident[]> {
    if (rows.length === 0) return [];
    const { rows: roleRows } = await db.query<RoleRow>(CURRENT_ROLES, [rows.map((row) => row.id)]);
    const rolesOf = new Map<string, Incident['roles']>();
    for (const role of roleRows) {
      const roles = rolesOf.get(String(role.incident_id)) ?? {};
      roles[role.role] = { holder: role.holder, changedBy: role.changed_by, changedAt: role.changed_at };
      rolesOf.set(String(role.incident_id), roles);
    }
    return rows.map((row) => incidentOf(row, rolesOf.get(String(row.id)) ?? {}));
  }

  async function load(db: Queryable, row: IncidentRow): Promise<Incident> {
    return (await loadAll(db, [row]))[0]!;
  }

  function incidentOf(row: IncidentRow, roles: Incident['roles']): Incident {
    return {
      id: String(row.id),
      key: incidentKey(row.id),
      title: row.title,
      severity: row.severity,
      type: row.type,
      private: row.private,
      state: row.state,
      channelId: row.channel_id ?? undefined,
      declaredBy: row.declared_by,
      declaredAt: row.declared_at,
      detectedAt: row.detected_at,
      resolvedAt: row.resolved_at ?? undefined,
      resolvedBy: row.resolved_by ?? undefined,
      closedAt: row.closed_at ?? undefined,
      closedBy: row.closed_by ?? undefined,
      lastUpdateAt: row.last_update_at,
      roles,
    };
  }

  /** The incident's row, locked for the transaction; refused when missing (or closed, unless allowed). */
  async function lockIncident(client: pg.PoolClient, incidentId: string, allowClosed = false): Promise<IncidentRow> {
    const id = idOrRefuse(incidentId);
    const { rows } = await client.query<IncidentRow>('SELECT * FROM incidents WHERE id = $1 FOR UPDATE', [id]);
    const row = rows[0];
    if (!row) throw new IncidentError(`there is no incident ${incidentKey(id)}`, 'not-found');
    if (!allowClosed) refuseClosed(row);
    return row;
  }

  async function addEntry(db: Queryable, incidentId: string, entry: ReturnType<typeof TimelineEntryInput.parse>, recordedAt: Date): Promise<TimelineEntry> {
    const { rows } = await db.query<{ id: string }>(
      'INSERT INTO incident_timeline (incident_id, kind, occurred_at, recorded_at, actor, text, reference, request_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id',
      [incidentId, entry.kind, entry.occurredAt, recordedAt, entry.actor, entry.text, entry.reference ?? null, entry.requestKey ?? null],
    );
    return { id: String(rows[0]!.id), kind: entry.kind, occurredAt: entry.occurredAt, recordedAt, actor: entry.actor, text: entry.text, reference: entry.reference };
  }

  /** The row a request key already wrote in one of an incident's tables, if any. */
  async function byRequestKey<Row extends QueryResultRow>(db: Queryable, table: 'incident_timeline' | 'incident_status_updates' | 'incident_action_items', incidentId: string, requestKey: string | undefined): Promise<Row | undefined> {
    if (requestKey === undefined) return undefined;
    const { rows } = await db.query<Row>(`SELECT * FROM ${table} WHERE incident_id = $1 AND request_key = $2`, [incidentId, requestKey]);
    return rows[0];
  }

  /** Severity and type: the same change, recorded on the timeline, unchanged when it is already so. */
  async function changeField(incidentId: string, field: 'severity' | 'type', value: string, by: string, at: Date): Promise<Transition> {
    const wanted = field === 'severity' ? checked(Severity, value) : checked(IncidentType, value);
    checked(Actor, by);
    return withTransaction(pool, async (client) => {
      const row = await lockIncident(client, incidentId);
      if (row[field] === wanted) return { incident: await load(client, row), changed: false };
      const { rows } = await client.query<IncidentRow>(`UPDATE incidents SET ${field} = $2 WHERE id = $1 RETURNING *`, [row.id, wanted]);
      const kind = field === 'severity' ? 'severity-change' : 'type-change';
      await addEntry(client, row.id, { kind, occurredAt: at, actor: by, text: `${field} changed from ${row[field]} to ${wanted}`, reference: undefined }, at);
      return { incident: await load(client, rows[0]!), changed: true };
    });
  }

  async function actionItem(db: Queryable, itemId: string): Promise<ActionItem> {
    const { rows } = await db.query('SELECT * FROM incident_action_items WHERE id = $1', [itemId]);
    if (!rows[0]) throw new IncidentError(`there is no action item ${itemId}`, 'not-found');
    return actionItemOf(rows[0]);
  }

  const store: IncidentStore = {
    async declare(input) {
      const declaration = checked(Declaration, input);
      return withTransaction(pool, async (client) => {
        const replayed = async (): Promise<Declared | undefined> => {
          if (declaration.requestKey === undefined) return undefined;
          const earlier = await client.query<IncidentRow>('SELECT * FROM incidents WHERE request_key = $1', [declaration.requestKey]);
          return earlier.rows[0] ? { ...(await load(client, earlier.rows[0])), created: false } : undefined;
        };
        // Looked up first: an insert that conflicts still uses up a number, and keys are read in order.
        const known = await replayed();
        if (known) return known;
        // Another replica at the same time: the unique index makes this one wait for the first.
        const { rows } = await client.query<IncidentRow>(
          `INSERT INTO incidents (title, severity, type, private, state, channel_id, declared_by, declared_at, detected_at, last_update_at, request_key)
           VALUES ($1, $2, $3, $4, 'declared', $5, $6, $7, $8, $7, $9) ON CONFLICT (request_key) DO NOTHING RETURNING *`,
          [declaration.title, declaration.severity, declaration.type, declaration.private ?? declaration.type === 'security', declaration.channelId ?? null, declaration.declaredBy, declaration.at, declaration.detectedAt ?? declaration.at, declaration.requestKey ?? null],
        );
        const row = rows[0];
        if (!row) return (await replayed())!;
        await client.query('INSERT INTO incident_role_changes (incident_id, role, holder, changed_by, changed_at) VALUES ($1, $2, $3, $3, $4)', [row.id, 'commander', declaration.declaredBy, declaration.at]);
        const what = `declared ${declaration.severity} ${declaration.type} incident: ${declaration.title}`;
        await addEntry(client, row.id, { kind: 'declared', occurredAt: declaration.at, actor: declaration.declaredBy, text: what, reference: undefined }, declaration.at);
        return { ...(await load(client, row)), created: true };
      });
    },

    async find(idOrKey) {
      const id = incidentIdOf(idOrKey);
      if (!id) return undefined;
      const { rows } = await pool.query<IncidentRow>('SELECT * FROM incidents WHERE id = $1', [id]);
      return rows[0] ? load(pool, rows[0]) : undefined;
    },

    async list({ since, limit = 50 }) {
      const { rows } = await pool.query<IncidentRow>(`SELECT * FROM incidents WHERE state <> 'closed' OR declared_at >= $1 ORDER BY declared_at DESC, id DESC LIMIT $2`, [since, limit]);
      return loadAll(pool, rows);
    },

    async open() {
      const { rows } = await pool.query<IncidentRow>(`SELECT * FROM incidents WHERE state <> 'closed' ORDER BY declared_at, id`);
      return loadAll(pool, rows);
    },

    async inChannel(channelId) {
      const { rows } = await pool.query<IncidentRow>('SELECT * FROM incidents WHERE channel_id = $1 ORDER BY declared_at DESC, id DESC LIMIT 20', [channelId]);
      return loadAll(pool, rows);
    },

    async referencing(reference) {
      const { rows } = await pool.query<IncidentRow>('SELECT * FROM incidents WHERE id IN (SELECT incident_id FROM incident_timeline WHERE reference = $1) ORDER BY id LIMIT 20', [reference]);
      return loadAll(pool, rows);
    },

    async declaredIn({ from, to }) {
      const { rows } = await pool.query<{ detected_at: Date; declared_at: Date; resolved_at: Date | null }>('SELECT detected_at, declared_at, resolved_at FROM incidents WHERE declared_at >= $1 AND declared_at < $2', [from, to]);
      return rows.map((row) => ({ detectedAt: row.detected_at, declaredAt: row.declared_at, resolvedAt: row.resolved_at ?? undefined }));
    },

    async setChannel(incidentId, channelId) {
      if (channelId.trim() === '') throw new IncidentError('the channel id is empty', 'invalid');
      return withTransaction(pool, async (client) => {
        const row = await lockIncident(client, incidentId);
        // Never moved: people were invited there and its messages are the incident's record.
        if (row.channel_id !== null) return { incident: await load(client, row), changed: false };
        const { rows } = await client.query<IncidentRow>('UPDATE incidents SET channel_id = $2 WHERE id = $1 RETURNING *', [row.id, channelId]);
        return { incident: await load(client, rows[0]!), changed: true };
      });
    },

    async changeRole(incidentId, input) {
      const change = checked(RoleChangeInput, input);
      return withTransaction(pool, async (client) => {
        const row = await lockIncident(client, incidentId);
        const current = await load(client, row);
        if (current.roles[change.role]?.holder === change.holder) return { incident: current, changed: false };
        await client.query('INSERT INTO incident_role_changes (incident_id, role, holder, changed_by, changed_at) VALUES ($1, $2, $3, $4, $5)', [row.id, change.role, change.holder, change.by, change.at]);
        await addEntry(client, row.id, { kind: 'role-change', occurredAt: change.at, actor: change.by, text: `${change.role}: ${change.holder}`, reference: undefined }, change.at);
        return { incident: await load(client, row), changed: true };
      });
    },

    async roleHistory(incidentId) {
      const { rows } = await pool.query('SELECT role, holder, changed_by, changed_at FROM incident_role_changes WHERE incident_id = $1 ORDER BY id', [idOrRefuse(incidentId)]);
      return rows.map((row) => ({ role: row.role, holder: row.holder, changedBy: row.changed_by, changedAt: row.changed_at }));
    },

    changeSeverity: (incidentId, severity, by, at) => changeField(incidentId, 'severity', severity, by, at),
    changeType: (incidentId, type, by, at) => changeField(incidentId, 'type', type, by, at),

    async addToTimeline(incidentId, input, recordedAt) {
      const entry = checked(TimelineEntryInput, input);
      return withTransaction(pool, async (client) => {
        const row = await lockIncident(client, incidentId, true);
        const earlier = await byRequestKey<Record<string, unknown>>(client, 'incident_timeline', row.id, entry.requestKey);
        if (earlier) return timelineEntryOf(earlier);
        refuseClosed(row);
        return addEntry(client, row.id, entry, recordedAt);
      });
    },

    async timeline(incidentId) {
      const { rows } = await pool.query('SELECT * FROM incident_timeline WHERE incident_id = $1 ORDER BY occurred_at, id', [idOrRefuse(incidentId)]);
      return rows.map(timelineEntryOf);
    },

    async postUpdate(incidentId, input) {
      const update = checked(StatusUpdateInput, input);
      return withTransaction(pool, async (client) => {
        const row = await lockIncident(client, incidentId, true);
        const earlier = await byRequestKey<Record<string, unknown>>(client, 'incident_status_updates', row.id, update.requestKey);
        if (earlier) return { ...statusUpdateOf(earlier), created: false };
        refuseClosed(row);
        const { rows } = await client.query<{ id: string }>('INSERT INTO incident_status_updates (incident_id, author, text, posted_at, request_key) VALUES ($1, $2, $3, $4, $5) RETURNING id', [row.id, update.author, update.text, update.at, update.requestKey ?? null]);
        // An update posted late (a replayed one) never moves the reminder's clock back.
        await client.query('UPDATE incidents SET last_update_at = GREATEST(last_update_at, $2) WHERE id = $1', [row.id, update.at]);
        await addEntry(client, row.id, { kind: 'status-update', occurredAt: update.at, actor: update.author, text: update.text, reference: undefined }, update.at);
        return { id: String(rows[0]!.id), author: update.author, text: update.text, postedAt: update.at, created: true };
      });
    },

    async statusUpdates(incidentId) {
      const { rows } = await pool.query('SELECT id, author, text, posted_at FROM incident_status_updates WHERE incident_id = $1 ORDER BY posted_at, id', [idOrRefuse(incidentId)]);
      return rows.map(statusUpdateOf);
    },

    async resolve(incidentId, by, at) {
      checked(Actor, by);
      return withTransaction(pool, async (client) => {
        const row = await lockIncident(client, incidentId, true);
        if (row.state === 'resolved') return { incident: await load(client, row), changed: false };
        if (row.state === 'closed') throw new IncidentError(`${incidentKey(row.id)} is closed already: it cannot be resolved again`, 'transition');
        if (at < row.declared_at) throw new IncidentError(`${incidentKey(row.id)} cannot be resolved before it was declared`, 'invalid');
        const { rows } = await client.query<IncidentRow>(`UPDATE incidents SET state = 'resolved', resolved_at = $2, resolved_by = $3 WHERE id = $1 RETURNING *`, [row.id, at, by]);
        await addEntry(client, row.id, { kind: 'resolved', occurredAt: at, actor: by, text: 'resolved', reference: undefined }, at);
        return { incident: await load(client, rows[0]!), changed: true };
      });
    },

    async close(incidentId, by, at) {
      checked(Actor, by);
      return withTransaction(pool, async (client) => {
        const row = await lockIncident(client, incidentId, true);
        if (row.state === 'closed') return { incident: await load(client, row), changed: false };
        if (row.state === 'declared') throw new IncidentError(`${incidentKey(row.id)} is not resolved yet: resolve it before closing it`, 'transition');
        if (row.resolved_at && at < row.resolved_at) throw new IncidentError(`${incidentKey(row.id)} cannot be closed before it was resolved (${row.resolved_at.toISOString()})`, 'invalid');
        const { rows } = await client.query<IncidentRow>(`UPDATE incidents SET state = 'closed', closed_at = $2, closed_by = $3 WHERE id = $1 RETURNING *`, [row.id, at, by]);
        await addEntry(client, row.id, { kind: 'closed', occurredAt: at, actor: by, text: 'closed', reference: undefined }, at);
        return { incident: await load(client, rows[0]!), changed: true };
      });
    },

    async addActionItem(incidentId, input) {
      const item = checked(ActionItemInput, input);
      return withTransaction(pool, async (client) => {
        const row = await lockIncident(client, incidentId, true);
        const earlier = await byRequestKey<Record<string, unknown>>(client, 'incident_action_items', row.id, item.requestKey);
        if (earlier) return actionItemOf(earlier);
        const { rows } = await client.query(
          `INSERT INTO incident_action_items (incident_id, text, owner, state, created_by, created_at, updated_by, updated_at, request_key) VALUES ($1, $2, $3, 'open', $4, $5, $4, $5, $6) RETURNING *`,
          [row.id, item.text, item.owner, item.by, item.at, item.requestKey ?? null],
        );
        return actionItemOf(rows[0]);
      });
    },

    async setActionItemState(itemId, state, by, at) {
      const wanted = checked(ActionItemState, state);
      checked(Actor, by);
      if (!/^[1-9][0-9]{0,17}$/.test(itemId)) throw new IncidentError(`there is no action item ${itemId}`, 'not-found');
      const { rows } = await pool.query('UPDATE incident_action_items SET state = $2, updated_by = $3, updated_at = $4 WHERE id = $1 AND state <> $2 RETURNING *', [itemId, wanted, by, at]);
      return rows[0] ? actionItemOf(rows[0]) : actionItem(pool, itemId);
    },

    async actionItems(incidentId) {
      const { rows } = await pool.query('SELECT * FROM incident_action_items WHERE incident_id = $1 ORDER BY id', [idOrRefuse(incidentId)]);
      return rows.map(actionItemOf);
    },
  };
  return store;
}

function idOrRefuse(idOrKey: string): string {
  const id = incidentIdOf(idOrKey);
  if (!id) throw new IncidentError(`"${idOrKey}" is not an incident: incidents are named INC-<number>`, 'not-found');
  return id;
}

/** Checked after a request key's replay, so that a retry after the close still gets its answer. */
function refuseClosed(row: IncidentRow): void {
  if (row.state === 'closed') throw new IncidentError(`${incidentKey(row.id)} is closed: nothing more can change in it`, 'closed');
}

function timelineEntryOf(row: Record<string, unknown>): TimelineEntry {
  return {
    id: String(row.id),
    kind: row.kind as TimelineKind,
    occurredAt: row.occurred_at as Date,
    recordedAt: row.recorded_at as Date,
    actor: row.actor as string,
    text: row.text as string,
    reference: (row.reference as string | null) ?? undefined,
  };
}

function statusUpdateOf(row: Record<string, unknown>): StatusUpdate {
  return { id: String(row.id), author: row.author as string, text: row.text as string, postedAt: row.posted_at as Date };
}

function actionItemOf(row: Record<string, unknown>): ActionItem {
  return {
    id: String(row.id),
    incidentId: String(row.incident_id),
    text: row.text as string,
    owner: row.owner as string,
    state: row.state as ActionItemState,
    createdBy: row.created_by as string,
    createdAt: row.created_at as Date,
    updatedBy: row.updated_by as string,
    updatedAt: row.updated_at as Date,
  };
}
