/**
 * Signed checkpoints of the bot's trail (README.md in this folder, "Signed checkpoints"): the
 * trail's tables and columns for the shared ledger (services/audit-engine/checkpoint-ledger.ts),
 * its signing key (ACGS_TRAIL_SIGNING_KEY, else `<state dir>/trail-signing.key`), and the copy of
 * every checkpoint sent to the Audit Engine as a `chatops.trail_checkpoint` event.
 */
import { join } from 'node:path';
import type pg from 'pg';
import type { AuditEventInput } from '../../services/audit-engine/contract.js';
import { createAuditEngineClient } from '../../services/clients/audit-engine.js';
import {
  type CheckpointLedger,
  type SignedCheckpoint,
  createCheckpointLedger,
} from '../../services/audit-engine/checkpoint-ledger.js';
import { type CheckpointKey, loadCheckpointKey } from '../../services/audit-engine/checkpoint-signing.js';
import type { AuditOutbox } from '../../services/kit/audit-outbox.js';
import { BOT_AUDIT_SOURCE } from './governance-forwarding.js';
import { TRAIL_TABLES, trailGenesisHash } from './trail-chain.js';
import type { TrailStore } from './trail-store.js';
import { walkTrail } from './trail-verifier.js';

export interface TrailCheckpointSettings {
  key: CheckpointKey;
  /** The newest checkpoint is also kept in this file, outside the database. */
  localFile?: string;
  /** A checkpoint once this many records joined the chain since the last one. Default 100. */
  everyRecords?: number;
  /** And at least this often while records arrive. Default 60 s. */
  everyMs?: number;
  /**
   * A full walk in the background this long after the last one ended (the first right after the
   * start): a walk from the checkpoint does not re-read older records, so a change of content
   * alone (hashes untouched) before it is found by this walk, and then reported by every verify.
   * Default 10 minutes; 0: none.
   */
  fullVerifyEveryMs?: number;
  /** The Audit Engine's newest copy of a checkpoint, asked when verifying. */
  witness?(): Promise<SignedCheckpoint | undefined>;
}

export const TRAIL_CHAIN_NAME = 'acgs-bot-trail';
export const TRAIL_SIGNING_KEY_ENV = 'ACGS_TRAIL_SIGNING_KEY';
export const TRAIL_SIGNING_KEY_FILE = 'trail-signing.key';
export const TRAIL_CHECKPOINT_EVENT = 'chatops.trail_checkpoint';

/** The trail's signing key: the environment variable, else the file in the state directory (created 0600). */
export function loadTrailSigningKey(stateDir: string, env: NodeJS.ProcessEnv = process.env): CheckpointKey {
  return loadCheckpointKey({ env: { name: TRAIL_SIGNING_KEY_ENV, value: env[TRAIL_SIGNING_KEY_ENV] }, file: join(stateDir, TRAIL_SIGNING_KEY_FILE) });
}

/** The Audit Engine's copy of a checkpoint: an independent witness the trail's database owner cannot reach. */
export function checkpointEvent(checkpoint: SignedCheckpoint): AuditEventInput {
  return {
    event_type: TRAIL_CHECKPOINT_EVENT,
    source: BOT_AUDIT_SOURCE,
    severity: 'info',
    occurred_at: checkpoint.at,
    idempotency_key: `chatops-trail-checkpoint:${checkpoint.key_id}:${checkpoint.sequence}`,
    data: { checkpoint: { ...checkpoint } },
  };
}

export interface TrailCheckpointOptions {
  pool: pg.Pool;
  store: TrailStore;
  key: CheckpointKey;
  /** The newest checkpoint is also kept in this file (outside the database). */
  localFile?: string;
  outbox?: Pick<AuditOutbox, 'record'>;
  /** The Audit Engine's newest copy, asked when verifying. */
  witness?(): Promise<SignedCheckpoint | undefined>;
}

export function createTrailCheckpoints(options: TrailCheckpointOptions): CheckpointLedger {
  return createCheckpointLedger({
    pool: options.pool,
    key: options.key,
    chain: {
      name: TRAIL_CHAIN_NAME,
      genesisHash: trailGenesisHash(),
      tables: TRAIL_TABLES,
      idColumn: 'idempotency_key',
    },
    ...(options.localFile ? { localFile: options.localFile } : {}),
    ...(options.witness ? { witness: options.witness } : {}),
    ...(options.outbox ? { onCheckpoint: (checkpoint: SignedCheckpoint) => options.outbox!.record(checkpointEvent(checkpoint)) } : {}),
    async verifyWindow(from, upTo) {
      return (await walkTrail(options.store, from, upTo)).firstBad?.problem;
    },
  });
}

/** The newest checkpoint the Audit Engine holds (the ledger believes it only if the signature holds). */
export function auditEngineWitness(auditEngineUrl: string): () => Promise<SignedCheckpoint | undefined> {
  // Short: a verify must not wait long for a witness that is away (it then checks without it).
  const client = createAuditEngineClient(auditEngineUrl, { timeoutMs: 3000 });
  return async () => {
    const page = await client.listEvents({ event_type: TRAIL_CHECKPOINT_EVENT, source: BOT_AUDIT_SOURCE, limit: 1 });
    return page.events[0]?.data?.checkpoint as SignedCheckpoint | undefined;
  };
}

/** What a process that opens the trail itself (the bot, the CLI with DATABASE_URL) checkpoints with. */
export function trailCheckpointSettings(options: { stateDir: string; env: NodeJS.ProcessEnv; auditEngineUrl?: string }): Omit<TrailCheckpointSettings, 'localFile'> {
  return {
    key: loadTrailSigningKey(options.stateDir, options.env),
    ...(options.auditEngineUrl ? { witness: auditEngineWitness(options.auditEngineUrl) } : {}),
  };
}
