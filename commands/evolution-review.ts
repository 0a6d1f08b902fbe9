/**
 * `evolution review <id> approve|reject [reason...]`: decides an agent change proposal that waits
 * for a person in Evolution Oversight, as the person who typed it or clicked its card's button
 * (reviewer_id = their Slack user ID). The id may be the full UUID or the 8-character prefix
 * `evolutions` shows; an unknown or ambiguous prefix is answered before anything is decided.
 *
 * The authorization rules make it Level 2 with no further approval: the reviewer's own decision
 * is the runbook's one human decision (bot/authorization/README.md). Evolution Oversight keeps the
 * four-eyes rule too (the requester cannot review); the bot checks it first so that the answer
 * says so plainly. Not from the CLI: its identity (`cli:<os user>`) and roles are self-declared,
 * so that rule would not hold there.
 */
import { z } from 'zod';
import { ServiceCallError } from '../services/clients/http.js';
import type { EvolutionOversightClient } from '../services/clients/evolution-oversight.js';
import { Identifier, isEvolutionId, type Evolution } from '../services/evolution-oversight/contract.js';
import { closestChoice } from './arguments.js';
import { CommandError, defineCommand, type CommandContext } from './command.js';
import { PENDING_REVIEW } from './evolutions.js';
import { clip, formatTimestamp } from './format.js';
import { tokenize } from './registry.js';
import type { ResultDocument } from './result.js';
import { callServiceClient, explainServiceFailure } from './service-errors.js';

export const REVIEW_DECISIONS = ['approve', 'reject'] as const;
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];

/** The service's limit on a justification (ReviewRequest). */
export const MAX_JUSTIFICATION_LENGTH = 2000;
/** How many of the newest proposals a prefix is looked for in (the service's list limit). */
export const PREFIX_SEARCH_LIMIT = 500;

/** At least the 8 characters `evolutions` shows, and never more than a UUID has. */
const ID_PREFIX = /^[0-9a-f]{8}[0-9a-f-]{0,27}$/;

const EXAMPLE = '`evolution review 4f1c2d3e approve`';

export interface ReviewArguments {
  /** The full UUID or a prefix of it, in lower case. */
  id: string;
  decision: ReviewDecision;
  /** The reviewer's own words; a default names who decided where, when absent. */
  reason?: string;
}

/** Parses the rest of the line: `<id> approve|reject [reason...]`, with messages that say what to type. */
export function parseReviewArguments(line: string): { ok: true; value: ReviewArguments } | { ok: false; message: string } {
  const [rawId, rawDecision, ...words] = tokenize(line);
  if (rawId === undefined) return { ok: false, message: `name the proposal and the decision, for example ${EXAMPLE}` };
  const id = rawId.toLowerCase();
  if (!isEvolutionId(id) && !ID_PREFIX.test(id)) {
    return { ok: false, message: `\`${clip(rawId, 40)}\` is not an evolution id: give the full UUID or its first 8 characters as \`evolutions\` shows them, for example ${EXAMPLE}` };
  }
  if (rawDecision === undefined) return { ok: false, message: `say \`approve\` or \`reject\` after the id, for example ${EXAMPLE}` };
  const decision = rawDecision.toLowerCase();
  if (!(REVIEW_DECISIONS as readonly string[]).includes(decision)) {
    const guess = closestChoice(decision, REVIEW_DECISIONS);
    return { ok: false, message: `\`${clip(rawDecision, 40)}\` is not a review decision${guess ? `; did you mean \`${guess}\`?` : ''}: say \`approve\` or \`reject\`` };
  }
  const reason = words.join(' ').trim();
  if (reason.length > MAX_JUSTIFICATION_LENGTH) return { ok: false, message: `the reason may be at most ${MAX_JUSTIFICATION_LENGTH} characters (got ${reason.length})` };
  return { ok: true, value: { id, decision: decision as ReviewDecision, ...(reason ? { reason } : {}) } };
}

const ReviewArgs = z.object({ line: z.string() }).transform((input, context): ReviewArguments => {
  const parsed = parseReviewArguments(input.line);
  if (parsed.ok) return parsed.value;
  context.addIssue({ code: 'custom', input: input.line, message: parsed.message });
  return z.NEVER;
});

/** `4f1c2d3e (agent-7 → 1.4.1)`: how a proposal is named in sentences. */
export function evolutionLabel(evolution: Pick<Evolution, 'id' | 'agent_id' | 'new_version'>): string {
  return `${evolution.id.slice(0, 8)} (${clip(evolution.agent_id, 40)} → ${clip(evolution.new_version, 24)})`;
}

/** Why a proposal takes no review now: who decided it and when, as far as the service says. */
export function notWaitingSentence(evolution: Evolution): string {
  const label = `Evolution ${evolutionLabel(evolution)}`;
  const review = evolution.review;
  const decided = review
    ? `${review.decision} by ${review.reviewer_id} at ${formatTimestamp(review.reviewed_at)} ("${clip(review.justification, 200)}")`
    : undefined;
  switch (evolution.status) {
    case 'auto_approved':
      return `${label} was approved automatically by the policy when it was proposed; there is nothing to review.`;
    case 'rolled_back':
      return `${label} is no longer waiting for review: it was ${decided ?? 'decided'}${evolution.rollback ? `, then rolled back by ${evolution.rollback.requested_by} at ${formatTimestamp(evolution.rollback.rolled_back_at)}` : ' and has since been rolled back'}.`;
    default:
      return `${label} is no longer waiting for review: it was ${decided ?? evolution.status}.`;
  }
}

function pendingReview(evolution: Evolution): boolean {
  return (PENDING_REVIEW as readonly string[]).includes(evolution.status);
}

/**
 * The proposal a reference names. A full id is read directly; a prefix is looked for among the
 * proposals waiting for review first (what `evolutions` shows), then among the newest of all.
 */
export async function findEvolution(client: EvolutionOversightClient, reference: string): Promise<Evolution> {
  const unknown = () =>
    new CommandError(
      isEvolutionId(reference) ? `No evolution has the id \`${reference}\`.` : `No evolution id starts with \`${reference}\`.`,
      'Type `evolutions` for the proposals waiting for review, with their ids.',
    );
  if (isEvolutionId(reference)) {
    try {
      return await client.get(reference);
    } catch (error) {
      if (error instanceof ServiceCallError && error.status === 404) throw unknown();
      throw error;
    }
  }
  const waiting = await Promise.all(PENDING_REVIEW.map((status) => client.list({ status, limit: PREFIX_SEARCH_LIMIT })));
  let matches = waiting.flatMap((list) => list.evolutions).filter((evolution) => evolution.id.startsWith(reference));
  if (matches.length === 0) matches = (await client.list({ limit: PREFIX_SEARCH_LIMIT })).evolutions.filter((evolution) => evolution.id.startsWith(reference));
  if (matches.length === 0) throw unknown();
  if (matches.length > 1) {
    const named = [...matches]
      .sort((a, b) => a.id.localeCompare(b.id))
      .slice(0, 5).map((evolution) => `\`${evolution.id}\` (${clip(evolution.agent_id, 30)} → ${clip(evolution.new_version, 20)}, ${evolution.status})`);
    throw new CommandError(
      `\`${reference}\` starts ${matches.length} evolution ids: ${named.join(', ')}${matches.length > 5 ? ', …' : ''}. Nothing was decided.`,
      'Give more of the id, or the full UUID.',
    );
  }
  return matches[0]!;
}

/** The justification Evolution Oversight records: the reviewer's words, else who decided where. */
export function justificationOf(context: Pick<CommandContext, 'actor' | 'channelId' | 'origin'>, decision: ReviewDecision, reason: string | undefined): string {
  if (reason) return reason;
  const verb = decision === 'approve' ? 'Approved' : 'Rejected';
  const who = context.actor.name ? `${context.actor.name} (${context.actor.id})` : context.actor.id;
  const how = context.origin === 'button' ? ' with the review card\'s button' : '';
  return `${verb} in Slack by ${who}${context.channelId ? ` from channel ${context.channelId}` : ''}${how}`;
}

export function reviewDocument(evolution: Evolution, decision: ReviewDecision): ResultDocument {
  const review = evolution.review;
  const verb = decision === 'approve' ? 'approved' : 'rejected';
  return {
    title: `Evolution ${verb}: ${clip(evolution.agent_id, 40)} ${clip(evolution.new_version, 24)}`,
    tone: 'ok',
    summary: `Evolution Oversight recorded the review: evolution ${evolutionLabel(evolution)} is ${evolution.status}.`,
    blocks: [
      {
        type: 'fields',
        fields: [
          { label: 'Evolution', value: evolution.id },
          { label: 'Status', value: evolution.status },
          { label: 'Reviewer', value: review?.reviewer_id ?? '—' },
          { label: 'Reviewed at', value: review ? formatTimestamp(review.reviewed_at) : '—' },
          { label: 'Requested by', value: evolution.requester_id },
          { label: 'Risk score', value: evolution.policy.risk_score === null ? '—' : evolution.policy.risk_score.toFixed(2) },
        ],
      },
      ...(review ? [{ type: 'text' as const, text: `Justification: ${clip(review.justification, 500)}` }] : []),
    ],
    actions: [{ label: 'Pending reviews', command: 'evolutions' }],
    footer: `Level 2 (runbook: evolution review) · POST /evolutions/{id}/${decision}`,
    data: {
      evolution_id: evolution.id,
      decision,
      status: evolution.status,
      reviewer_id: review?.reviewer_id ?? null,
      justification: review?.justification ?? null,
      reviewed_at: review?.reviewed_at ?? null,
    },
  };
}

/** A review the service refused, as a sentence a person can act on; undefined when it is not about the review. */
async function explainRefusedReview(client: EvolutionOversightClient, evolution: Evolution, decision: ReviewDecision, error: unknown): Promise<CommandError | undefined> {
  if (!(error instanceof ServiceCallError)) return undefined;
  const label = `evolution ${evolutionLabel(evolution)}`;
  if (error.status === 409) {
    // Someone decided it between our read and our review: say who, from a fresh read.
    const now = await client.get(evolution.id).catch(() => undefined);
    return new CommandError(now ? notWaitingSentence(now) : `Evolution Oversight says ${label} is no longer waiting for review: ${error.message}`, 'Nothing else was changed.', 'refused');
  }
  if (error.status === 403) {
    return new CommandError(`Evolution Oversight refused: ${error.message}.`, 'The requester of a proposal cannot review it; another approver must decide.', 'refused');
  }
  if (error.status === 404) return new CommandError(`Evolution Oversight no longer knows ${label}.`, 'Type `evolutions` for the proposals waiting for review.', 'refused');
  if (error.status === 400) return new CommandError(`Evolution Oversight did not accept the review: ${error.message}`, `Nothing was ${decision === 'approve' ? 'approved' : 'rejected'}.`);
  return undefined;
}

/**
 * The CLI's user is `cli:<os user>`, a user of that machine and not the Slack user Evolution
 * Oversight knows: a proposal's requester could review their own there, under another name.
 * Reviews are taken only where the reviewer is the Slack user who clicks or types.
 */
function refuseFromCli(context: CommandContext, args: ReviewArguments): void {
  if (context.origin !== 'cli') return;
  throw new CommandError(
    `Evolution reviews are not taken from the CLI: its user (\`${clip(context.actor.id, 40)}\`) is a user of this machine, not a Slack user, so Evolution Oversight's four-eyes rule could not tell the reviewer from the proposal's requester.`,
    `Nothing was decided. Review in Slack or the local console, where the reviewer is the Slack user who clicks or types: \`/acgs evolution review ${args.id} ${args.decision}${args.reason ? ` ${clip(args.reason, 200)}` : ''}\`.`,
    'refused',
  );
}

async function loadForReview(context: CommandContext, args: ReviewArguments): Promise<Evolution> {
  const evolution = await callServiceClient('evolution-oversight', context.services, () => findEvolution(context.services.evolutionOversight, args.id));
  if (!pendingReview(evolution)) throw new CommandError(notWaitingSentence(evolution), 'Nothing was changed. `evolutions` lists the proposals still waiting.', 'refused');
  if (evolution.requester_id === context.actor.id) {
    throw new CommandError(
      `You requested evolution ${evolutionLabel(evolution)}, so you cannot review it: another approver must decide.`,
      'Nothing was changed; the four-eyes rule of Evolution Oversight.',
      'refused',
    );
  }
  return evolution;
}

export const evolutionReview = defineCommand({
  name: 'evolution review',
  summary: 'Approve or reject an agent change proposal waiting for review, as yourself (Level 2: you are the human decision)',
  usage: '<id> approve|reject [reason...]',
  examples: ['evolution review 4f1c2d3e approve', 'evolution review 4f1c2d3e reject no rollback plan for the new tool'],
  level: 2,
  rawArguments: true,
  args: ReviewArgs,
  async run(context, args) {
    refuseFromCli(context, args);
    if (!Identifier.safeParse(context.actor.id).success) {
      throw new CommandError(`Your user id \`${clip(context.actor.id, 40)}\` cannot be recorded as a reviewer by Evolution Oversight.`, 'Review from Slack or the console instead.', 'refused');
    }
    const client = context.services.evolutionOversight;
    const evolution = await loadForReview(context, args);
    const review = { reviewer_id: context.actor.id, justification: justificationOf(context, args.decision, args.reason) };
    let decided: Evolution;
    try {
      decided = await (args.decision === 'approve' ? client.approve(evolution.id, review) : client.reject(evolution.id, review));
    } catch (error) {
      throw (await explainRefusedReview(client, evolution, args.decision, error)) ?? explainServiceFailure('evolution-oversight', context.services, error) ?? error;
    }
    return reviewDocument(decided, args.decision);
  },
  // Only used when the rules ask for approvals after all (a strict-mode patch, a config change):
  // the approval is bound to the proposal still waiting, so a review done elsewhere asks again.
  // The request keeps the line as typed and runs it again once approved, so it must name the
  // proposal by its full id: a prefix could name another proposal by then.
  async plan(context, args) {
    refuseFromCli(context, args);
    const evolution = await loadForReview(context, args);
    if (args.id !== evolution.id) {
      throw new CommandError(
        `Under these rules a review needs an approval, and an approval must name one proposal for good: give the full id, \`evolution review ${evolution.id} ${args.decision}${args.reason ? ` ${clip(args.reason, 200)}` : ''}\`.`,
        'Nothing was requested or decided.',
        'usage',
      );
    }
    return {
      summary: `${args.decision === 'approve' ? 'Approve' : 'Reject'} evolution ${evolutionLabel(evolution)} in Evolution Oversight`,
      target: `evolution ${evolution.id}`,
      fingerprint: `evolution ${evolution.id} is ${evolution.status}`,
    };
  },
});
