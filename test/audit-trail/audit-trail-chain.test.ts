import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditTrail, createAuditTrail } from '../../bot/audit-trail/audit-trail.js';
import { trailChainHash, trailContentHash, trailGenesisHash } from '../../bot/audit-trail/trail-chain.js';
import { TrailInputError } from '../../bot/audit-trail/trail-record.js';
import { rowToChained, type TrailRow, TRAIL_COLUMNS } from '../../bot/audit-trail/trail-store.js';
import { CONSTITUTIONAL_HASH } from '../../services/kit/constitution.js';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';

const APPEND_PROCESS = fileURLToPath(new URL('../../bot/audit-trail/testing/append-process.ts', import.meta.url));

interface TrailFixture {
  db: TestDatabase;
  pool: pg.Pool;
  /** A connection of its own, outside the trail, to inspect and tamper with rows. */
  sql: pg.Client;
  trail: AuditTrail;
  spoolDir: string;
  close(): Promise<void>;
}

const fixtures: TrailFixture[] = [];

async function openTrail(): Promise<TrailFixture> {
  const db = await createTestDatabase('acgs_trail_test');
  const pool = createPool({ databaseUrl: db.url, max: 4, applicationName: 'acgs-trail-test' });
  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  const spoolDir = mkdtempSync(join(tmpdir(), 'acgs-trail-'));
  const trail = createAuditTrail({ pool, spoolDir });
  const fixture: TrailFixture = {
    db,
    pool,
    sql,
    trail,
    spoolDir,
    async close() {
      await trail.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await sql.end().catch(() => undefined);
      await db.drop();
      rmSync(spoolDir, { recursive: true, force: true });
    },
  };
  fixtures.push(fixture);
  await trail.start();
  return fixture;
}

afterAll(async () => {
  await Promise.allSettled(fixtures.map((fixture) => fixture.close()));
});

/** Appends `count` ordinary records: commands by alternating users. */
async function appendSome(trail: AuditTrail, count: number): Promise<void> {
  for (let index = 0; index < count; index += 1) {
    await trail.append({ kind: 'command', actor: index % 2 === 0 ? 'U0ALICE' : 'U0BOB', command: 'scale', args: { service: 'policy-engine', replicas: index } });
  }
}

/** What an attacker with superuser rights can do: switch the triggers off for their session. */
async function asAttacker(sql: pg.Client, statement: string, values: unknown[] = []): Promise<void> {
  await sql.query('SET session_replication_role = replica');
  try {
    await sql.query(statement, values);
  } finally {
    await sql.query('SET session_replication_role = origin');
  }
}

describe('appending and verifying', () => {
  let fixture: TrailFixture;
  beforeAll(async () => {
    fixture = await openTrail();
  });

  it('chains every record to the one before it, starting from the genesis, and verify finds them all intact', async () => {
    const { trail, sql } = fixture;
    const kinds = ['command', 'decision', 'approval_requested', 'vote', 'execution', 'result', 'break_glass'] as const;
    const receipts = [];
    for (const kind of kinds) receipts.push(await trail.append({ kind, actor: 'U0ALICE', command: 'lockdown' }));
    expect(receipts.map((receipt) => receipt.stored)).toEqual(kinds.map(() => 'chain'));
    expect(receipts.map((receipt) => (receipt.stored === 'chain' ? receipt.sequence : 0))).toEqual([1, 2, 3, 4, 5, 6, 7]);

    const rows = (await sql.query<TrailRow>(`SELECT ${TRAIL_COLUMNS} FROM bot_audit_trail ORDER BY sequence`)).rows.map(rowToChained);
    expect(rows[0]!.prev_hash).toBe(trailGenesisHash());
    rows.forEach((row, index) => {
      if (index > 0) expect(row.prev_hash).toBe(rows[index - 1]!.hash);
      expect(row.content_hash).toBe(trailContentHash(row));
      expect(row.hash).toBe(trailChainHash(row.prev_hash, row.content_hash));
      expect(row.constitutional_hash).toBe(CONSTITUTIONAL_HASH);
    });

    const verification = await trail.verify();
    expect(verification).toMatchObject({ valid: true, checked: 7, head: { sequence: 7, hash: rows[6]!.hash }, waiting: 0 });
    expect(verification.firstBad).toBeUndefined();
  });

  it('keeps every field as it was given, redacted, and gives it back through query', async () => {
    const { trail } = fixture;
    const at = new Date('2025-02-03T04:05:06.789Z');
    const receipt = await trail.append({
      kind: 'decision',
      actor: 'U0CAROL',
      origin: 'button',
      channel: 'C0OPS',
      command: 'redis flush',
      args: { confirm: true, password: 'hunter2' },
      decision: 'needs_approval',
      level: 3,
      outcome: 'pending',
      details: { approvers: ['approvers', 'admins'], needed: 2, note: 'via redis://:pw@127.0.0.1:6379' },
      at,
    });
    expect(receipt.stored).toBe('chain');
    const { records } = await trail.query({ user: 'U0CAROL', limit: 1 });
    expect(records[0]).toMatchObject({
      kind: 'decision',
      at: at.toISOString(),
      actor: 'U0CAROL',
      origin: 'button',
      channel: 'C0OPS',
      command: 'redis flush',
      args: { confirm: true, password: '[redacted]' },
      decision: 'needs_approval',
      level: 3,
      outcome: 'pending',
      details: { approvers: ['approvers', 'admins'], needed: 2, note: 'via redis://:[redacted]@127.0.0.1:6379' },
      constitutionalHash: CONSTITUTIONAL_HASH,
    });
    expect(Date.parse(records[0]!.recordedAt)).toBeGreaterThanOrEqual(Date.now() - 60_000);
    expect((await trail.verify()).valid).toBe(true);
  });

  it('records a retried append with the same key once and answers the retry with the first record', async () => {
    const { trail } = fixture;
    const first = await trail.append({ kind: 'vote', actor: 'U0DAVE', decision: 'approve', key: 'vote:req-1:U0DAVE' });
    const again = await trail.append({ kind: 'vote', actor: 'U0DAVE', decision: 'approve', key: 'vote:req-1:U0DAVE' });
    expect(first).toMatchObject({ stored: 'chain', duplicate: false });
    expect(again).toMatchObject({ stored: 'chain', duplicate: true, sequence: first.stored === 'chain' ? first.sequence : -1 });
    expect((await trail.query({ user: 'U0DAVE' })).records).toHaveLength(1);
  });

  it('keeps the order of appends made at the same moment in one process', async () => {
    const { trail } = fixture;
    const receipts = await Promise.all(
      Array.from({ length: 40 }, (_, index) => trail.append({ kind: 'result', actor: 'U0BURST', details: { index } })),
    );
    const sequences = receipts.map((receipt) => (receipt.stored === 'chain' ? receipt.sequence : -1));
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(new Set(sequences).size).toBe(40);
    const { records } = await trail.query({ user: 'U0BURST', limit: 40 });
    expect(records.map((record) => (record.details as { index: number }).index)).toEqual(Array.from({ length: 40 }, (_, i) => 39 - i));
  });

  it('refuses a malformed record with a clear message and writes nothing, neither to the chain nor to the spool', async () => {
    const { trail, sql } = fixture;
    const before = (await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM bot_audit_trail')).rows[0]!.n;
    await expect(trail.append({ kind: 'launch' } as never)).rejects.toThrow(TrailInputError);
    await expect(trail.appendToChain({ kind: 'execution', level: 9 } as never)).rejects.toThrow('audit record refused: level must be "read" or 1 to 4');
    expect((await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM bot_audit_trail')).rows[0]!.n).toBe(before);
    expect(trail.status().waiting).toBe(0);
  });

  it('refuses UPDATE, DELETE and TRUNCATE of records, and moving the head back', async () => {
    const { sql } = fixture;
    await expect(sql.query(`UPDATE bot_audit_trail SET actor = 'U0MALLORY' WHERE sequence = 1`)).rejects.toThrow(/append-only: UPDATE is not allowed/);
    await expect(sql.query('DELETE FROM bot_audit_trail WHERE sequence = 1')).rejects.toThrow(/append-only: DELETE is not allowed/);
    await expect(sql.query('TRUNCATE bot_audit_trail')).rejects.toThrow(/append-only: TRUNCATE is not allowed/);
    await expect(sql.query('UPDATE bot_audit_trail_head SET sequence = 1')).rejects.toThrow(/only moves forward/);
    await expect(sql.query('DELETE FROM bot_audit_trail_head')).rejects.toThrow(/only moves forward/);
    expect((await fixture.trail.verify()).valid).toBe(true);
  });
});

describe('querying', () => {
  let trail: AuditTrail;
  beforeAll(async () => {
    ({ trail } = await openTrail());
    const old = new Date(Date.now() - 3 * 86_400_000);
    await trail.append({ kind: 'command', actor: 'U0ALICE', command: 'lockdown', at: old });
    await trail.append({ kind: 'command', actor: 'U0BOB', command: 'lockdown lift' });
    await trail.append({ kind: 'command', actor: 'U0ALICE', command: 'lockdowns' });
    await trail.append({ kind: 'command', actor: 'U0ALICE', command: 'scale', args: { service: 'policy-engine', replicas: 2 } });
    await trail.append({ kind: 'result', actor: 'U0BOB', command: 'scale', outcome: 'ok' });
  });

  it('answers newest first', async () => {
    const { records, more, waiting } = await trail.query({ limit: 10 });
    expect(records.map((record) => record.sequence)).toEqual([5, 4, 3, 2, 1]);
    expect(more).toBe(false);
    expect(waiting).toBe(0);
  });

  it('filters by user', async () => {
    const { records } = await trail.query({ user: 'U0BOB' });
    expect(records.map((record) => record.sequence)).toEqual([5, 2]);
  });

  it('filters by command, a first word also finding its two-word commands but not other words', async () => {
    expect((await trail.query({ command: 'lockdown' })).records.map((record) => record.command)).toEqual(['lockdown lift', 'lockdown']);
    expect((await trail.query({ command: 'scale', user: 'U0ALICE' })).records.map((record) => record.sequence)).toEqual([4]);
  });

  it('filters by when it happened', async () => {
    const { records } = await trail.query({ since: new Date(Date.now() - 86_400_000) });
    expect(records.map((record) => record.sequence)).toEqual([5, 4, 3, 2]);
  });

  it('says when more records match than the limit, and pages on from the last one', async () => {
    const first = await trail.query({ limit: 2 });
    expect(first.records.map((record) => record.sequence)).toEqual([5, 4]);
    expect(first.more).toBe(true);
    const next = await trail.query({ limit: 2, beforeSequence: 4 });
    expect(next.records.map((record) => record.sequence)).toEqual([3, 2]);
  });

  it.each([0, 201, 1.5])('refuses a limit of %s with a message naming the range, reading nothing', async (limit) => {
    await expect(trail.query({ limit })).rejects.toThrow('limit must be a whole number from 1 to 200');
  });

  it('refuses an invalid since', async () => {
    await expect(trail.query({ since: new Date('not a date') })).rejects.toThrow('since must be a valid time');
  });

  it('treats LIKE wildcards in a command filter as plain text', async () => {
    expect((await trail.query({ command: '%' })).records).toEqual([]);
    expect((await trail.query({ command: 'lockdown_' })).records).toEqual([]);
  });
});

describe('tampering is detected and the first bad record is named', () => {
  async function tamperedTrail(count = 6): Promise<TrailFixture> {
    const fixture = await openTrail();
    await appendSome(fixture.trail, count);
    expect((await fixture.trail.verify()).valid).toBe(true);
    return fixture;
  }

  it('names a record whose content was changed by a superuser who switched the trigger off', async () => {
    const { trail, sql } = await tamperedTrail();
    await asAttacker(sql, `UPDATE bot_audit_trail SET actor = 'U0MALLORY' WHERE sequence = 3`);
    expect(await trail.verify()).toMatchObject({
      valid: false,
      checked: 2,
      firstBad: { sequence: 3, check: 'content', problem: 'record #3 was altered after it was written: its content no longer matches its hash' },
    });
  });

  it('names a record changed inside its jsonb arguments', async () => {
    const { trail, sql } = await tamperedTrail();
    await asAttacker(sql, `UPDATE bot_audit_trail SET arguments = jsonb_set(arguments, '{replicas}', '99') WHERE sequence = 5`);
    expect((await trail.verify()).firstBad).toMatchObject({ sequence: 5, check: 'content' });
  });

  it('names a record deleted from the middle as missing', async () => {
    const { trail, sql } = await tamperedTrail();
    await asAttacker(sql, 'DELETE FROM bot_audit_trail WHERE sequence = 3');
    expect(await trail.verify()).toMatchObject({
      valid: false,
      checked: 2,
      firstBad: { sequence: 3, check: 'missing', problem: 'record #3 is missing (deleted?): the trail jumps from #2 to #4' },
    });
  });

  it('names records deleted from the end, which only the head still remembers', async () => {
    const { trail, sql } = await tamperedTrail();
    await asAttacker(sql, 'DELETE FROM bot_audit_trail WHERE sequence >= 5');
    expect(await trail.verify()).toMatchObject({
      valid: false,
      checked: 4,
      firstBad: { sequence: 5, check: 'missing', problem: 'records #5 to #6 are missing from the end of the trail (deleted?)' },
    });
  });

  it('names a record whose hash was changed', async () => {
    const { trail, sql } = await tamperedTrail();
    await asAttacker(sql, `UPDATE bot_audit_trail SET hash = repeat('0', 64) WHERE sequence = 4`);
    expect((await trail.verify()).firstBad).toMatchObject({ sequence: 4, check: 'hash', problem: 'the hash of record #4 was altered after it was written' });
  });

  it('names a record rewritten with recomputed hashes, through the link of the record after it', async () => {
    const { trail, sql } = await tamperedTrail();
    const row = rowToChained((await sql.query<TrailRow>(`SELECT ${TRAIL_COLUMNS} FROM bot_audit_trail WHERE sequence = 3`)).rows[0]!);
    const forged = { ...row, actor: 'U0MALLORY' };
    const contentHash = trailContentHash(forged);
    await asAttacker(sql, 'UPDATE bot_audit_trail SET actor = $1, content_hash = $2, hash = $3 WHERE sequence = 3', [
      'U0MALLORY',
      contentHash,
      trailChainHash(row.prev_hash, contentHash),
    ]);
    const verification = await trail.verify();
    expect(verification).toMatchObject({ valid: false, checked: 2, firstBad: { sequence: 3, check: 'link' } });
    expect(verification.firstBad!.problem).toMatch(/^record #4 does not link to record #3: record #3 was rewritten/);
  });

  it('names the last record rewritten with recomputed hashes, through the head', async () => {
    const { trail, sql } = await tamperedTrail();
    const row = rowToChained((await sql.query<TrailRow>(`SELECT ${TRAIL_COLUMNS} FROM bot_audit_trail WHERE sequence = 6`)).rows[0]!);
    const forged = { ...row, outcome: 'ok' };
    const contentHash = trailContentHash(forged);
    await asAttacker(sql, 'UPDATE bot_audit_trail SET outcome = $1, content_hash = $2, hash = $3 WHERE sequence = 6', [
      'ok',
      contentHash,
      trailChainHash(row.prev_hash, contentHash),
    ]);
    expect(await trail.verify()).toMatchObject({ valid: false, checked: 5, firstBad: { sequence: 6, check: 'head' } });
  });
});

describe('two processes appending at once', () => {
  it('leave one chain: no fork, no gap, every record once, each process in its own order', { timeout: 60_000 }, async () => {
    const { db, sql, trail } = await openTrail();
    const perWriter = 150;
    const writers = ['writer-a', 'writer-b'].map((label) => {
      const spoolDir = mkdtempSync(join(tmpdir(), `acgs-trail-${label}-`));
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', APPEND_PROCESS, JSON.stringify({ databaseUrl: db.url, spoolDir, label, count: perWriter, concurrency: 2, waitForGo: true })],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let output = '';
      let errors = '';
      child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
      const started = new Promise<void>((resolve) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('"started"')) resolve();
        });
      });
      const finished = new Promise<string>((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', (code) => {
          rmSync(spoolDir, { recursive: true, force: true });
          if (code === 0) resolve(output);
          else reject(new Error(`writer ${label} exited with ${code}: ${errors}`));
        });
      });
      return { child, started, finished };
    });
    // Both are connected and migrated before either appends, so their appends really overlap.
    await Promise.all(writers.map((writer) => writer.started));
    for (const writer of writers) writer.child.stdin.end('go\n');
    const outputs = await Promise.all(writers.map((writer) => writer.finished));
    for (const output of outputs) {
      const acks = output.split('\n').filter((line) => line.includes('"acked"')).map((line) => JSON.parse(line) as { stored: string });
      expect(acks).toHaveLength(perWriter);
      expect(acks.every((ack) => ack.stored === 'chain')).toBe(true);
    }

    const shape = await sql.query<{ n: number; distinct_keys: number; max: number; forks: number }>(`
      SELECT count(*)::int AS n, count(DISTINCT idempotency_key)::int AS distinct_keys, max(sequence)::int AS max,
             (SELECT count(*)::int FROM (SELECT prev_hash FROM bot_audit_trail GROUP BY 1 HAVING count(*) > 1) f) AS forks
      FROM bot_audit_trail`);
    expect(shape.rows[0]).toEqual({ n: 2 * perWriter, distinct_keys: 2 * perWriter, max: 2 * perWriter, forks: 0 });
    for (const label of ['writer-a', 'writer-b']) {
      // Two appends in flight at a time: each one lands after every append that returned before it was made.
      const order = await sql.query<{ index: number }>(`SELECT (details->>'index')::int AS index FROM bot_audit_trail WHERE actor = $1 ORDER BY sequence`, [label]);
      const indexes = order.rows.map((row) => row.index);
      expect([...indexes].sort((a, b) => a - b)).toEqual(Array.from({ length: perWriter }, (_, i) => i));
      indexes.forEach((index, position) => expect(Math.abs(index - position)).toBeLessThanOrEqual(1));
    }
    // Both writers really took turns: their records interleave rather than one running after the other.
    const runs = await sql.query<{ changes: number }>(
      `SELECT count(*)::int AS changes FROM (SELECT actor, lag(actor) OVER (ORDER BY sequence) AS before FROM bot_audit_trail) t WHERE actor <> before`,
    );
    expect(runs.rows[0]!.changes).toBeGreaterThan(1);
    expect(await trail.verify()).toMatchObject({ valid: true, checked: 2 * perWriter });
  });
});
