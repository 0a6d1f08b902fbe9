/**
 * The Audit Engine's chain in a database given by URL (a restored copy, a database a restore just
 * replaced), walked by the engine's own verifier; null when the database holds no chain. Here so
 * that runbooks never carry the Audit Engine's SQL.
 */
import pg from 'pg';
import { verifyChain } from './chain-verifier.js';
import type { ChainHead } from './contract.js';

/**
 * The Audit Engine's chain walked on the restored rows, when the database holds one (its tables
 * exist); its head is what the engine is asked to re-anchor at after a restore.
 */
export async function auditChainAt(url: string): Promise<{ valid: boolean; events: number; head: ChainHead; problem?: string } | null> {
  const pool = new pg.Pool({ connectionString: url, max: 1, application_name: 'acgs-restore' });
  try {
    const { rows } = await pool.query<{ present: boolean }>("SELECT to_regclass('audit_chain_head') IS NOT NULL AND to_regclass('audit_events') IS NOT NULL AS present");
    if (!rows[0]?.present) return null;
    const result = await verifyChain(pool, { batchSize: 1000 });
    return { valid: result.valid, events: result.events_checked, head: result.head, ...(result.first_broken ? { problem: result.first_broken.message } : {}) };
  } finally {
    await pool.end();
  }
}
