/**
 * `cache clear`: empties the Policy Engine's decision caches (L1 in process, its own L2 keys in
 * Redis), a Level 2 action: the next decisions are evaluated afresh and slower until it warms.
 */
import { z } from 'zod';
import type { CacheClearResponse } from '../services/policy-engine/contract.js';
import { defineCommand } from './command.js';
import { formatCount } from './format.js';
import { currentModes, modesFields, modesFingerprint, requireAdminToken } from './policy-admin.js';
import type { ResultDocument } from './result.js';
import { callServiceClient } from './service-errors.js';
import type { EngineModes } from '../services/policy-engine/contract.js';

export function cacheClearDocument(result: z.infer<typeof CacheClearResponse>, modes: EngineModes): ResultDocument {
  const total = result.l1_cleared + result.l2_cleared;
  return {
    title: 'Policy Engine cache cleared',
    tone: 'ok',
    summary: `${formatCount(total)} cached decision${total === 1 ? ' was' : 's were'} dropped; the next decisions are evaluated afresh.`,
    blocks: [
      {
        type: 'fields',
        fields: [
          { label: 'L1 entries dropped', value: formatCount(result.l1_cleared) },
          { label: 'L2 entries dropped', value: formatCount(result.l2_cleared) },
          ...modesFields(modes),
        ],
      },
    ],
    actions: [
      { label: 'Warm the cache', command: 'cache warm' },
      { label: 'Cache stats', command: 'cache stats' },
    ],
    footer: 'Level 2 (runbook: cache clearing) · POST /admin/clear-cache',
    data: { ...result, modes },
  };
}

export const cacheClear = defineCommand({
  name: 'cache clear',
  summary: "Empty the Policy Engine's decision caches (Level 2: needs an approval)",
  examples: ['cache clear'],
  level: 2,
  args: z.object({}),
  async run(context) {
    requireAdminToken(context, 'cache clear');
    const result = await callServiceClient('policy-engine', context.services, () => context.services.policyEngine.clearCache());
    return cacheClearDocument(result, await currentModes(context));
  },
  // Bound to the modes: clearing under a lockdown that began after the request would be another decision.
  async plan(context) {
    requireAdminToken(context, 'cache clear');
    const modes = await currentModes(context);
    return { summary: "Empty the Policy Engine's decision caches (L1 and its Redis L2 keys)", target: 'policy-engine', fingerprint: modesFingerprint(modes) };
  },
});
