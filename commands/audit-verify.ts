/**
 * `audit verify`: walks both hash chains, the Audit Engine's and the bot's own trail, and says
 * whether each is intact or which record is the first that does not match. One command for both,
 * because the question on-call asks is "has anyone altered the record?"; each half says which
 * chain it is, and one being unreachable does not hide the other's answer.
 */
import { z } from 'zod';
import { type AuditTrail, LOSS_NOTE_KIND, MAX_QUERY_LIMIT, auditTrailVerifyDocument, knownLoss, lossSentence } from '../bot/audit-trail/index.js';
import type { VerifyResponse } from '../services/audit-engine/contract.js';
import { CommandError, defineCommand } from './command.js';
import { clip, formatCount, formatMs, formatTimestamp } from './format.js';
import { worstTone, type ResultDocument } from './result.js';
import { callStack } from './service-errors.js';

const CHECK_WORDS: Record<string, string> = {
  sequence: 'a gap or reordering in the sequence',
  prev_chain_hash: 'its link to the previous record does not match',
  content_hash: 'its content was changed after it was recorded',
  chain_hash: 'its chain hash does not match',
  head: 'records are missing after the last stored one',
};

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
async function trailLoss(trail: AuditTrail) {
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
  summary: "Check both audit hash chains end to end (the Audit Engine's and the bot's own trail)",
  examples: ['audit verify'],
  level: 'read',
  args: z.object({}),
  async run(context) {
    const engineCheck = callStack('audit-engine', context.services, () => context.services.auditEngine.verify());
    const trail = context.services.trail;
    // A process without the bot's trail (a test, a CLI without DATABASE_URL) answers for the engine alone.
    if (!trail) return auditVerifyDocument(await engineCheck);
    const [engine, own, loss] = await Promise.all([
      engineCheck.then(auditVerifyDocument, (error: unknown) => unavailableDocument('Audit Engine chain not checked', error)),
      trail.verify().then(auditTrailVerifyDocument, (error: unknown) => unavailableDocument("Bot's audit trail not checked", error)),
      trailLoss(trail),
    ]);
    return bothChainsDocument(engine, withLoss(own, loss));
  },
});
