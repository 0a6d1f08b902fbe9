/**
 * Started checklists in the bot's database: `checklists` (one row each), `checklist_items` (each
 * item's state now) and `checklist_events` (every tick, untick and check, never changed). A tick
 * is one transaction that locks the checklist's row first, so two people ticking the last two
 * items at once cannot both miss, or both claim, the completion. Every time is the database's now().
 */
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { ChecklistRequestError, type ChecklistEventInfo, type ChecklistInfo, type ChecklistItemInfo, type ChecklistItemState } from '../../commands/ports.js';
import { migrate, withTransaction } from '../../services/kit/postgres.js';

export const CHECKLIST_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));
export const CHECKLIST_MIGRATIONS_TABLE = 'checklists_migrations';
export const CHECKLIST_TABLES = ['checklists', 'checklist_items', 'checklist_events'] as const;

/** Creates or updates the tables; safe when several replicas start together (migrate holds an advisory lock). */
export function migrateChecklistStore(pool: pg.Pool, log?: (message: string) => void): Promise<string[]> {
  return migrate(pool, { directory: CHECKLIST_MIGRATIONS_DIR, table: CHECKLIST_MIGRATIONS_TABLE, ...(log ? { log } : {}) });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const isChecklistId = (value: string) => UUID.test(value);

export interface NewChecklist {
  id: string;
  checklist: string;
  title: string;
  startedBy: string;
  origin: string;
  channel?: string;
  items: Array<{ id: string; text: string; mode: 'auto' | 'manual'; note: string; check?: { status: 'pass' | 'fail' | 'unknown'; evidence: string } }>;
}

export type CheckResults = ReadonlyMap<string, { status: 'pass' | 'fail' | 'unknown'; evidence: string }>;

export interface ChecklistStore {
  create(checklist: NewChecklist): Promise<ChecklistInfo>;
  get(id: string): Promise<ChecklistInfo | undefined>;
  events(id: string): Promise<ChecklistEventInfo[]>;
  /** A person ticks or unticks an item; refused (ChecklistRequestError) before anything is written when it may not. */
  mark(id: string, itemId: string, by: string, action: 'tick' | 'untick'): Promise<ChecklistInfo>;
  /** Records what the automatic checks saw (a re-run); refused on a completed checklist. */
  recordChecks(id: string, by: string, results: CheckResults): Promise<ChecklistInfo>;
  /** Records the Slack message once; false when one is recorded already. */
  setMessage(id: string, ts: string): Promise<boolean>;
  /** Forgets the Slack message `ts` (Slack lost it) so that a new one can be recorded; false when it is not the one recorded. */
  forgetMessage(id: string, ts: string): Promise<boolean>;
  open(): Promise<ChecklistInfo[]>;
  completed(limit: number): Promise<ChecklistInfo[]>;
}

interface ChecklistRow {
  id: string;
  checklist: string;
  title: string;
  started_by: string;
  origin: string;
  channel: string | null;
  message_ts: string | null;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
  completed_by: string | null;
  revision: number;
}

interface ItemRow {
  checklist_id: string;
  item_id: string;
  text: string;
  mode: 'auto' | 'manual';
  note: string;
  state: ChecklistItemState;
  evidence: string | null;
  checked_at: Date | null;
  ticked_by: string | null;
  ticked_at: Date | null;
}

type Queryable = Pick<pg.PoolClient, 'query'>;

const iso = (date: Date | null) => (date ? date.toISOString() : null);

const itemInfo = (row: ItemRow): ChecklistItemInfo => ({
  id: row.item_id,
  text: row.text,
  mode: row.mode,
  note: row.note,
  state: row.state,
  evidence: row.evidence,
  checkedAt: iso(row.checked_at),
  tickedBy: row.ticked_by,
  tickedAt: iso(row.ticked_at),
});

const checklistInfo = (row: ChecklistRow, items: ItemRow[]): ChecklistInfo => ({
  id: row.id,
  checklist: row.checklist,
  title: row.title,
  startedBy: row.started_by,
  origin: row.origin,
  channel: row.channel,
  messageTs: row.message_ts,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
  completedAt: iso(row.completed_at),
  completedBy: row.completed_by,
  revision: row.revision,
  items: items.map(itemInfo),
});

/** Passed or ticked: what completion asks of every item. */
export const isSettled = (state: ChecklistItemState) => state === 'pass' || state === 'ticked';

async function load(db: Queryable, rows: ChecklistRow[]): Promise<ChecklistInfo[]> {
  if (rows.length === 0) return [];
  const { rows: items } = await db.query<ItemRow>('SELECT * FROM checklist_items WHERE checklist_id = ANY ($1::uuid[]) ORDER BY checklist_id, position', [rows.map((row) => row.id)]);
  return rows.map((row) => checklistInfo(row, items.filter((item) => item.checklist_id === row.id)));
}

async function loadOne(db: Queryable, id: string, lock = false): Promise<ChecklistInfo | undefined> {
  const { rows } = await db.query<ChecklistRow>(`SELECT * FROM checklists WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
  return (await load(db, rows))[0];
}

function unknownInstance(id: string): ChecklistRequestError {
  return new ChecklistRequestError('unknown-instance', `No checklist has the id ${id.slice(0, 40)}; \`checklists\` lists the open and recent ones.`);
}

/** Throws the refusal every change of a completed checklist gets. */
export function refuseCompleted(checklist: ChecklistInfo): void {
  if (checklist.completedAt) {
    throw new ChecklistRequestError(
      'completed',
      `This ${checklist.checklist} checklist was completed by ${checklist.completedBy} at ${checklist.completedAt.slice(0, 19).replace('T', ' ')} UTC; it changes no more. Start a new one with \`checklist ${checklist.checklist}\`.`,
    );
  }
}

/** Completes the checklist when every item is settled now; `by` made the last change. */
async function completeIfSettled(client: Queryable, id: string, by: string): Promise<void> {
  await client.query(
    `UPDATE checklists SET completed_at = now(), completed_by = $2
     WHERE id = $1 AND completed_at IS NULL AND NOT EXISTS (SELECT 1 FROM checklist_items WHERE checklist_id = $1 AND state NOT IN ('pass', 'ticked'))`,
    [id, by],
  );
}

export function createChecklistStore(pool: pg.Pool): ChecklistStore {
  return {
    async create(checklist) {
      return withTransaction(pool, async (client) => {
        await client.query('INSERT INTO checklists (id, checklist, title, started_by, origin, channel) VALUES ($1, $2, $3, $4, $5, $6)', [
          checklist.id,
          checklist.checklist,
          checklist.title,
          checklist.startedBy,
          checklist.origin,
          checklist.channel ?? null,
        ]);
        for (const [position, item] of checklist.items.entries()) {
          const state = item.check?.status ?? 'open';
          await client.query(
            `INSERT INTO checklist_items (checklist_id, position, item_id, text, mode, note, state, evidence, checked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $9 THEN now() END)`,
            [checklist.id, position, item.id, item.text, item.mode, item.note, state, item.check?.evidence ?? null, item.check !== undefined],
          );
          if (item.check) {
            await client.query('INSERT INTO checklist_events (checklist_id, item_id, action, actor, state, evidence) VALUES ($1, $2, $3, $4, $5, $6)', [
              checklist.id,
              item.id,
              'check',
              checklist.startedBy,
              state,
              item.check.evidence,
            ]);
          }
        }
        await completeIfSettled(client, checklist.id, checklist.startedBy);
        return (await loadOne(client, checklist.id))!;
      });
    },

    async get(id) {
      if (!isChecklistId(id)) return undefined;
      return loadOne(pool, id);
    },

    async events(id) {
      if (!isChecklistId(id)) return [];
      const { rows } = await pool.query<{ item_id: string; action: ChecklistEventInfo['action']; actor: string; state: ChecklistItemState; at: Date }>(
        'SELECT item_id, action, actor, state, at FROM checklist_events WHERE checklist_id = $1 ORDER BY id',
        [id],
      );
      return rows.map((row) => ({ itemId: row.item_id, action: row.action, actor: row.actor, state: row.state, at: row.at.toISOString() }));
    },

    async mark(id, itemId, by, action) {
      if (!isChecklistId(id)) throw unknownInstance(id);
      return withTransaction(pool, async (client) => {
        const checklist = await loadOne(client, id, true);
        if (!checklist) throw unknownInstance(id);
        refuseCompleted(checklist);
        const item = checklist.items.find((candidate) => candidate.id === itemId);
        if (!item) {
          throw new ChecklistRequestError('unknown-item', `The ${checklist.checklist} checklist has no item "${itemId.slice(0, 40)}"; its items are ${checklist.items.map((candidate) => candidate.id).join(', ')}.`);
        }
        if (action === 'tick') {
          if (item.state === 'ticked') throw new ChecklistRequestError('already-ticked', `"${item.text}" is ticked already (by ${item.tickedBy} at ${item.tickedAt?.slice(11, 19)} UTC).`);
          // A person may confirm by hand only what the bot could not look at; a failed check must be fixed and re-run.
          if (item.mode === 'auto' && item.state !== 'unknown') {
            throw new ChecklistRequestError('automatic', `"${item.text}" is checked by the bot (it ${item.state === 'pass' ? 'passed' : 'failed'}); fix what it found and re-run the checks rather than tick it.`);
          }
        } else if (item.state !== 'ticked') {
          throw new ChecklistRequestError('not-ticked', `"${item.text}" is not ticked, so there is nothing to untick.`);
        }
        // An automatic item unticked goes back to what its check last said: unknown.
        const state: ChecklistItemState = action === 'tick' ? 'ticked' : item.mode === 'auto' ? 'unknown' : 'open';
        await client.query(
          `UPDATE checklist_items SET state = $3, ticked_by = CASE WHEN $3 = 'ticked' THEN $4 END, ticked_at = CASE WHEN $3 = 'ticked' THEN now() END
           WHERE checklist_id = $1 AND item_id = $2`,
          [id, itemId, state, by],
        );
        await client.query('INSERT INTO checklist_events (checklist_id, item_id, action, actor, state) VALUES ($1, $2, $3, $4, $5)', [id, itemId, action, by, state]);
        await client.query('UPDATE checklists SET revision = revision + 1, updated_at = now() WHERE id = $1', [id]);
        await completeIfSettled(client, id, by);
        return (await loadOne(client, id))!;
      });
    },

    async recordChecks(id, by, results) {
      if (!isChecklistId(id)) throw unknownInstance(id);
      return withTransaction(pool, async (client) => {
        const checklist = await loadOne(client, id, true);
        if (!checklist) throw unknownInstance(id);
        refuseCompleted(checklist);
        for (const item of checklist.items) {
          const result = results.get(item.id);
          if (item.mode !== 'auto' || !result) continue;
          // A hand confirmation of an unknown item stands until the bot can look again; what it sees then replaces it.
          if (item.state === 'ticked' && result.status === 'unknown') continue;
          await client.query(
            'UPDATE checklist_items SET state = $3, evidence = $4, checked_at = now(), ticked_by = NULL, ticked_at = NULL WHERE checklist_id = $1 AND item_id = $2',
            [id, item.id, result.status, result.evidence],
          );
          await client.query('INSERT INTO checklist_events (checklist_id, item_id, action, actor, state, evidence) VALUES ($1, $2, $3, $4, $5, $6)', [
            id,
            item.id,
            'check',
            by,
            result.status,
            result.evidence,
          ]);
        }
        await client.query('UPDATE checklists SET revision = revision + 1, updated_at = now() WHERE id = $1', [id]);
        await completeIfSettled(client, id, by);
        return (await loadOne(client, id))!;
      });
    },

    async setMessage(id, ts) {
      const { rowCount } = await pool.query('UPDATE checklists SET message_ts = $2 WHERE id = $1 AND message_ts IS NULL', [id, ts]);
      return rowCount === 1;
    },

    async forgetMessage(id, ts) {
      const { rowCount } = await pool.query('UPDATE checklists SET message_ts = NULL WHERE id = $1 AND message_ts = $2', [id, ts]);
      return rowCount === 1;
    },

    async open() {
      const { rows } = await pool.query<ChecklistRow>('SELECT * FROM checklists WHERE completed_at IS NULL ORDER BY created_at LIMIT 100');
      return load(pool, rows);
    },

    async completed(limit) {
      const { rows } = await pool.query<ChecklistRow>('SELECT * FROM checklists WHERE completed_at IS NOT NULL ORDER BY completed_at DESC LIMIT $1', [limit]);
      return load(pool, rows);
    },
  };
}
