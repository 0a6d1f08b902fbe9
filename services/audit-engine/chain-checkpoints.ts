/**
 * Signed checkpoints of the Audit Engine's own chain (README.md, "Signed checkpoints"): its tables
 * and columns for the shared ledger, and a walk of each stretch before it is signed.
 */
import type pg from 'pg';
import { walkEvents } from './chain-verifier.js';
import { type CheckpointLedger, createCheckpointLedger } from './checkpoint-ledger.js';
import type { CheckpointKey } from './checkpoint-signing.js';
import { genesisChainHash } from './hash-chain.js';

export const AUDIT_CHAIN_NAME = 'acgs-audit-engine';
export const AUDIT_CHECKPOINT_KEY_ENV = 'AUDIT_CHECKPOINT_SIGNING_KEY';

export function createAuditCheckpoints(options: { pool: pg.Pool; key: CheckpointKey; localFile?: string | undefined; batchSize: number }): CheckpointLedger {
  const { pool } = options;
  return createCheckpointLedger({
    pool,
    key: options.key,
    chain: {
      name: AUDIT_CHAIN_NAME,
      genesisHash: genesisChainHash(),
      headSql: 'SELECT sequence, chain_hash AS hash FROM audit_chain_head WHERE id = 1',
      table: 'audit_events',
      idColumn: 'id::text',
      hashColumn: 'chain_hash',
      checkpointTable: 'audit_chain_checkpoints',
    },
    ...(options.localFile ? { localFile: options.localFile } : {}),
    async verifyWindow(from, upTo) {
      const walked = await walkEvents(pool, from, upTo, options.batchSize);
      if (walked.broken) return walked.broken.message;
      return walked.last.sequence < upTo ? `events ${walked.last.sequence + 1}..${upTo} are missing` : undefined;
    },
  });
}
