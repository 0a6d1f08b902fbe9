/**
 * `sandbox prune [--agent id]`: the runbook's "clean up old containers" step for sandbox
 * failures, a Level 1 basic resource cleanup, through the Sandbox Controller's
 * POST /admin/prune-sandboxes: exited sandbox containers go, running ones and ones an execution
 * may still be reading stay, and the answer says which and why.
 */
import { z } from 'zod';
import type { PruneSandboxesResponse } from '../services/clients/sandbox-controller.js';
import { Identifier } from '../services/kit/identifiers.js';
import { defineCommand } from './command.js';
import { clip, formatTimestamp } from './format.js';
import type { CheckLine, ResultDocument } from './result.js';
import { callServiceClient } from './service-errors.js';

/** Rows of the removed table; the rest are counted and are in --json. */
export const PRUNE_TABLE_ROWS = 20;

/** An agent id as the Sandbox Controller labels its sandboxes with it; the sandbox-failures runbook takes the same. */
export const agentArgument = z.string().refine((value) => Identifier.safeParse(value).success, {
  error: (issue) =>
    `must be an agent id (letters, digits and . _ : @ / -, starting with a letter or digit, at most 128)${typeof issue.input === 'string' ? ` (got \`${clip(issue.input, 24)}\`)` : ''}`,
});

export function sandboxPruneDocument(result: PruneSandboxesResponse, agent?: string): ResultDocument {
  const scope = agent ? ` of agent ${agent}` : '';
  const leftAlone = Object.entries(result.left_alone).filter(([, count]) => count > 0);
  const items: CheckLine[] = [
    { name: 'Removed', tone: 'ok', text: `${result.removed.length} exited sandbox container${result.removed.length === 1 ? '' : 's'}` },
    ...result.failed.map((sandbox): CheckLine => ({ name: `Not removed: ${clip(sandbox.name, 40)}`, tone: 'warn', text: clip(sandbox.reason, 300) })),
    ...result.kept.map((sandbox): CheckLine => ({ name: `Kept: ${clip(sandbox.name, 40)}`, tone: 'info', text: clip(sandbox.reason, 300) })),
    {
      name: 'Left alone',
      tone: 'info',
      text: leftAlone.length > 0 ? `${leftAlone.map(([state, count]) => `${count} ${state}`).join(', ')} (prune never touches a container that has not exited)` : 'no sandbox is running',
    },
  ];
  const rows = result.removed.slice(0, PRUNE_TABLE_ROWS).map((sandbox) => [
    clip(sandbox.name, 40),
    sandbox.probe ? '(runtime probe)' : clip(sandbox.agent_id, 30),
    sandbox.runtime,
    sandbox.exit_code === null ? '-' : String(sandbox.exit_code),
    sandbox.finished_at ? formatTimestamp(sandbox.finished_at) : '-',
  ]);
  if (result.removed.length > rows.length) rows.push([`(${result.removed.length - rows.length} more in --json)`, '', '', '', '']);
  return {
    title: result.removed.length > 0 ? 'Sandbox containers pruned' : 'No sandbox containers to prune',
    tone: result.failed.length > 0 ? 'warn' : 'ok',
    summary: `Removed ${result.removed.length} exited sandbox container${result.removed.length === 1 ? '' : 's'}${scope}${result.failed.length > 0 ? `; the engine refused ${result.failed.length}` : ''}${result.kept.length > 0 ? `; kept ${result.kept.length} still being read` : ''}.`,
    blocks: [
      { type: 'checks', items },
      ...(rows.length > 0 ? [{ type: 'table' as const, columns: ['container', 'agent', 'runtime', 'exit', 'finished'], rows }] : []),
    ],
    actions: [{ label: 'Sandbox status', command: 'sandbox status' }],
    footer: `Level 1 (runbook: basic resource cleanup) · exited sandboxes are kept for ${result.grace_seconds} s, while the controller that ran them may still read them`,
    data: result,
  };
}

export const sandboxPrune = defineCommand({
  name: 'sandbox prune',
  summary: 'Remove exited sandbox containers (never running ones), optionally of one agent',
  usage: '[--agent id]',
  examples: ['sandbox prune', 'sandbox prune --agent agent-1'],
  level: 1,
  flags: { agent: { type: 'string', description: "only this agent's sandboxes" } },
  args: z.object({ agent: agentArgument.optional() }),
  async run(context, { agent }) {
    const result = await callServiceClient('sandbox-controller', context.services, () => context.services.sandboxController.pruneSandboxes(agent ? { agent_id: agent } : {}));
    return sandboxPruneDocument(result, agent);
  },
});
