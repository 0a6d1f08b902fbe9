/**
 * `restart <service>`: the runbook's Level 1 fix (`docker-compose restart <service>`): every
 * replica restarted one after another, each waited for until healthy, then a report of what is
 * new (container start time or process id), how long it took and the health afterwards.
 */
import { z } from 'zod';
import type { RestartReport, RestartedReplica, Stack } from '../services/stack/stack.js';
import { defineCommand } from './command.js';
import { formatMs, formatTimestamp } from './format.js';
import type { CheckLine, ResultDocument, Tone } from './result.js';
import { SERVICE_HEALTH_TONES, onStackService, serviceArgument, stackLabel } from './stack-access.js';

function replicaLine(replica: RestartedReplica): CheckLine {
  const what =
    replica.pid !== undefined || replica.previousPid !== undefined
      ? `pid ${replica.previousPid ?? 'none'} → ${replica.pid ?? 'none'}`
      : replica.id === replica.previousId
        ? `container ${replica.id.slice(0, 12)} restarted in place`
        : `container ${replica.previousId.slice(0, 12)} → ${replica.id.slice(0, 12)}`;
  const started = replica.startedAt ? ` · started ${formatTimestamp(replica.startedAt)}` : '';
  const tone: Tone = replica.health === 'healthy' || replica.health === 'none' ? 'ok' : 'warn';
  return { name: replica.name, tone, text: `${what}${started} · ${replica.health === 'none' ? 'running (no health check)' : replica.health}` };
}

export function restartDocument(stack: Pick<Stack, 'kind' | 'description'>, report: RestartReport): ResultDocument {
  const tone = SERVICE_HEALTH_TONES[report.health];
  const count = report.replicas.length;
  return {
    title: `Restarted ${report.service}`,
    tone,
    summary: `${report.service} was restarted (${count === 1 ? '1 replica' : `${count} replicas, one after another`}) in ${formatMs(report.durationMs)}; it is ${report.health} now.`,
    blocks: [
      { type: 'checks', items: report.replicas.map(replicaLine) },
      {
        type: 'fields',
        fields: [
          { label: 'Took', value: formatMs(report.durationMs) },
          { label: 'Health after', value: report.health },
        ],
      },
    ],
    ...(tone === 'ok' ? {} : { actions: [{ label: `Logs of ${report.service}`, command: `logs ${report.service} --tail 50` }] }),
    footer: `Level 1 (runbook: service restart) · ${stackLabel(stack)}`,
    data: { ...report, stack: { kind: stack.kind, description: stack.description } },
  };
}

export const restart = defineCommand({
  name: 'restart',
  summary: 'Restart every replica of a service, one after another, and report its health after',
  usage: '<service>',
  examples: ['restart policy-engine'],
  level: 1,
  usesStack: true,
  positionals: ['service'],
  args: z.object({ service: serviceArgument }),
  run: (context, { service }) =>
    onStackService(context, 'restart', service, async (stack) => {
      // Several replicas take a while each: every one back is a step (a thread reply in Slack).
      const onReplicaRestarted = (replica: RestartedReplica, { index, total }: { index: number; total: number }) => {
        const line = replicaLine(replica);
        return context.progress({ text: `${replica.name} (${index + 1} of ${total}) is back: ${line.text}`, tone: line.tone });
      };
      // The record committed before this ran: a supervisor in another process restarts only with it.
      const executionRecord = context.execution?.key;
      return restartDocument(stack, await stack.restart(service, { onReplicaRestarted, ...(executionRecord ? { executionRecord } : {}) }));
    }),
});
