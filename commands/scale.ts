/**
 * `scale <service> <replicas>`: the runbook's Level 2 scaling decision
 * (`docker-compose up -d --scale <service>=<n>`). The authorization rules decide who may request
 * it and how many approvals it needs (one, by default). The local stack cannot scale and says why.
 */
import { z } from 'zod';
import { MAX_REPLICAS, type ScaleReport, type Stack } from '../services/stack/stack.js';
import { wholeNumberArgument } from './arguments.js';
import { defineCommand } from './command.js';
import { formatMs } from './format.js';
import type { CheckLine, ResultDocument } from './result.js';
import { onStackService, requireStack, requireStackService, serviceArgument, stackLabel } from './stack-access.js';

export function scaleDocument(stack: Pick<Stack, 'kind' | 'description'>, report: ScaleReport): ResultDocument {
  const unchanged = report.from === report.to;
  const items: CheckLine[] = [
    ...report.created.map((name): CheckLine => ({ name, tone: 'ok', text: 'created, started and healthy' })),
    ...report.removed.map((name): CheckLine => ({ name, tone: 'info', text: 'stopped and removed' })),
  ];
  return {
    title: unchanged ? `${report.service} already has ${report.to} replica${report.to === 1 ? '' : 's'}` : `Scaled ${report.service} to ${report.to}`,
    tone: 'ok',
    summary: unchanged
      ? `Nothing to do: ${report.service} runs ${report.to} replica${report.to === 1 ? '' : 's'}.`
      : `${report.service} went from ${report.from} to ${report.to} replica${report.to === 1 ? '' : 's'} in ${formatMs(report.durationMs)}.`,
    blocks: [
      ...(items.length > 0 ? [{ type: 'checks' as const, items }] : []),
      ...(report.notes.length > 0 ? [{ type: 'text' as const, text: report.notes.join('\n') }] : []),
    ],
    actions: [{ label: `Status of ${report.service}`, command: `status ${report.service}` }],
    footer: `Level 2 (runbook: resource scaling decision) · ${stackLabel(stack)}`,
    data: { ...report, stack: { kind: stack.kind, description: stack.description } },
  };
}

export const scale = defineCommand({
  name: 'scale',
  summary: `Run a service with 1 to ${MAX_REPLICAS} replicas (Level 2: needs an approval)`,
  usage: '<service> <replicas>',
  examples: ['scale policy-engine 3', 'scale policy-engine 1'],
  level: 2,
  usesStack: true,
  positionals: ['service', 'replicas'],
  args: z.object({ service: serviceArgument, replicas: wholeNumberArgument(1, MAX_REPLICAS) }),
  run: (context, { service, replicas }) => onStackService(context, 'scale', service, async (stack) => scaleDocument(stack, await stack.scale(service, replicas))),
  // The approval is bound to the replica count it was asked from: another scale in between asks again.
  async plan(context, { service, replicas }) {
    const stack = requireStack(context);
    await requireStackService(stack, service);
    const current = (await stack.list()).find((status) => status.name === service)?.replicas.length ?? 0;
    const plural = (count: number) => `${count} replica${count === 1 ? '' : 's'}`;
    return {
      summary: `Scale ${service} from ${plural(current)} to ${plural(replicas)} on ${stackLabel(stack)}`,
      target: service,
      fingerprint: `${service} runs ${plural(current)}`,
    };
  },
});
