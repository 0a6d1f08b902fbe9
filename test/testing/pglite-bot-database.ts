/**
 * The bot's database as the embedded default of `npm start` opens it (bot/main.ts): PGlite, which
 * has one session, so the pool has one connection that the trail's appends share with whatever
 * the test runs on it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { type AuditTrail, createAuditTrail } from '../../bot/audit-trail/index.js';
import { createPool } from '../../services/kit/postgres.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../services/stack/local/embedded-postgres.js';

export interface PgliteBotDatabase {
  /** A directory of the test's own, removed by `close()`. */
  scratch: string;
  embedded: EmbeddedPostgres;
  pool: pg.Pool;
  /** The bot's audit trail on that pool, started. */
  trail: AuditTrail;
  close(): Promise<void>;
}

/** `name` tells the test's directory and connection apart from other suites'. */
export async function openPgliteBotDatabase(name: string): Promise<PgliteBotDatabase> {
  const scratch = mkdtempSync(join(tmpdir(), `acgs-${name}-pglite-`));
  let embedded: EmbeddedPostgres | undefined;
  let pool: pg.Pool | undefined;
  let trail: AuditTrail | undefined;
  const close = async () => {
    await trail?.close().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    await embedded?.stop();
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    embedded = await startEmbeddedPostgres(join(scratch, 'pglite', 'bot'));
    pool = createPool({ databaseUrl: embedded.url, max: 1, applicationName: `acgs-${name}-pglite-test` });
    trail = createAuditTrail({ pool, spoolDir: join(scratch, 'spool'), writeTimeoutMs: 5000, retryMinMs: 50, retryMaxMs: 500 });
    await trail.start();
    return { scratch, embedded, pool, trail, close };
  } catch (error) {
    await close();
    throw error;
  }
}
