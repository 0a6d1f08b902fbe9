/**
 * `stats [service]`: the runbook's `docker stats --no-stream`: CPU, memory, network and block I/O
 * per replica, each service marked against the runbook's CPU (80 %) and memory (85 %) thresholds.
 * A service the driver could not measure is named with the reason, never left out in silence.
 */
import { z } from 'zod';
import type { ContainerStats, SkippedStats, Stack } from '../services/stack/stack.js';
import { defineCommand } from './command.js';
import { capitalized, formatBytes, formatPercent } from './format.js';
import { worstTone, type CheckLine, type ResultDocument, type Tone } from './result.js';
import { onStackService, serviceArgument, stackLabel } from './stack-access.js';
import { RUNBOOK_THRESHOLDS, markUpperBound } from './thresholds.js';

const percentOf = (value: number) => `${value.toFixed(1)} %`;

export function cpuTone(sample: ContainerStats): Tone {
  return markUpperBound(sample.cpuPercent / 100, RUNBOOK_THRESHOLDS.cpuUtilization);
}

export function memoryTone(sample: ContainerStats): Tone {
  return sample.memory.limitBytes > 0 ? markUpperBound(sample.memory.percent / 100, RUNBOOK_THRESHOLDS.memoryUtilization) : 'info';
}

function serviceLine(service: string, samples: ContainerStats[]): CheckLine {
  const tones = samples.flatMap((sample) => [cpuTone(sample), memoryTone(sample)]);
  const cpu = Math.max(...samples.map((sample) => sample.cpuPercent));
  const memory = samples.reduce((worst, sample) => (sample.memory.percent > worst.memory.percent ? sample : worst));
  const over = [
    ...(samples.some((sample) => cpuTone(sample) !== 'ok') ? [`CPU over ${formatPercent(RUNBOOK_THRESHOLDS.cpuUtilization.target, 0)}`] : []),
    ...(samples.some((sample) => memoryTone(sample) === 'warn' || memoryTone(sample) === 'fail')
      ? [`memory over ${formatPercent(RUNBOOK_THRESHOLDS.memoryUtilization.target, 0)}`]
      : []),
  ];
  const many = samples.length > 1;
  const text = `${many ? `${samples.length} replicas · CPU up to ` : 'CPU '}${percentOf(cpu)} · memory ${many ? 'up to ' : ''}${formatBytes(memory.memory.usedBytes)} of ${formatBytes(memory.memory.limitBytes)} (${percentOf(memory.memory.percent)})${over.length > 0 ? ` · ${over.join(', ')}` : ''}`;
  return { name: service, tone: worstTone(tones), text };
}

const pair = (value: { a: number; b: number } | null) => (value ? `${formatBytes(value.a)} / ${formatBytes(value.b)}` : '-');

/** A service not measured, as a line of its own: someone looking for it must find why it is missing. */
function skippedLine(skipped: SkippedStats): CheckLine {
  return { name: skipped.replica ?? skipped.service, tone: 'warn', text: `not measured: ${skipped.reason}` };
}

function skippedSentence(skipped: readonly SkippedStats[]): string {
  const names = [...new Set(skipped.map((entry) => entry.replica ?? entry.service))];
  return skipped.length === 0 ? '' : ` Not measured: ${names.join(', ')} (why below; \`status\` shows its state).`;
}

export function statsDocument(stack: Pick<Stack, 'kind' | 'description'>, samples: ContainerStats[], skipped: readonly SkippedStats[] = []): ResultDocument {
  const where = stackLabel(stack);
  const skippedData = skipped.map((entry) => ({ service: entry.service, ...(entry.replica ? { replica: entry.replica } : {}), reason: entry.reason }));
  if (samples.length === 0) {
    return {
      title: 'Resource use',
      tone: 'warn',
      summary: `No replica of ${where} is running, so there is nothing to measure.${skippedSentence(skipped)}`,
      blocks: skipped.length > 0 ? [{ type: 'checks', items: skipped.map(skippedLine) }] : [],
      footer: '`status` shows what is stopped.',
      data: { stack: { kind: stack.kind, description: stack.description }, samples: [], skipped: skippedData },
    };
  }
  const byService = new Map<string, ContainerStats[]>();
  for (const sample of samples) byService.set(sample.service, [...(byService.get(sample.service) ?? []), sample]);
  const measured = [...byService].map(([service, group]) => serviceLine(service, group));
  const attention = measured.filter((line) => line.tone === 'warn' || line.tone === 'fail');
  const lines = [...measured, ...skipped.map(skippedLine)];
  const tone = worstTone(lines.map((line) => line.tone));
  const noNetwork = samples.some((sample) => sample.network === null);
  const notes = [
    `Thresholds from the runbook: CPU under ${formatPercent(RUNBOOK_THRESHOLDS.cpuUtilization.target, 0)}, memory under ${formatPercent(RUNBOOK_THRESHOLDS.memoryUtilization.target, 0)} of its limit.`,
    ...(stack.kind === 'local' ? ['Local processes have no memory limit: memory is measured against the machine\'s memory.'] : []),
    ...(noNetwork ? ['Network figures per replica are not available for local processes or host networking (-).'] : []),
    `${capitalized(where)}.`,
  ];
  return {
    title: 'Resource use',
    tone,
    summary:
      (attention.length === 0
        ? skipped.length === 0
          ? `Every service is within the runbook's thresholds.`
          : `Every service measured is within the runbook's thresholds.`
        : `Over the runbook's thresholds: ${attention.map((line) => line.name).join(', ')}. The runbook scales a service over ${formatPercent(RUNBOOK_THRESHOLDS.cpuUtilization.target, 0)} CPU (\`scale <service> <replicas>\`, admins) and restarts or scales one that runs out of memory.`) +
      skippedSentence(skipped),
    blocks: [
      { type: 'checks', items: lines },
      {
        type: 'table',
        columns: ['replica', 'cpu', 'memory (use / limit)', 'mem %', 'net rx / tx', 'block r / w', 'pids'],
        rows: samples.map((sample) => [
          sample.replica,
          `${percentOf(sample.cpuPercent)}${cpuTone(sample) === 'ok' ? '' : ' !'}`,
          `${formatBytes(sample.memory.usedBytes)} / ${formatBytes(sample.memory.limitBytes)}`,
          `${percentOf(sample.memory.percent)}${memoryTone(sample) === 'warn' || memoryTone(sample) === 'fail' ? ' !' : ''}`,
          pair(sample.network && { a: sample.network.rxBytes, b: sample.network.txBytes }),
          pair(sample.blockIo && { a: sample.blockIo.readBytes, b: sample.blockIo.writeBytes }),
          sample.pids === null ? '-' : String(sample.pids),
        ]),
      },
    ],
    footer: notes.join('\n'),
    data: {
      stack: { kind: stack.kind, description: stack.description },
      thresholds: { cpu_percent: RUNBOOK_THRESHOLDS.cpuUtilization.target * 100, memory_percent: RUNBOOK_THRESHOLDS.memoryUtilization.target * 100 },
      samples: samples.map((sample) => ({ ...sample, marks: { cpu: cpuTone(sample), memory: memoryTone(sample) } })),
      skipped: skippedData,
    },
  };
}

export const stats = defineCommand({
  name: 'stats',
  summary: 'CPU, memory, network and block I/O per replica, against the runbook thresholds (docker stats)',
  usage: '[service]',
  examples: ['stats', 'stats policy-engine'],
  level: 'read',
  usesStack: true,
  positionals: ['service'],
  args: z.object({ service: serviceArgument.optional() }),
  run: (context, { service }) =>
    onStackService(context, 'stats', service, async (stack) => {
      const skipped: SkippedStats[] = [];
      const samples = await stack.stats(service, { onSkipped: (entry) => skipped.push(entry) });
      return statsDocument(stack, samples, skipped);
    }),
});
