import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { CONSTITUTIONAL_HASH } from '../kit/constitution.js';
import { ServiceError, isServiceError } from '../kit/errors.js';
import { ensureChainHead } from '../kit/hash-chain/chain-head.js';
import { withTransaction } from '../kit/postgres.js';
import type { AuditEventInput, ChainHead } from './contract.js';
import { EVENT_COLUMNS, type EventRow, type StoredEvent, rowToStoredEvent } from './event-rows.js';
import { createGroupCommitter } from './group-commit.js';
import { AUDIT_CHAIN_TABLES, chainHash, contentHash, genesisChainHash } from './hash-chain.js';
import { type ReplayedContent, assertSameReplay } from './replay-check.js';

/** An accepted input, normalized to exactly what will be stored and hashed. */
export interface NormalizedInput extends ReplayedContent {
  idempotency_key: string | null;
}

export interface AppendOutcome {
  event: StoredEvent;
  /** True when the event was already stored under its idempotency key and nothing was appended. */
  replayed: boolean;
}

export interface CommitStats {
  requests: number;
  appended: number;
  replayed: number;
  seconds: number;
}

export interface ListFilter {
  event_type?: string;
  agent_id?: string;
  source?: string;
  severity?: string;
  since?: string;
  until?: string;
  /** Only events older than this sequence (the decoded cursor). */
  before?: number;
  limit: number;
}

export interface EventStoreOptions {
  pool: pg.Pool;
  maxGroupEvents: number;
  onCommit?(stats: CommitStats): void;
}

export interface AuditEventStore {
  /** Creates the chain head (at the genesis hash) if this is a new database. */
  initialize(): Promise<void>;
  append(inputs: AuditEventInput[]): Promise<AppendOutcome[]>;
  get(id: string): Promise<StoredEvent | undefined>;
  /** Newest first; one more row than `limit` tells whether another page exists. */
  list(filter: ListFilter): Promise<{ events: StoredEvent[]; more: boolean }>;
  head(): Promise<ChainHead>;
  /** Resolves once every submitted append has committed or failed. */
  drained(): Promise<void>;
}

export function normalizeInput(input: AuditEventInput, receivedAt: Date): NormalizedInput {
  if (input.constitutional_hash !== undefined && input.constitutional_hash !== CONSTITUTIONAL_HASH) {
    throw new ServiceError('HASH_MISMATCH', { expected: CONSTITUTIONAL_HASH, actual: JSON.stringify(input.constitutional_hash) });
  }
  return {
    event_type: input.event_type,
    source: input.source ?? null,
    agent_id: input.agent_id ?? null,
    severity: input.severity ?? null,
    // Millisecond UTC is what timestamptz gives back through a JS Date, so the hash round-trips.
    occurred_at: new Date(input.occurred_at ?? receivedAt).toISOString(),
    occurred_at_sent: input.occurred_at !== undefined,
    idempotency_key: input.idempotency_key ?? null,
    data: input.data ?? null,
  };
}

const LOCK_HEAD = 'SELECT sequence, chain_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE';

const READ_HEAD = 'SELECT sequence, chain_hash FROM audit_chain_head WHERE id = 1';

const FIND_BY_KEYS = `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE idempotency_key = ANY($1::text[])`;

/**
 * The group's events as rows, from one JSON parameter. A JSON array of the events is one native
 * JSON.stringify; the former 14 array parameters cost pg an escaping pass over every element.
 * Absent keys and JSON null both read as SQL NULL.
 */
const EVENTS_FROM_JSON = `SELECT ${EVENT_COLUMNS} FROM jsonb_to_recordset($1::jsonb) AS event(
  id uuid, sequence bigint, event_type text, source text, agent_id text, severity text,
  occurred_at timestamptz, recorded_at timestamptz, idempotency_key text, data jsonb,
  constitutional_hash text, content_hash text, prev_chain_hash text, chain_hash text)`;

/**
 * The fast path: one autocommitted statement that moves the head only if it is still where this
 * process last saw it (compare-and-swap on the head row, which serializes writers like a lock),
 * and inserts the events only if it did. One round trip and one fsync per group.
 */
const APPEND_IF_HEAD_UNCHANGED = `
WITH advanced AS (
  UPDATE audit_chain_head SET sequence = $2, chain_hash = $3, updated_at = now()
  WHERE id = 1 AND sequence = $4 AND chain_hash = $5
  RETURNING 1
)
INSERT INTO audit_events (${EVENT_COLUMNS})
${EVENTS_FROM_JSON} WHERE EXISTS (SELECT 1 FROM advanced)`;

// The locked path's insert: the head row is already locked by this transaction.
const INSERT_AND_ADVANCE = `
WITH inserted AS (
  INSERT INTO audit_events (${EVENT_COLUMNS})
  ${EVENTS_FROM_JSON}
)
UPDATE audit_chain_head SET sequence = $2, chain_hash = $3, updated_at = now() WHERE id = 1`;

/** $1 the events (a StoredEvent's keys are exactly the columns), $2 and $3 the new head. */
function insertParams(events: StoredEvent[]): unknown[] {
  const last = events[events.length - 1]!;
  return [JSON.stringify(events), last.sequence, last.chain_hash];
}

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Errors caused by one request's data rather than by the database being unavailable: a data
 * exception, or our own refusal of a resent key with other content (409).
 */
function isDataError(error: unknown): boolean {
  if (isServiceError(error)) return true;
  const code = sqlState(error);
  return code !== undefined && (code.startsWith('22') || code.startsWith('23'));
}

function headFromRow(row: { sequence: string; chain_hash: string } | undefined): ChainHead {
  if (!row) throw new Error('audit_chain_head has no row; the migrations did not run or it was removed');
  return { sequence: Number(row.sequence), chain_hash: row.chain_hash };
}

interface ChainedGroup {
  outcomes: AppendOutcome[][];
  fresh: StoredEvent[];
  replayed: number;
  head: ChainHead;
}

/**
 * Lays the group's events onto the chain after `head`. Events whose idempotency key is in `known`
 * (stored earlier, or earlier in this group) are answered with the stored event instead.
 */
function chainOnto(head: ChainHead, requests: NormalizedInput[][], known: Map<string, StoredEvent>): ChainedGroup {
  const recordedAt = new Date().toISOString();
  const byKey = new Map(known);
  const fresh: StoredEvent[] = [];
  let { sequence, chain_hash: prev } = head;
  let replayed = 0;
  const outcomes = requests.map((inputs) =>
    inputs.map((input): AppendOutcome => {
      const stored = input.idempotency_key ? byKey.get(input.idempotency_key) : undefined;
      if (stored) {
        assertSameReplay(input, stored);
        replayed += 1;
        return { event: stored, replayed: true };
      }
      sequence += 1;
      // Written out field by field rather than spread: every event then shares one object shape,
      // which keeps hashing and serializing it on V8's fast paths.
      const event: StoredEvent = {
        id: randomUUID(),
        sequence,
        event_type: input.event_type,
        source: input.source,
        agent_id: input.agent_id,
        severity: input.severity,
        occurred_at: input.occurred_at,
        recorded_at: recordedAt,
        idempotency_key: input.idempotency_key,
        data: input.data,
        constitutional_hash: CONSTITUTIONAL_HASH,
        content_hash: '',
        prev_chain_hash: prev,
        chain_hash: '',
      };
      event.content_hash = contentHash(event);
      event.chain_hash = chainHash(prev, event.content_hash);
      prev = event.chain_hash;
      fresh.push(event);
      if (input.idempotency_key) byKey.set(input.idempotency_key, event);
      return { event, replayed: false };
    }),
  );
  return { outcomes, fresh, replayed, head: { sequence, chain_hash: prev } };
}

export function createAuditEventStore(options: EventStoreOptions): AuditEventStore {
  const { pool } = options;
  /** Where this process believes the head is; only a hint for the fast path, never trusted blindly. */
  let cachedHead: ChainHead | undefined;

  /** Undefined when the head moved (another instance appended) or a key is already stored. */
  async function appendIfHeadUnchanged(requests: NormalizedInput[][]): Promise<ChainedGroup | undefined> {
    // A client of our own rather than pool.query, which discards the connection after any error,
    // even the expected unique violation of a replay (and single-session databases cannot reconnect fast).
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      cachedHead ??= headFromRow((await client.query(READ_HEAD)).rows[0]);
      const group = chainOnto(cachedHead, requests, new Map());
      const result = await client.query({
        name: 'audit_append_if_head_unchanged',
        text: APPEND_IF_HEAD_UNCHANGED,
        values: [...insertParams(group.fresh), cachedHead.sequence, cachedHead.chain_hash],
      });
      return result.rowCount === group.fresh.length ? group : undefined;
    } catch (error) {
      if (sqlState(error) === '23505') return undefined; // a retried idempotency key: the locked path answers it
      // A refusal of ours (409) says nothing about the connection, which stays usable.
      if (sqlState(error) === undefined && !isServiceError(error)) broken = error as Error;
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /**
   * The slow path, always able to make progress: lock the head, look up known keys, append.
   * The lock travels with BEGIN (beginWith), saving a round trip.
   */
  function appendUnderLock(requests: NormalizedInput[][]): Promise<ChainedGroup> {
    return withTransaction(
      pool,
      async (client, locked) => {
        const head = headFromRow(locked?.rows[0]);
        const known = new Map<string, StoredEvent>();
        const keys = [...new Set(requests.flat().flatMap((input) => (input.idempotency_key ? [input.idempotency_key] : [])))];
        if (keys.length > 0) {
          const existing = await client.query<EventRow>(FIND_BY_KEYS, [keys]);
          for (const row of existing.rows) known.set(row.idempotency_key!, rowToStoredEvent(row));
        }
        const group = chainOnto(head, requests, known);
        if (group.fresh.length > 0) await client.query(INSERT_AND_ADVANCE, insertParams(group.fresh));
        return group;
      },
      { beginWith: LOCK_HEAD },
    );
  }

  async function commit(requests: NormalizedInput[][]): Promise<AppendOutcome[][]> {
    const started = process.hrtime.bigint();
    let group: ChainedGroup | undefined;
    try {
      group = await appendIfHeadUnchanged(requests);
      group ??= await appendUnderLock(requests);
    } catch (error) {
      cachedHead = undefined;
      throw error;
    }
    cachedHead = group.head;
    options.onCommit?.({
      requests: requests.length,
      appended: group.fresh.length,
      replayed: group.replayed,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    });
    return group.outcomes;
  }

  const committer = createGroupCommitter<NormalizedInput, AppendOutcome>({
    commit,
    maxItems: options.maxGroupEvents,
    isolate: isDataError,
  });

  return {
    initialize: () => ensureChainHead(pool, AUDIT_CHAIN_TABLES, genesisChainHash()),

    append(inputs) {
      const receivedAt = new Date();
      const normalized = inputs.map((input) => normalizeInput(input, receivedAt));
      return committer.submit(normalized);
    },

    async get(id) {
      const result = await pool.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM audit_events WHERE id = $1`, [id]);
      const row = result.rows[0];
      return row ? rowToStoredEvent(row) : undefined;
    },

    async list(filter) {
      const conditions: string[] = [];
      const params: unknown[] = [];
      const where = (template: (placeholder: string) => string, value: unknown) => {
        params.push(value);
        conditions.push(template(`$${params.length}`));
      };
      if (filter.event_type !== undefined) where((p) => `event_type = ${p}`, filter.event_type);
      if (filter.agent_id !== undefined) where((p) => `agent_id = ${p}`, filter.agent_id);
      if (filter.source !== undefined) where((p) => `source = ${p}`, filter.source);
      if (filter.severity !== undefined) where((p) => `severity = ${p}`, filter.severity);
      if (filter.since !== undefined) where((p) => `occurred_at >= ${p}::timestamptz`, filter.since);
      if (filter.until !== undefined) where((p) => `occurred_at <= ${p}::timestamptz`, filter.until);
      if (filter.before !== undefined) where((p) => `sequence < ${p}`, filter.before);
      params.push(filter.limit + 1);
      const sql =
        `SELECT ${EVENT_COLUMNS} FROM audit_events` +
        (conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '') +
        ` ORDER BY sequence DESC LIMIT $${params.length}`;
      const result = await pool.query<EventRow>(sql, params);
      const more = result.rows.length > filter.limit;
      return { events: result.rows.slice(0, filter.limit).map(rowToStoredEvent), more };
    },

    async head() {
      const result = await pool.query<{ sequence: string; chain_hash: string }>(
        'SELECT sequence, chain_hash FROM audit_chain_head WHERE id = 1',
      );
      const row = result.rows[0];
      if (!row) throw new Error('audit_chain_head has no row; the migrations did not run or it was removed');
      return { sequence: Number(row.sequence), chain_hash: row.chain_hash };
    },

    drained: () => committer.drained(),
  };
}
