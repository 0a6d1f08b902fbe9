/**
 * `cache warm`: the runbook's cache step (`curl http://localhost:8004/v1/cache/warm`), a Level 1
 * action: the Policy Engine evaluates its common decisions ahead of traffic and caches them.
 */
import { z } from 'zod';
import type { CacheWarmResponse } from '../services/policy-engine/contract.js';
import { defineCommand } from './command.js';
import { formatCount } from './format.js';
import type { ResultDocument } from './result.js';
import { callServiceClient } from './service-errors.js';

export function cacheWarmDocument(result: z.infer<typeof CacheWarmResponse>): ResultDocument {
  return {
    title: 'Policy Engine cache warmed',
    tone: 'ok',
    summary: `${formatCount(result.warmed)} decision${result.warmed === 1 ? ' was' : 's were'} evaluated and cached; ${formatCount(result.already_cached)} of the ${formatCount(result.total)} were cached already.`,
    blocks: [
      {
        type: 'fields',
        fields: [
          { label: 'Newly cached', value: formatCount(result.warmed) },
          { label: 'Already cached', value: formatCount(result.already_cached) },
          { label: 'Warm set', value: formatCount(result.total) },
          { label: 'Policy version', value: result.policy_version },
        ],
      },
    ],
    actions: [{ label: 'Cache stats', command: 'cache stats' }],
    footer: 'Level 1 (runbook: cache warming) · POST /v1/cache/warm',
    data: result,
  };
}

export const cacheWarm = defineCommand({
  name: 'cache warm',
  summary: "Warm the Policy Engine's decision cache (POST /v1/cache/warm)",
  examples: ['cache warm'],
  level: 1,
  args: z.object({}),
  async run(context) {
    return cacheWarmDocument(await callServiceClient('policy-engine', context.services, () => context.services.policyEngine.warmCache()));
  },
});
