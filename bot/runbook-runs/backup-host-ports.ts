/**
 * What the backup runbooks need from the bot (engine/ports.ts BackupPorts): which `backup` runs
 * have not ended (retention leaves their directories alone), and the bot's audit trail in a
 * restored copy verified by the code that verifies it live (runbooks/ may not import the bot).
 */
import type pg from 'pg';
import type { ChainQuery } from '../../services/kit/hash-chain/chain-query.js';
import type { BackupPorts, RestoredChainCheck } from '../../runbooks/engine/ports.js';
import { createRunStore } from '../../runbooks/engine/run-store.js';
import { verifyTrail } from '../audit-trail/trail-verifier.js';
import { createTrailReader } from '../audit-trail/trail-store.js';

/** Walks the trail of the copy read through `copy` from the genesis; `hashAt` reads one record's hash too. */
export async function verifyTrailCopy(copy: ChainQuery, options: { hashAt?: number }): Promise<RestoredChainCheck> {
  const trail = createTrailReader(copy);
  // No signed checkpoints: their key is not the copy's to hold, and a full walk needs none.
  const verified = await verifyTrail(trail, { scope: 'full' });
  const check: RestoredChainCheck = { valid: verified.valid, checked: verified.checked, head: verified.head };
  if (verified.firstBad) check.firstBad = { sequence: verified.firstBad.sequence, problem: verified.firstBad.problem };
  if (options.hashAt !== undefined) check.hashAt = (await trail.range(options.hashAt - 1, options.hashAt, 1))[0]?.hash ?? null;
  return check;
}

/** The two ports on the bot's database (`pool`, where the run store lives). */
export function backupHostPorts(pool: pg.Pool): Pick<BackupPorts, 'unfinishedRuns' | 'verifyTrailCopy'> {
  const runs = createRunStore(pool);
  return { unfinishedRuns: (runbook) => runs.unfinishedRunIds(runbook), verifyTrailCopy };
}
