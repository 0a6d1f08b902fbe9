/**
 * `audit verify`: walks both hash chains, the Audit Engine's and the bot's own trail, and says
 * whether each is intact or which record is the first that does not match. One command for both,
 * because the question on-call asks is "has anyone altered the record?"; each half says which
 * chain it is, and one being unreachable does not hide the other's answer.
 */
import { z } from 'zod';
import type { VerifyResponse } from '../services/audit-engine/contract.js';
import { auditTrailVerifyDocument, knownLoss, lossSentence } from './audit-documents.js';
import { CommandError, defineCommand } from './command.js';
import { clip, formatCount, formatMs, formatTimestamp } from './format.js';
import { worstTone, type ResultDocument } from './result.js';
import { LOSS_NOTE_KIND, MAX_QUERY_LIMIT, type AuditLogReader } from './ports.js';
import { callServiceClient } from './service-errors.js';

const CHECK_WORDS: Record<string, string> = {
  sequence: 'a gap or reordering in the sequence',
  prev_chain_hash: 'its link to the previous record does not match',
  content_hash: 'its content was changed after it was recorded',
  chain_hash: 'its chain hash does not match',
  head: 'records are missing after the last stored one',
  missing: 'a record a signed checkpoint lists is gone (deleted, hashes recomputed)',
  checkpoint: 'it differs from what a signed checkpoint recorded (records rewritten, hashes recomputed)',
};

/**
 * Each run reads the chains from the database, so runs are limited per person (a run in flight is
 * shared, so asking again while one runs costs nothing): from the last checkpoint a few a minute,
 * a full walk once every ten minutes.
 */
export const VERIFY_LIMITS = {
  checkpoint: { runs: 6, windowMs: 60_000 },
  full: { runs: 1, windowMs: 10 * 60_000 },
} as const;

export type VerifyLimitScope = keyof typeof VERIFY_LIMITS;

/** Most people remembered at once; the oldest is forgotten first (a bound on memory, not a limit on people). */
const MAX_TRACKED_PEOPLE = 10_000;

export interface VerifyLimiter {
  /** Counts a run for this person, or says how long until they may run again (ms). */
  take(person: string, scope: VerifyLimitScope, now?: number): { ok: true } | { ok: false; retryInMs: number };
}

export function createVerifyLimiter(limits: Record<VerifyLimitScope, { runs: number; windowMs: number }> = VERIFY_LIMITS): VerifyLimiter {
  const runs = new Map<string, number[]>();
  return {
    take(person, scope, now = Date.now()) {
      const { runs: allowed, windowMs } = limits[scope];
      const key = `${scope}:${person}`;
      const recent = (runs.get(key) ?? []).filter((at) => now - at < windowMs);
      if (recent.length >= allowed) {
        runs.set(key, recent);
        return { ok: false, retryInMs: windowMs - (now - recent[0]!) };
      }
      recent.push(now);
      runs.delete(key);
      runs.set(key, recent);
      if (runs.size > MAX_TRACKED_PEOPLE) runs.delete(runs.keys().next().value!);
      return { ok: true };
    },
  };
}

const verifyLimiter = createVerifyLimiter();

/** The answer when a person asked too often: nothing was read. */
export function verifyLimitedDocument(scope: VerifyLimitScope, retryInMs: number): ResultDocument {
  const limit = VERIFY_LIMITS[scope];
  const line = scope === 'full' ? 'audit verify --full' : 'audit verify';
  const every = scope === 'full' ? `once every ${limit.windowMs / 60_000} minutes` : `${limit.runs} times a minute`;
  const seconds = Math.max(1, Math.ceil(retryInMs / 1000));
  return {
    title: 'Audit verify not run',
    tone: 'warn',
    summary: `You can run \`${line}\` ${every}; try again in ${seconds} s.`,
    blocks: [
      {
        type: 'text',
        text: 'Each run reads the audit chains from the database, so runs are limited per person. A run already in progress is shared: asking while one runs costs nothing.',
      },
    ],
    data: { limited: { scope, retry_in_seconds: seconds } },
  };
}

export function auditVerifyDocument(result: VerifyResponse): ResultDocument {
  const head = `#${result.head.sequence} (${result.head.chain_hash.slice(0, 16)}…)`;
  const facts = [
    { label: 'Records checked', value: formatCount(result.events_checked) },
    { label: 'Chain head', value: result.head.sequence === 0 ? 'empty chain' : head },
    { label: 'Checked at', value: formatTimestamp(result.checked_at) },
    { label: 'Took', value: formatMs(result.duration_ms) },
  ];
  if (result.valid) {
    return {
      title: 'Audit chain intact',
      tone: 'ok',
      summary:
        result.head.sequence === 0
          ? 'The audit chain is empty: nothing was recorded yet.'
          : result.scope === 'checkpoint' && result.checkpoint
            ? `Records up to #${result.checkpoint.sequence} match the signed checkpoint of ${formatTimestamp(result.checkpoint.at)}; the ${formatCount(result.events_checked)} after it match their hashes and links.`
            : `All ${formatCount(result.events_checked)} audit records match their hashes and links.`,
      blocks: [{ type: 'fields', fields: facts }],
      footer: 'Verified by the Audit Engine (GET /audit/verify).',
      data: result,
    };
  }
  const broken = result.first_broken;
  return {
    title: 'Audit chain broken',
    tone: 'fail',
    summary: broken
      ? `The first broken record is #${broken.sequence}: ${CHECK_WORDS[broken.check] ?? broken.check}.`
      : 'The Audit Engine reports the chain as broken without naming a record.',
    blocks: [
      {
        type: 'fields',
        fields: [
          ...(broken
            ? [
                { label: 'First broken record', value: `#${broken.sequence}${broken.id ? ` (${broken.id})` : ''}` },
                { label: 'Failed check', value: broken.check },
              ]
            : []),
          ...facts,
        ],
      },
      ...(broken
        ? [{ type: 'code' as const, text: `${clip(broken.message, 300)}\nexpected ${clip(broken.expected, 100)}\nstored   ${clip(broken.stored, 100)}` }]
        : []),
    ],
    footer: 'Audit records are never edited: treat this as a security incident and keep the database as it is for investigation.',
    data: result,
  };
}

/** One answer for both chains: each half keeps its own title as a heading. */
export function bothChainsDocument(engine: ResultDocument, trail: ResultDocument): ResultDocument {
  const tone = worstTone([engine.tone, trail.tone]);
  const section = (document: ResultDocument) => [{ type: 'text' as const, text: `${document.title}: ${document.summary ?? ''}` }, ...document.blocks];
  return {
    title: tone === 'ok' ? 'Both audit chains intact' : 'Audit chains need attention',
    tone,
    summary: `Audit Engine: ${engine.title.toLowerCase()}. Bot's trail: ${trail.title.toLowerCase()}.`,
    blocks: [...section(engine), { type: 'divider' }, ...section(trail)],
    footer: [engine.footer, trail.footer].filter(Boolean).join(' '),
    data: { audit_engine: engine.data ?? null, bot_trail: trail.data ?? null },
  };
}

/**
 * Records the bot's trail could store nowhere (a full disk while PostgreSQL was away): the
 * `records_lost` notes in the trail, from every run, plus this process's not noted yet.
 */
async function trailLoss(trail: AuditLogReader) {
  const notes = await trail.query({ kind: LOSS_NOTE_KIND, limit: MAX_QUERY_LIMIT }).then(
    (result) => result,
    () => undefined,
  );
  const loss = knownLoss(notes?.records, trail.status().lost);
  return loss && notes?.more ? { ...loss, complete: false } : loss;
}

/** A loss is not an alteration: the chain's own answer stays, with the loss said first. */
function withLoss(document: ResultDocument, loss: Awaited<ReturnType<typeof trailLoss>>): ResultDocument {
  if (!loss) return document;
  return {
    ...document,
    tone: worstTone([document.tone, 'warn']),
    blocks: [{ type: 'text', text: lossSentence(loss) }, ...document.blocks],
    data: { ...(document.data as object | undefined), lost: loss },
  };
}

function unavailableDocument(title: string, error: unknown): ResultDocument {
  if (!(error instanceof CommandError) && (error as Error)?.name !== 'AuditTrailUnavailableError') throw error;
  return { title, tone: 'fail', summary: (error as Error).message, blocks: [], data: { error: { kind: 'unavailable', message: (error as Error).message } } };
}

export const auditVerify = defineCommand({
  name: 'audit verify',
  summary: "Check both audit hash chains (the Audit Engine's and the bot's own trail) against their signed checkpoints",
  usage: '[--full]',
  examples: ['audit verify', 'audit verify --full'],
  level: 'read',
  flags: { full: { type: 'boolean', description: 'walk every record from the start, not only those after the last signed checkpoint' } },
  args: z.object({ full: z.boolean().optional() }),
  async run(context, args) {
    const scope: VerifyLimitScope = args.full ? 'full' : 'checkpoint';
    const allowed = verifyLimiter.take(context.actor.id, scope);
    if (!allowed.ok) return verifyLimitedDocument(scope, allowed.retryInMs);
    const engineCheck = callServiceClient('audit-engine', context.services, () => context.services.auditEngine.verify(undefined, { scope }));
    const trail = context.services.trail;
    // A process without the bot's trail (a test, a CLI without DATABASE_URL) answers for the engine alone.
    if (!trail) return auditVerifyDocument(await engineCheck);
    const [engine, own, loss] = await Promise.all([
      engineCheck.then(auditVerifyDocument, (error: unknown) => unavailableDocument('Audit Engine chain not checked', error)),
      trail.verify({ scope }).then(auditTrailVerifyDocument, (error: unknown) => unavailableDocument("Bot's audit trail not checked", error)),
      trailLoss(trail),
    ]);
    return bothChainsDocument(engine, withLoss(own, loss));
  },
});
