/**
 * Incidents in the bot's PostgreSQL (migrations/): the incident, its roles, timeline, status
 * updates and action items. Changes to an incident take its row's lock first, so a change racing
 * a close either lands before it or is refused as being on a closed incident; resolve and close
 * are conditional updates, so two replicas resolving at once record one resolution.
 */
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
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

export const INCIDENT_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));
export const INCIDENT_MIGRATIONS_TABLE = 'bot_incident_migrations';
export const INCIDENT_TABLES = ['incidents', 'incident_role_changes', 'incident_timeline', 'incident_status_updates', 'incident_action_items'] as const;

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

export interface IncidentStore {
  /** Records the incident with its declarer as commander. */
  declare(declaration: Declaration): Promise<Incident>;
  /** By id or key (INC-12); undefined when there is none. */
  find(idOrKey: string): Promise<Incident | undefined>;
  /** Open incidents, and the others declared since `since`, newest first. */
  list(options: { since: Date; limit?: number }): Promise<Incident[]>;
  setChannel(incidentId: string, channelId: string): Promise<Incident>;
  changeRole(incidentId: string, change: RoleChangeInput): Promise<Transition>;
  roleHistory(incidentId: string): Promise<RoleChange[]>;
  changeSeverity(incidentId: string, severity: string, by: string, at: Date): Promise<Transition>;
  changeType(incidentId: string, type: string, by: string, at: Date): Promise<Transition>;
  addToTimeline(incidentId: string, entry: TimelineEntryInput, recordedAt: Date): Promise<TimelineEntry>;
  /** Oldest first, by the time each thing happened. */
  timeline(incidentId: string): Promise<TimelineEntry[]>;
  /** Records the update, moves the reminder's clock and puts it on the timeline. */
  postUpdate(incidentId: string, update: StatusUpdateInput): Promise<StatusUpdate>;
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
}

type Queryable = pg.Pool | pg.PoolClient;

const CURRENT_ROLES = `SELECT DISTINCT ON (role) role, holder, changed_by, changed_at FROM incident_role_changes WHERE incident_id = $1 ORDER BY role, id DESC`;

export function createIncidentStore(pool: pg.Pool): IncidentStore {
  async function load(db: Queryable, row: IncidentRow): Promise<Incident> {
    const { rows } = await db.query<{ role: IncidentRole; holder: string; changed_by: string; changed_at: Date }>(CURRENT_ROLES, [row.id]);
    const roles: Incident['roles'] = {};
    for (const role of rows) roles[role.role] = { holder: role.holder, changedBy: role.changed_by, changedAt: role.changed_at };
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
    if (row.state === 'closed' && !allowClosed) throw new IncidentError(`${incidentKey(id)} is closed: nothing more can change in it`, 'closed');
    return row;
  }

  async function addEntry(db: Queryable, incidentId: string, entry: ReturnType<typeof TimelineEntryInput.parse>, recordedAt: Date): Promise<TimelineEntry> {
    const { rows } = await db.query<{ id: string }>(
      'INSERT INTO incident_timeline (incident_id, kind, occurred_at, recorded_at, actor, text, reference) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id',
      [incidentId, entry.kind, entry.occurredAt, recordedAt, entry.actor, entry.text, entry.reference ?? null],
    );
    return { id: String(rows[0]!.id), ...entry, recordedAt, reference: entry.reference };
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
        const { rows } = await client.query<IncidentRow>(
          `INSERT INTO incidents (title, severity, type, private, state, channel_id, declared_by, declared_at, detected_at, last_update_at)
           VALUES ($1, $2, $3, $4, 'declared', $5, $6, $7, $8, $7) RETURNING *`,
          [declaration.title, declaration.severity, declaration.type, declaration.private ?? declaration.type === 'security', declaration.channelId ?? null, declaration.declaredBy, declaration.at, declaration.detectedAt ?? declaration.at],
        );
        const row = rows[0]!;
        await client.query('INSERT INTO incident_role_changes (incident_id, role, holder, changed_by, changed_at) VALUES ($1, $2, $3, $3, $4)', [row.id, 'commander', declaration.declaredBy, declaration.at]);
        return load(client, row);
      });
    },

    async find(idOrKey) {
      const id = incidentIdOf(idOrKey);
      if (!id) return undefined;
      const { rows } = await pool.query<IncidentRow>('SELECT * FROM incidents WHERE id = $1', [id]);
      return rows[0] ? load(pool, rows[0]) : undefined;
    },

    async list({ since, limit = 50 }) {
      const { rows } = await pool.query<IncidentRow>(`SELECT * FROM incidents WHERE state = 'declared' OR declared_at >= $1 ORDER BY declared_at DESC, id DESC LIMIT $2`, [since, limit]);
      return Promise.all(rows.map((row) => load(pool, row)));
    },

    async setChannel(incidentId, channelId) {
      if (channelId.trim() === '') throw new IncidentError('the channel id is empty', 'invalid');
      return withTransaction(pool, async (client) => {
        const row = await lockIncident(client, incidentId);
        const { rows } = await client.query<IncidentRow>('UPDATE incidents SET channel_id = $2 WHERE id = $1 RETURNING *', [row.id, channelId]);
        return load(client, rows[0]!);
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
      return withTransaction(pool, async (client) => addEntry(client, (await lockIncident(client, incidentId)).id, entry, recordedAt));
    },

    async timeline(incidentId) {
      const { rows } = await pool.query('SELECT * FROM incident_timeline WHERE incident_id = $1 ORDER BY occurred_at, id', [idOrRefuse(incidentId)]);
      return rows.map((row) => ({ id: String(row.id), kind: row.kind, occurredAt: row.occurred_at, recordedAt: row.recorded_at, actor: row.actor, text: row.text, reference: row.reference ?? undefined }));
    },

    async postUpdate(incidentId, input) {
      const update = checked(StatusUpdateInput, input);
      return withTransaction(pool, async (client) => {
        const row = await lockIncident(client, incidentId);
        const { rows } = await client.query<{ id: string }>('INSERT INTO incident_status_updates (incident_id, author, text, posted_at) VALUES ($1, $2, $3, $4) RETURNING id', [row.id, update.author, update.text, update.at]);
        // An update posted late (a replayed one) never moves the reminder's clock back.
        await client.query('UPDATE incidents SET last_update_at = GREATEST(last_update_at, $2) WHERE id = $1', [row.id, update.at]);
        await addEntry(client, row.id, { kind: 'status-update', occurredAt: update.at, actor: update.author, text: update.text, reference: undefined }, update.at);
        return { id: String(rows[0]!.id), author: update.author, text: update.text, postedAt: update.at };
      });
    },

    async statusUpdates(incidentId) {
      const { rows } = await pool.query('SELECT id, author, text, posted_at FROM incident_status_updates WHERE incident_id = $1 ORDER BY posted_at, id', [idOrRefuse(incidentId)]);
      return rows.map((row) => ({ id: String(row.id), author: row.author, text: row.text, postedAt: row.posted_at }));
    },

    async resolve(incidentId, by, at) {
      checked(Actor, by);
      return withTransaction(pool, async (client) => {
        const row = await lockIncident(client, incidentId, true);
        if (row.state === 'resolved') return { incident: await load(client, row), changed: false };
        if (row.state === 'closed') throw new IncidentError(`${incidentKey(row.id)} is closed already: it cannot be resolved again`, 'transition');
        if (at < row.declared_at) throw new IncidentError(`${incidentKey(row.id)} cannot be resolved before it was declared`, 'invalid');
        const { rows } = await client.query<IncidentRow>(`UPDATE incidents SET state = 'resolved', resolved_at = $2, resolved_by = $3 WHERE id = $1 RETURNING *`, [row.id, at, by]);
        return { incident: await load(client, rows[0]!), changed: true };
      });
    },

    async close(incidentId, by, at) {
      checked(Actor, by);
      return withTransaction(pool, async (client) => {
        const row = await lockIncident(client, incidentId, true);
        if (row.state === 'closed') return { incident: await load(client, row), changed: false };
        if (row.state === 'declared') throw new IncidentError(`${incidentKey(row.id)} is not resolved yet: resolve it before closing it`, 'transition');
        const { rows } = await client.query<IncidentRow>(`UPDATE incidents SET state = 'closed', closed_at = $2, closed_by = $3 WHERE id = $1 RETURNING *`, [row.id, at, by]);
        return { incident: await load(client, rows[0]!), changed: true };
      });
    },

    async addActionItem(incidentId, input) {
      const item = checked(ActionItemInput, input);
      return withTransaction(pool, async (client) => {
        const row = await lockIncident(client, incidentId, true);
        const { rows } = await client.query(
          `INSERT INTO incident_action_items (incident_id, text, owner, state, created_by, created_at, updated_by, updated_at) VALUES ($1, $2, $3, 'open', $4, $5, $4, $5) RETURNING *`,
          [row.id, item.text, item.owner, item.by, item.at],
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
