/**
 * Signed checkpoints of the Audit Engine's own chain (README.md, "Signed checkpoints"): its tables
 * and columns for the shared ledger, and a walk of each stretch before it is signed.
 */
import type pg from 'pg';
import { walkEvents } from './chain-verifier.js';
import { type CheckpointLedger, createCheckpointLedger } from './checkpoint-ledger.js';
import type { CheckpointKey } from './checkpoint-signing.js';
import { AUDIT_CHAIN_TABLES, genesisChainHash } from './hash-chain.js';

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
      tables: AUDIT_CHAIN_TABLES,
      idColumn: 'id::text',
    },
    ...(options.localFile ? { localFile: options.localFile } : {}),
    async verifyWindow(from, upTo) {
      const walked = await walkEvents(pool, from, upTo, options.batchSize);
      if (walked.broken) return walked.broken.message;
      return walked.last.sequence < upTo ? `events ${walked.last.sequence + 1}..${upTo} are missing` : undefined;
    },
  });
}
