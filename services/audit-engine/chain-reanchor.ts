/**
 * Re-anchoring after a restore (README.md, "After a restore"). The newest signed checkpoint is
 * also kept outside the database, so that deleting the newest rows cannot roll the evidence back;
 * a restore of an older backup does exactly that, on purpose. This accepts the rollback once,
 * explicitly: the restored chain must verify from the genesis to exactly the head the caller saw,
 * then a checkpoint at that head replaces the outside copy and the re-anchor itself is appended to
 * the chain, naming what was rolled back and why. A chain restored empty is re-anchored at the
 * genesis (sequence 0): the re-anchor is then its first event.
 */
import type pg from 'pg';
import { ServiceError } from '../kit/errors.js';
import type { ChainVerifier } from './chain-verifier.js';
import { walkEvents } from './chain-verifier.js';
import type { CheckpointLedger } from './checkpoint-ledger.js';
import type { ReanchorRequest, ReanchorResponse } from './contract.js';
import type { AuditEventStore } from './event-store.js';
import { genesisChainHash } from './hash-chain.js';

export const REANCHOR_EVENT_TYPE = 'audit.chain_reanchored';

export interface ReanchorDependencies {
  pool: pg.Pool;
  ledger: CheckpointLedger;
  store: AuditEventStore;
  verifier: ChainVerifier;
  batchSize: number;
}

const short = (hash: string) => `${hash.slice(0, 12)}…`;

/** Every refusal comes before anything is written, so a refused request changes nothing. */
export async function reanchorChain(deps: ReanchorDependencies, request: ReanchorRequest): Promise<ReanchorResponse> {
  const { head } = request;
  const previous = deps.ledger.outside();
  if (!previous) {
    throw new ServiceError('NOTHING_TO_REANCHOR', {
      detail: 'this engine keeps no signed checkpoint outside its database (ACGS_STATE_DIR unset, or none signed yet), so nothing holds the chain to a newer head',
    });
  }
  if (head.sequence > previous.sequence) {
    throw new ServiceError('NOTHING_TO_REANCHOR', {
      detail: `the head named (#${head.sequence}) is newer than the newest signed checkpoint (#${previous.sequence} of ${previous.at}): nothing was rolled back behind it`,
    });
  }
  const everything = await deps.ledger.check();
  if (!everything.breach) {
    throw new ServiceError('NOTHING_TO_REANCHOR', {
      detail: `the chain still matches the newest signed checkpoint (#${previous.sequence} of ${previous.at}): it was not rolled back, or was re-anchored already`,
    });
  }
  // The restored database's own checkpoints must still hold: only the copy outside it may be ahead.
  const inside = await deps.ledger.check({ insideOnly: true });
  if (inside.breach) throw new ServiceError('REANCHOR_CHAIN_BROKEN', { detail: inside.breach.problem });
  const walked = await walkEvents(deps.pool, { sequence: 0, hash: genesisChainHash() }, head.sequence, deps.batchSize);
  if (walked.broken) throw new ServiceError('REANCHOR_CHAIN_BROKEN', { detail: `event #${walked.broken.sequence}: ${walked.broken.message}` });
  if (walked.last.sequence < head.sequence) {
    throw new ServiceError('REANCHOR_HEAD_MISMATCH', { detail: `the chain ends at event #${walked.last.sequence}, before #${head.sequence}` });
  }
  if (walked.last.hash !== head.chain_hash) {
    const named = head.sequence === 0 ? 'the genesis (#0)' : `event #${head.sequence}`;
    throw new ServiceError('REANCHOR_HEAD_MISMATCH', {
      detail: `${named} has chain hash ${short(walked.last.hash)}, not ${short(head.chain_hash)}`,
    });
  }

  const { checkpoint } = await deps.ledger.reanchor({ sequence: head.sequence, hash: head.chain_hash });
  const [recorded] = await deps.store.append([
    {
      event_type: REANCHOR_EVENT_TYPE,
      source: 'audit-engine',
      agent_id: request.requested_by,
      severity: 'warning',
      data: {
        reason: `restore of backup ${request.backup_id} by run ${request.run_id}`,
        backup_id: request.backup_id,
        run_id: request.run_id,
        requested_by: request.requested_by,
        approved_by: request.approved_by,
        rolled_back: {
          from: { sequence: previous.sequence, hash: previous.hash, at: previous.at },
          to: { sequence: head.sequence, hash: head.chain_hash },
        },
        checkpoint: { sequence: checkpoint.sequence, at: checkpoint.at, key_id: checkpoint.key_id },
      },
    },
  ]);
  // Health shows the last walk: one now, so that it stops reporting the rollback at once.
  const verified = await deps.verifier.run('full');
  const { valid, checked_at, events_checked, first_broken } = verified;
  return {
    previous: { sequence: previous.sequence, hash: previous.hash, at: previous.at },
    head: { sequence: head.sequence, chain_hash: head.chain_hash },
    checkpoint: { sequence: checkpoint.sequence, at: checkpoint.at, key_id: checkpoint.key_id },
    event: { id: recorded!.event.id, sequence: recorded!.event.sequence },
    integrity: { valid, checked_at, events_checked, ...(first_broken ? { first_broken } : {}) },
  };
}
