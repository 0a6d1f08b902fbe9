/**
 * Signed checkpoints of a hash chain (the Audit Engine's, the bot's trail): every so often the
 * chain's head (sequence, hash, time) is signed with an Ed25519 key kept outside the database,
 * together with the digest of the (sequence, id, hash) of every record since the checkpoint
 * before. The database owner can switch the triggers off, delete a record and recompute every hash
 * so that the chain is consistent again, but cannot sign a checkpoint for the rewrite: the chain
 * then no longer matches the last checkpoint, and the checkpoint's record list names the record
 * that is missing or changed.
 *
 * The checkpoints are kept in a table of the chain's database (the chain's writer may INSERT and
 * SELECT, never change them), the latest one also in a file outside it (so deleting the newest
 * rows does not roll the evidence back), and optionally handed to a witness (the bot sends its
 * checkpoints to the Audit Engine). This module is the same for both chains; each names its
 * tables and columns.
 */
import { renameSync, readFileSync, writeFileSync } from 'node:fs';
import type pg from 'pg';
import { canonicalJson } from '../kit/hash-chain/canonical-json.js';
import type { HashChainTables } from '../kit/hash-chain/chain-schema.js';
import type { CheckpointKey } from './checkpoint-signing.js';
import { sha256Hex } from '../kit/hash-chain/chain-recipe.js';

/** One record as a checkpoint remembers it. `id` is what identifies it whatever its place. */
export interface ChainEntry {
  sequence: number;
  id: string;
  hash: string;
}

export interface CheckpointBody {
  /** Which chain (the bot's trail and the engine's chain sign with different keys, but still). */
  chain: string;
  sequence: number;
  hash: string;
  at: string;
  /** The checkpoint this one continues (0: the genesis); its window is (previous_sequence, sequence]. */
  previous_sequence: number;
  /** sha256 of the canonical JSON of the window's [sequence, id, hash] triples. */
  records_digest: string;
  key_id: string;
}

export interface SignedCheckpoint extends CheckpointBody {
  signature: string;
}

/** Which chain is signed: its name in the checkpoints, its genesis and tables; trusted constants, never input. */
export interface ChainTables {
  name: string;
  genesisHash: string;
  tables: HashChainTables;
  /** An expression giving the record's identity as text (`idempotency_key`, `id::text`). */
  idColumn: string;
}

export interface CheckpointBreach {
  /** The first record that is missing or changed. */
  sequence: number;
  check: 'missing' | 'checkpoint';
  /** The record's id as the checkpoint recorded it, when known. */
  id?: string;
  /** A sentence for people. */
  problem: string;
  /** Records the checkpoints list that are nowhere in the chain any more (the first 50). */
  missing: ChainEntry[];
  /** The checkpoint the chain no longer matches. */
  checkpoint: { sequence: number; at: string };
}

export interface CheckpointCheck {
  /** The newest checkpoint the chain still matches: records up to it need not be walked again. */
  anchor?: SignedCheckpoint;
  /** The newest signed checkpoint known (database, file or witness). */
  latest?: SignedCheckpoint;
  breach?: CheckpointBreach;
  /** Sentences about the checkpoints themselves (deleted rows, forged ones ignored). */
  notes: string[];
}

export interface CheckpointLedgerOptions {
  pool: pg.Pool;
  chain: ChainTables;
  key: CheckpointKey;
  /** The latest checkpoint is also written here (mode 0600), outside the database. */
  localFile?: string;
  /** Receives each new checkpoint once it is stored (the bot sends them to the Audit Engine). */
  onCheckpoint?(checkpoint: SignedCheckpoint): void;
  /** Another copy of the latest checkpoint, asked when checking (the Audit Engine's, for the bot). */
  witness?(): Promise<SignedCheckpoint | undefined>;
  /**
   * Checks the records in (from.sequence, upTo] against each other and `from.hash` before they
   * are signed: a chain that is already broken is never vouched for. The first problem, or undefined.
   */
  verifyWindow(from: { sequence: number; hash: string }, upTo: number): Promise<string | undefined>;
  /** Most records one checkpoint covers; a longer stretch gets several. Default 1000. */
  maxWindow?: number;
}

export interface CheckpointLedger {
  /** Signs the head when it moved since the last checkpoint; returns the checkpoints made. */
  checkpoint(): Promise<SignedCheckpoint[]>;
  /**
   * Compares the chain with the checkpoints; `insideOnly`: with those in the database alone, not
   * the copies kept outside it (which a restored, older chain is expected to fall behind).
   */
  check(options?: { insideOnly?: boolean }): Promise<CheckpointCheck>;
  /** The newest checkpoint kept outside the database (the local file), when there is one. */
  outside(): SignedCheckpoint | undefined;
  /**
   * Makes `head` the newest checkpoint although the copy outside the database is further on: the
   * chain was rolled back on purpose (a restore). Signs the stretch from the newest checkpoint in
   * the database at or before `head` up to it (`head` at sequence 0, the empty chain: a checkpoint
   * at the genesis) and replaces the outside copy. The caller has
   * walked the chain to `head` first; this only refuses what it would otherwise sign wrongly.
   */
  reanchor(head: { sequence: number; hash: string }): Promise<{ checkpoint: SignedCheckpoint; made: SignedCheckpoint[] }>;
}

/** The chain moved on from a broken state: the ledger refuses to sign it. */
export class CheckpointRefusedError extends Error {
  override readonly name = 'CheckpointRefusedError';
}

export const MAX_NAMED_MISSING = 50;
/** Checkpoint windows read to name what is missing or changed, from the first that no longer matches. */
export const MAX_WINDOWS_DESCRIBED = 20;

function bodyOf(checkpoint: SignedCheckpoint): CheckpointBody {
  const { chain, sequence, hash, at, previous_sequence, records_digest, key_id } = checkpoint;
  return { chain, sequence, hash, at, previous_sequence, records_digest, key_id };
}

export function recordsDigest(entries: readonly ChainEntry[]): string {
  return sha256Hex(canonicalJson(entries.map((entry) => [entry.sequence, entry.id, entry.hash])));
}

export function signCheckpoint(key: CheckpointKey, body: Omit<CheckpointBody, 'key_id'>): SignedCheckpoint {
  const full: CheckpointBody = { ...body, key_id: key.keyId };
  return { ...full, signature: key.sign(canonicalJson(full)) };
}

/** True when the checkpoint was signed by this key for this chain. */
export function checkpointSignedBy(key: CheckpointKey, chain: string, value: unknown): value is SignedCheckpoint {
  const candidate = value as Partial<SignedCheckpoint> | null;
  if (!candidate || typeof candidate !== 'object' || candidate.chain !== chain || candidate.key_id !== key.keyId) return false;
  if (typeof candidate.signature !== 'string' || !Number.isSafeInteger(candidate.sequence) || !Number.isSafeInteger(candidate.previous_sequence)) {
    return false;
  }
  return key.verify(canonicalJson(bodyOf(candidate as SignedCheckpoint)), candidate.signature);
}

export function readLocalCheckpoint(file: string | undefined, key: CheckpointKey, chain: string): SignedCheckpoint | undefined {
  if (!file) return undefined;
  try {
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return checkpointSignedBy(key, chain, value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function writeLocalCheckpoint(file: string, checkpoint: SignedCheckpoint): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(checkpoint)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}

export function createCheckpointLedger(options: CheckpointLedgerOptions): CheckpointLedger {
  const { pool, chain, key } = options;
  const { records, head: headTable, checkpoints: checkpointTable, hashColumn } = chain.tables;
  const maxWindow = options.maxWindow ?? 1000;
  const entryColumns = `sequence, ${chain.idColumn} AS id, ${hashColumn} AS hash`;

  const toEntry = (row: { sequence: string; id: string; hash: string }): ChainEntry => ({ sequence: Number(row.sequence), id: row.id, hash: row.hash });

  async function entries(after: number, upTo: number): Promise<ChainEntry[]> {
    const result = await pool.query<{ sequence: string; id: string; hash: string }>(
      `SELECT ${entryColumns} FROM ${records} WHERE sequence > $1 AND sequence <= $2 ORDER BY sequence`,
      [after, upTo],
    );
    return result.rows.map(toEntry);
  }

  async function entryAt(sequence: number): Promise<ChainEntry | undefined> {
    return (await entries(sequence - 1, sequence))[0];
  }

  async function entriesById(ids: readonly string[]): Promise<Map<string, ChainEntry>> {
    if (ids.length === 0) return new Map();
    const result = await pool.query<{ sequence: string; id: string; hash: string }>(
      `SELECT ${entryColumns} FROM ${records} WHERE ${chain.idColumn} = ANY($1::text[])`,
      [ids],
    );
    return new Map(result.rows.map((row) => [row.id, toEntry(row)]));
  }

  /** The signed checkpoints in the table, oldest first; rows that are not ours are counted, not trusted. */
  async function storedCheckpoints(): Promise<{ valid: SignedCheckpoint[]; foreign: number }> {
    const result = await pool.query<{ checkpoint: unknown }>(`SELECT checkpoint FROM ${checkpointTable} ORDER BY sequence`);
    const valid: SignedCheckpoint[] = [];
    let foreign = 0;
    for (const row of result.rows) {
      if (checkpointSignedBy(key, chain.name, row.checkpoint)) valid.push(row.checkpoint);
      else foreign += 1;
    }
    return { valid, foreign };
  }

  /** The newest row signed by this key; rows someone else wrote are skipped. */
  async function newestStoredCheckpoint(): Promise<SignedCheckpoint | undefined> {
    const result = await pool.query<{ checkpoint: unknown }>(`SELECT checkpoint FROM ${checkpointTable} ORDER BY sequence DESC LIMIT 100`);
    return result.rows.map((row) => row.checkpoint).find((value): value is SignedCheckpoint => checkpointSignedBy(key, chain.name, value));
  }

  async function windowOf(checkpoint: SignedCheckpoint): Promise<ChainEntry[] | undefined> {
    const result = await pool.query<{ records: unknown }>(`SELECT records FROM ${checkpointTable} WHERE sequence = $1`, [checkpoint.sequence]);
    const records = result.rows[0]?.records;
    if (!Array.isArray(records)) return undefined;
    const window = records.map((item) => {
      const [sequence, id, hash] = item as [number, string, string];
      return { sequence, id, hash };
    });
    // The list is only believed when it is the one the checkpoint signed.
    return recordsDigest(window) === checkpoint.records_digest ? window : undefined;
  }

  async function matches(checkpoint: SignedCheckpoint): Promise<boolean> {
    // The genesis checkpoint (a re-anchor to the empty chain) vouches for no record, only the start.
    if (checkpoint.sequence === 0) return checkpoint.hash === chain.genesisHash;
    return (await entryAt(checkpoint.sequence))?.hash === checkpoint.hash;
  }

  /**
   * A checkpoint at the genesis, for a chain rolled back to empty: it stands for "nothing yet", so
   * that the outside copy no longer holds the chain to the records that were rolled back. Kept
   * outside the database only (the table holds records' sequences, all > 0).
   */
  function genesisCheckpoint(): SignedCheckpoint {
    return signCheckpoint(key, {
      chain: chain.name,
      sequence: 0,
      hash: chain.genesisHash,
      at: new Date().toISOString(),
      previous_sequence: 0,
      records_digest: recordsDigest([]),
    });
  }

  /** Names what happened in the first checkpoint window the chain no longer matches. */
  async function describeBreach(anchors: SignedCheckpoint[], first: number): Promise<CheckpointBreach> {
    const broken = anchors[first]!;
    const at = { sequence: broken.sequence, at: broken.at };
    const missing: ChainEntry[] = [];
    let firstProblem: { sequence: number; check: CheckpointBreach['check']; id?: string; problem: string } | undefined;
    // Bounded: a rewrite early in a long chain must not turn one verify into thousands of queries.
    for (const checkpoint of anchors.slice(first, first + MAX_WINDOWS_DESCRIBED)) {
      if (missing.length >= MAX_NAMED_MISSING) break;
      const window = await windowOf(checkpoint);
      if (!window) continue;
      const found = await entriesById(window.map((entry) => entry.id));
      for (const entry of window) {
        const now = found.get(entry.id);
        if (!now) {
          if (missing.length < MAX_NAMED_MISSING) missing.push(entry);
          firstProblem ??= {
            sequence: entry.sequence,
            check: 'missing',
            id: entry.id,
            problem: `record #${entry.sequence} (${entry.id}), covered by the signed checkpoint of ${checkpoint.at}, is missing from the chain (deleted, and the hashes after it recomputed?)`,
          };
        } else if (now.sequence !== entry.sequence || now.hash !== entry.hash) {
          firstProblem ??= {
            sequence: entry.sequence,
            check: 'checkpoint',
            id: entry.id,
            problem:
              now.sequence !== entry.sequence
                ? `record #${entry.sequence} (${entry.id}) now sits at #${now.sequence}: records before it were removed or inserted after the signed checkpoint of ${checkpoint.at}`
                : `record #${entry.sequence} (${entry.id}) was changed after the signed checkpoint of ${checkpoint.at}: its hash no longer matches`,
          };
        }
      }
    }
    const previous = first > 0 ? anchors[first - 1]!.sequence : 0;
    return {
      ...(firstProblem ?? {
        sequence: previous + 1,
        check: 'checkpoint' as const,
        problem: `the chain no longer matches the signed checkpoint of ${broken.at} (#${broken.sequence}): records after #${previous} were changed or removed`,
      }),
      missing,
      checkpoint: at,
    };
  }

  /** Signs (from, upTo] in windows of at most maxWindow records, each walked first; the checkpoints made. */
  async function signStretch(from: { sequence: number; hash: string }, upTo: number): Promise<SignedCheckpoint[]> {
    let position = from;
    const made: SignedCheckpoint[] = [];
    while (position.sequence < upTo) {
      const end = Math.min(upTo, position.sequence + maxWindow);
      const problem = await options.verifyWindow(position, end);
      if (problem) throw new CheckpointRefusedError(`${chain.name} is broken, not signing it: ${problem}`);
      const window = await entries(position.sequence, end);
      const last = window[window.length - 1];
      if (!last || last.sequence !== end) throw new CheckpointRefusedError(`${chain.name}: records up to #${end} are missing, not signing it`);
      const checkpoint = signCheckpoint(key, {
        chain: chain.name,
        sequence: end,
        hash: last.hash,
        at: new Date().toISOString(),
        previous_sequence: position.sequence,
        records_digest: recordsDigest(window),
      });
      // Two replicas signing the same stretch at once: the first row stays, both are true.
      await pool.query(
        `INSERT INTO ${checkpointTable} (sequence, checkpoint, records) VALUES ($1, $2::jsonb, $3::jsonb) ON CONFLICT (sequence) DO NOTHING`,
        [end, JSON.stringify(checkpoint), JSON.stringify(window.map((entry) => [entry.sequence, entry.id, entry.hash]))],
      );
      made.push(checkpoint);
      position = { sequence: end, hash: last.hash };
    }
    return made;
  }

  return {
    async checkpoint() {
      const stored = await newestStoredCheckpoint();
      const local = readLocalCheckpoint(options.localFile, key, chain.name);
      // Continues from the newest signed checkpoint, even if its row was deleted from the database.
      const from = local && (!stored || local.sequence > stored.sequence) ? local : stored;
      const head = (await pool.query<{ sequence: string; hash: string }>(`SELECT sequence, ${hashColumn} AS hash FROM ${headTable} WHERE id = 1`)).rows[0];
      if (!head) throw new Error(`${chain.name}: the head row is missing`);
      const headSequence = Number(head.sequence);
      // Never sign a chain that no longer matches what was signed before.
      if (from && !(await matches(from))) {
        throw new CheckpointRefusedError(`${chain.name} no longer matches its checkpoint #${from.sequence}: not signing it`);
      }
      const made = await signStretch(from ? { sequence: from.sequence, hash: from.hash } : { sequence: 0, hash: chain.genesisHash }, headSequence);
      const newest = made[made.length - 1];
      if (newest && options.localFile && (!local || local.sequence < newest.sequence)) writeLocalCheckpoint(options.localFile, newest);
      for (const checkpoint of made) options.onCheckpoint?.(checkpoint);
      return made;
    },

    outside: () => readLocalCheckpoint(options.localFile, key, chain.name),

    async reanchor(head) {
      const { valid } = await storedCheckpoints();
      // The restored database's own checkpoints: the newest one the head does not go past.
      const from = valid.filter((checkpoint) => checkpoint.sequence <= head.sequence).pop();
      if (from && !(await matches(from))) {
        throw new CheckpointRefusedError(`${chain.name} no longer matches its checkpoint #${from.sequence} in the database: not signing it`);
      }
      const made = await signStretch(from ? { sequence: from.sequence, hash: from.hash } : { sequence: 0, hash: chain.genesisHash }, head.sequence);
      const checkpoint = made[made.length - 1] ?? from ?? (head.sequence === 0 ? genesisCheckpoint() : undefined);
      if (!checkpoint || checkpoint.sequence !== head.sequence || checkpoint.hash !== head.hash) {
        throw new CheckpointRefusedError(`${chain.name}: record #${head.sequence} is not the head named (${head.hash}), not signing it`);
      }
      if (options.localFile) writeLocalCheckpoint(options.localFile, checkpoint);
      for (const signed of made) options.onCheckpoint?.(signed);
      return { checkpoint, made };
    },

    async check(checkOptions = {}) {
      const notes: string[] = [];
      const { valid, foreign } = await storedCheckpoints();
      if (foreign > 0) notes.push(`${foreign} checkpoint row${foreign === 1 ? ' is' : 's are'} not signed by this key and ${foreign === 1 ? 'was' : 'were'} ignored`);
      const known = new Set(valid.map((checkpoint) => checkpoint.sequence));
      for (const checkpoint of valid) {
        if (checkpoint.previous_sequence !== 0 && !known.has(checkpoint.previous_sequence)) {
          notes.push(`the signed checkpoint #${checkpoint.previous_sequence} is missing from the database (deleted?)`);
        }
      }
      const anchors = [...valid];
      // Copies outside the database: deleting the newest rows must not roll the evidence back.
      const outside = checkOptions.insideOnly ? [] : [readLocalCheckpoint(options.localFile, key, chain.name), await options.witness?.().catch(() => undefined)];
      for (const copy of outside) {
        if (!copy || known.has(copy.sequence)) continue;
        if (copy.sequence === 0) {
          // The genesis checkpoint is only ever kept outside: its absence from the table is no loss.
          anchors.push(copy);
          known.add(0);
          continue;
        }
        const newest = anchors[anchors.length - 1];
        if (newest && copy.sequence < newest.sequence) {
          notes.push(`the signed checkpoint #${copy.sequence} of ${copy.at} is missing from the database (deleted?)`);
          continue;
        }
        notes.push(`the newest signed checkpoint #${copy.sequence} of ${copy.at} is missing from the database (deleted?); checked against the copy kept outside it`);
        anchors.push(copy);
        known.add(copy.sequence);
      }
      anchors.sort((a, b) => a.sequence - b.sequence);
      const latest = anchors[anchors.length - 1];
      if (!latest) return { notes };
      if (await matches(latest)) return { anchor: latest, latest, notes };
      // A rewrite changes every hash after it, so the checkpoints match up to some point and
      // none after it: the first that does not is found by halving.
      let low = 0;
      let high = anchors.length - 1;
      while (low < high) {
        const middle = Math.floor((low + high) / 2);
        if (await matches(anchors[middle]!)) low = middle + 1;
        else high = middle;
      }
      const breach = await describeBreach(anchors, low);
      return { ...(low > 0 ? { anchor: anchors[low - 1]! } : {}), latest, breach, notes };
    },
  };
}
