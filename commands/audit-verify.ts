/**
 * `audit verify`: walks the Audit Engine's hash chain and says whether it is intact, or which
 * record is the first that does not match.
 */
import { z } from 'zod';
import type { VerifyResponse } from '../services/audit-engine/contract.js';
import { defineCommand } from './command.js';
import { clip, formatCount, formatMs, formatTimestamp } from './format.js';
import type { ResultDocument } from './result.js';
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

export const auditVerify = defineCommand({
  name: 'audit verify',
  summary: "Check the audit trail's hash chain end to end",
  examples: ['audit verify'],
  level: 'read',
  args: z.object({}),
  async run(context) {
    return auditVerifyDocument(await callStack('audit-engine', context.services, () => context.services.auditEngine.verify()));
  },
});
