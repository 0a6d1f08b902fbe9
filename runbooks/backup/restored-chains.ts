/**
 * The audit chains a dump holds, verified in the copy it was restored into, by the code that
 * verifies them live: the Audit Engine's events (services/audit-engine/chain-verifier.ts) and the
 * bot's trail (bot/audit-trail/trail-verifier.ts, through the backup port). The bot's trail must
 * also still hold the head the backup recorded when it started. The copy is read through a
 * ChainQuery: a pool on a PostgreSQL scratch database, or an embedded dump's copy in its thread
 * (services/stack/backup/pglite-dump.ts withSqlDumpCopy), so both kinds are walked alike.
 */
import { verifyChain } from '../../services/audit-engine/chain-verifier.js';
import type { ChainQuery } from '../../services/kit/hash-chain/chain-query.js';
import type { BackupPorts } from '../engine/ports.js';

/** The head rows mark each chain: the manifest's row counts make sure a dump that had one restores it. */
const AUDIT_ENGINE_HEAD = 'public.audit_chain_head';
const BOT_TRAIL_HEAD = 'public.bot_audit_trail_head';
/** The tables of the records, named in a break. */
const AUDIT_ENGINE_EVENTS = 'public.audit_events';
const BOT_TRAIL_RECORDS = 'public.bot_audit_trail';

/** The Audit Engine's default walk batch (AUDIT_VERIFY_BATCH_SIZE). */
const AUDIT_VERIFY_BATCH = 1000;

export interface RestoredChains {
  /** What was verified, for the step's output. */
  chains: Record<string, { records: number; head: number }>;
  /** The first problem, as a sentence naming the dump, the chain and the first bad sequence. */
  problem?: string;
}

const short = (hash: string) => `${hash.slice(0, 12)}…`;

async function auditEngineChain(copy: ChainQuery): Promise<{ records: number; head: number; problem?: string }> {
  // From the genesis: the signed checkpoints' key is the engine's, not the copy's.
  const verified = await verifyChain(copy, { batchSize: AUDIT_VERIFY_BATCH }, { scope: 'full' });
  const result = { records: verified.events_checked, head: verified.head.sequence };
  const broken = verified.first_broken;
  return broken ? { ...result, problem: `the Audit Engine's chain in it (${AUDIT_ENGINE_EVENTS}) is broken at event #${broken.sequence}: ${broken.message}` } : result;
}

async function botTrail(copy: ChainQuery, ports: BackupPorts, recorded: { sequence: number; hash: string } | null): Promise<{ records: number; head: number; problem?: string }> {
  const verified = await ports.verifyTrailCopy(copy, recorded ? { hashAt: recorded.sequence } : {});
  const result = { records: verified.checked, head: verified.head.sequence };
  if (verified.firstBad) return { ...result, problem: `the bot's audit trail in it (${BOT_TRAIL_RECORDS}) is broken at record #${verified.firstBad.sequence}: ${verified.firstBad.problem}` };
  if (!recorded) return result;
  if (verified.head.sequence < recorded.sequence) {
    return { ...result, problem: `the bot's audit trail in it ends at record #${verified.head.sequence}, before record #${recorded.sequence}, the head the backup recorded when it started` };
  }
  if (verified.hashAt !== recorded.hash) {
    return { ...result, problem: `record #${recorded.sequence} of the bot's audit trail in it has hash ${short(verified.hashAt ?? 'none')}, but the backup recorded ${short(recorded.hash)} for it as the head when it started` };
  }
  return result;
}

/**
 * Verifies the chains among `tables` (the restored copy's, `schema.table`) of the dump `dumpName`,
 * read through `copy`; `recordedHead` is the manifest's head of the bot's trail. Stops at the first
 * chain with a problem.
 */
export async function verifyRestoredChains(options: {
  dumpName: string;
  copy: ChainQuery;
  tables: readonly string[];
  ports: BackupPorts;
  recordedHead: { sequence: number; hash: string } | null;
}): Promise<RestoredChains> {
  const chains: RestoredChains['chains'] = {};
  const checks: Array<[string, () => Promise<{ records: number; head: number; problem?: string }>]> = [];
  if (options.tables.includes(AUDIT_ENGINE_HEAD)) checks.push(['audit-engine', () => auditEngineChain(options.copy)]);
  if (options.tables.includes(BOT_TRAIL_HEAD)) checks.push(['bot-trail', () => botTrail(options.copy, options.ports, options.recordedHead)]);
  for (const [chain, check] of checks) {
    const { problem, ...verified } = await check();
    chains[chain] = verified;
    if (problem) return { chains, problem: `${options.dumpName} restored, but ${problem}` };
  }
  return { chains };
}
