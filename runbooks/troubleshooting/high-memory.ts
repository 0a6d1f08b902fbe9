/**
 * `high-memory` (Level 1): the runbook's "High Memory Usage". It measures every replica (the
 * runbook's `docker stats --no-stream`) against the memory threshold (85 % of its limit) and CPU
 * (80 %), and the Policy Engine's decision cache (the runbook's "check cache size"), then measures
 * again. The runbook's remedies for memory are all above what this product runs by itself:
 * a restart, scaling and clearing the cache are named with their commands and levels, never run.
 */
import { z } from 'zod';
import { cacheClear } from '../../commands/cache-clear.js';
import { formatBytes, formatCount, formatPercent } from '../../commands/format.js';
import { restart } from '../../commands/restart.js';
import { scale } from '../../commands/scale.js';
import { cpuTone, memoryTone } from '../../commands/stats.js';
import { RUNBOOK_THRESHOLDS } from '../../commands/thresholds.js';
import type { ContainerStats, SkippedStats } from '../../services/stack/stack.js';
import { defineRunbook, type StepContext } from '../engine/definition.js';
import { callService, commandLevel, commandPorts, errorText, evidenceOf, nextStep, nextStepsSentence, optionalEvidenceOf, type Finding, type NextStep } from './troubleshooting-support.js';

const Args = z.object({}).strict();
type Context = StepContext<z.output<typeof Args>>;

const memoryTarget = formatPercent(RUNBOOK_THRESHOLDS.memoryUtilization.target, 0);
const cpuTarget = formatPercent(RUNBOOK_THRESHOLDS.cpuUtilization.target, 0);
/** An L1 cache this full is what the runbook calls oversized (the memory threshold, applied to its entries). */
const CACHE_FULL = RUNBOOK_THRESHOLDS.memoryUtilization.target;

interface Replica {
  service: string;
  replica: string;
  memoryPercent: number;
  usedBytes: number;
  limitBytes: number;
  cpuPercent: number;
}

interface MemoryEvidence {
  /** Replicas over the memory threshold, worst first. */
  over: Replica[];
  cpuOver: string[];
  highest: Replica | null;
  notMeasured: SkippedStats[];
  measured: number;
}

const overMemory = (sample: ContainerStats) => ['warn', 'fail'].includes(memoryTone(sample));

const replicaText = (replica: Replica) =>
  `${replica.replica} uses ${formatPercent(replica.memoryPercent / 100)} of ${replica.limitBytes > 0 ? `its ${formatBytes(replica.limitBytes)} limit` : 'the machine'} (${formatBytes(replica.usedBytes)})`;

async function measure(context: Context): Promise<Finding<MemoryEvidence>> {
  const { stack } = commandPorts(context.ports, ['stack']);
  const notMeasured: SkippedStats[] = [];
  const samples = await stack.stats(undefined, { onSkipped: (entry) => notMeasured.push(entry) });
  const toReplica = (sample: ContainerStats): Replica => ({
    service: sample.service,
    replica: sample.replica,
    memoryPercent: sample.memory.percent,
    usedBytes: sample.memory.usedBytes,
    limitBytes: sample.memory.limitBytes,
    cpuPercent: sample.cpuPercent,
  });
  const over = samples.filter(overMemory).map(toReplica).sort((a, b) => b.memoryPercent - a.memoryPercent);
  const cpuOver = samples.filter((sample) => cpuTone(sample) !== 'ok').map((sample) => `${sample.replica} (${sample.cpuPercent.toFixed(1)} % CPU)`);
  const highest = samples.length > 0 ? toReplica(samples.reduce((a, b) => (b.memory.percent > a.memory.percent ? b : a))) : null;
  const memoryText =
    samples.length === 0
      ? 'No replica is running, so nothing was measured'
      : over.length > 0
        ? `Over the runbook's ${memoryTarget} memory: ${over.map(replicaText).join('; ')}`
        : `Every one of ${samples.length} replicas is under the runbook's ${memoryTarget} memory; the highest: ${replicaText(highest!)}`;
  const cpuText = cpuOver.length > 0 ? ` Over ${cpuTarget} CPU: ${cpuOver.join(', ')}.` : '';
  const skippedText = notMeasured.length > 0 ? ` Not measured: ${notMeasured.map((entry) => `${entry.replica ?? entry.service} (${entry.reason})`).join('; ')}.` : '';
  return { summary: `${memoryText}.${cpuText}${skippedText}`, evidence: { over, cpuOver, highest, notMeasured, measured: samples.length } };
}

interface CacheSizeEvidence {
  entries?: number;
  max?: number;
  full: boolean;
}

async function cacheSize(context: Context): Promise<Finding<CacheSizeEvidence>> {
  const commands = commandPorts(context.ports, ['policyEngine']);
  try {
    const metrics = await callService('policy-engine', commands, () => commands.policyEngine.metrics());
    const { size, max } = metrics.cache_stats.l1;
    const fill = max > 0 ? size / max : 0;
    const full = fill >= CACHE_FULL;
    return {
      summary: `The Policy Engine's L1 decision cache holds ${formatCount(size)} of ${formatCount(max)} entries (${formatPercent(fill)})${full ? ', nearly full: it is a share of the engine\'s memory' : ''}.`,
      evidence: { entries: size, max, full },
    };
  } catch (error) {
    // The cache's size is evidence, not the problem: a Policy Engine that does not answer is said, not fatal.
    return { summary: `The Policy Engine's cache size could not be read: ${errorText(error)}`, evidence: { full: false } };
  }
}

function escalation(memory: MemoryEvidence, cache: CacheSizeEvidence | undefined): NextStep[] {
  const services = [...new Set(memory.over.map((replica) => replica.service))];
  return [
    ...services.map((service) => nextStep(`${restart.name} ${service}`, commandLevel(restart.level), `returns ${service}'s memory; the runbook restarts a service that runs out of memory`)),
    ...services.map((service) => nextStep(`${scale.name} ${service} 2`, commandLevel(scale.level), 'if the memory climbs back after the restart (the runbook scales when it persists)')),
    ...(cache?.full && services.includes('policy-engine') ? [nextStep(cacheClear.name, commandLevel(cacheClear.level), "drops the Policy Engine's nearly full decision cache")] : []),
  ];
}

export const highMemory = defineRunbook({
  source: import.meta.url,
  name: 'high-memory',
  summary: `High memory: measure every replica against ${memoryTarget} memory and ${cpuTarget} CPU and the Policy Engine's cache size, then measure again`,
  level: 1,
  args: Args,
  steps: [
    {
      id: 'check-memory',
      kind: 'check',
      title: `Measure every replica's memory against the runbook's ${memoryTarget} of its limit (docker stats)`,
      timeoutMs: 30_000,
      idempotent: true,
      run: (context) => measure(context),
      dryRun: async (context) => ({ mode: 'read-only-check', text: (await measure(context)).summary }),
    },
    {
      id: 'check-cache-size',
      kind: 'check',
      title: "Read the size of the Policy Engine's decision cache",
      timeoutMs: 15_000,
      idempotent: true,
      run: (context) => cacheSize(context),
      dryRun: async (context) => ({ mode: 'read-only-check', text: (await cacheSize(context)).summary }),
    },
    {
      id: 'verify-memory',
      kind: 'verify',
      title: `Measure again: every replica under ${memoryTarget} memory`,
      timeoutMs: 30_000,
      idempotent: true,
      async run(context) {
        const before = evidenceOf<MemoryEvidence>(context.outputs, 'check-memory');
        const cache = optionalEvidenceOf<CacheSizeEvidence>(context.outputs, 'check-cache-size');
        const { summary, evidence: now } = await measure(context);
        const next = escalation(now, cache);
        if (now.over.length > 0) throw new Error(`Not resolved (this runbook restarts, scales and clears nothing by itself): ${summary}${nextStepsSentence(next)}`);
        const verdict = before.over.length > 0 ? 'Resolved by itself.' : 'Nothing was wrong and nothing is.';
        return { summary: `${verdict} ${summary}`, evidence: { resolved: true, measured: now.measured, nextSteps: next } };
      },
      dryRun: async () => ({ mode: 'description', text: `Would measure every replica again and require each under ${memoryTarget} of its memory limit` }),
    },
  ],
});
