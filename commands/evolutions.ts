/**
 * `evolutions [status]`: agent change proposals from Evolution Oversight; by default the ones
 * waiting for a human (fast_track and human_review), else those with the given status.
 */
import { z } from 'zod';
import { EvolutionStatus, type Evolution } from '../services/evolution-oversight/contract.js';
import { choiceArgument } from './arguments.js';
import { defineCommand } from './command.js';
import { clip, formatAge, formatTimestamp } from './format.js';
import type { ResultDocument } from './result.js';
import { callServiceClient } from './service-errors.js';

/** Statuses that wait for a reviewer; mirrors the service's PENDING_REVIEW_STATUSES. */
export const PENDING_REVIEW: readonly z.infer<typeof EvolutionStatus>[] = ['fast_track', 'human_review'];
export const EVOLUTION_FILTERS = ['pending', ...EvolutionStatus.options] as const;
export type EvolutionFilter = (typeof EVOLUTION_FILTERS)[number];

/** Rows shown; a longer list is cut and says so. */
export const EVOLUTIONS_SHOWN = 25;

export function evolutionsDocument(filter: EvolutionFilter, evolutions: Evolution[], maybeMore: boolean, now = Date.now()): ResultDocument {
  const what = filter === 'pending' ? 'waiting for review' : `with status ${filter}`;
  if (evolutions.length === 0) {
    return {
      title: filter === 'pending' ? 'Pending reviews' : `Evolutions: ${filter}`,
      tone: 'ok',
      summary: `No evolutions ${what}.`,
      blocks: [],
      data: { filter, evolutions: [] },
    };
  }
  const oldest = evolutions[evolutions.length - 1]!;
  return {
    title: filter === 'pending' ? 'Pending reviews' : `Evolutions: ${filter}`,
    tone: 'info',
    summary: `${maybeMore ? `The newest ${evolutions.length}` : evolutions.length} evolution${evolutions.length === 1 ? '' : 's'} ${what}${filter === 'pending' ? `; the oldest was proposed ${formatAge(oldest.created_at, now)}` : ''}.`,
    blocks: [
      {
        type: 'table',
        columns: ['id', 'agent', 'version', 'priority', 'status', 'risk', 'proposed'],
        rows: evolutions.map((evolution) => [
          evolution.id.slice(0, 8),
          clip(evolution.agent_id, 30),
          clip(evolution.new_version, 20),
          evolution.priority,
          evolution.status,
          evolution.policy.risk_score === null ? '-' : evolution.policy.risk_score.toFixed(2),
          formatTimestamp(evolution.created_at),
        ]),
      },
    ],
    ...(maybeMore ? { footer: `Only the newest ${EVOLUTIONS_SHOWN} are shown.` } : {}),
    data: {
      filter,
      evolutions: evolutions.map((evolution) => ({
        id: evolution.id,
        agent_id: evolution.agent_id,
        new_version: evolution.new_version,
        priority: evolution.priority,
        status: evolution.status,
        risk_score: evolution.policy.risk_score,
        change_description: evolution.change_description,
        created_at: evolution.created_at,
      })),
    },
  };
}

export const evolutions = defineCommand({
  name: 'evolutions',
  summary: 'Agent change proposals waiting for review, or by status',
  usage: '[pending|status]',
  examples: ['evolutions', 'evolutions human_review', 'evolutions rejected'],
  level: 'read',
  positionals: ['status'],
  args: z.object({ status: choiceArgument(EVOLUTION_FILTERS, 'an evolution status').optional() }),
  async run(context, args) {
    const filter = args.status ?? 'pending';
    const statuses = filter === 'pending' ? PENDING_REVIEW : [filter];
    const lists = await callServiceClient('evolution-oversight', context.services, () =>
      Promise.all(statuses.map((status) => context.services.evolutionOversight.list({ status, limit: EVOLUTIONS_SHOWN }))),
    );
    const merged = lists
      .flatMap((list) => list.evolutions)
      .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id));
    const maybeMore = merged.length > EVOLUTIONS_SHOWN || lists.some((list) => list.count >= EVOLUTIONS_SHOWN);
    return evolutionsDocument(filter, merged.slice(0, EVOLUTIONS_SHOWN), maybeMore);
  },
});
