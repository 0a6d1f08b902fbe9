/**
 * `sandbox-failures` (Level 1): the runbook's "Sandbox Execution Failures". It reads what the
 * Sandbox Controller can run code with (Docker Engine, runtime, image), its slots and the
 * sandboxes' memory against 85 %, and the exited sandbox containers left on the engine; prunes
 * those (the runbook's "clean up old containers", Level 1) only when there are some, then reads
 * again. Restarting the controller is named, never run.
 */
import { z } from 'zod';
import { formatBytes, formatPercent } from '../../commands/format.js';
import { logs } from '../../commands/logs.js';
import { restart } from '../../commands/restart.js';
import { agentArgument } from '../../commands/sandbox-prune.js';
import { readSandboxUsage, type SandboxUsageReading } from '../../commands/sandbox-status.js';
import { RUNBOOK_THRESHOLDS, markUpperBound } from '../../commands/thresholds.js';
import type { SandboxHealth } from '../../services/sandbox-controller/contract.js';
import { defineRunbook, type StepContext } from '../engine/definition.js';
import { callService, commandLevel, commandPorts, evidenceOf, nextStep, nextStepsSentence, skipped, type Finding, type NextStep } from './troubleshooting-support.js';

/** `agent`: only that agent's sandboxes are counted and pruned (the slots and the runtime are the controller's). */
const Args = z.object({ agent: agentArgument.optional() }).strict();
type Context = StepContext<z.output<typeof Args>>;

const memoryTarget = formatPercent(RUNBOOK_THRESHOLDS.memoryUtilization.target, 0);

interface SandboxEvidence {
  /** Something a person must look at (no runtime, no engine, no image, full, memory over 85 %). */
  problems: string[];
  /** Exited sandbox containers on the engine; null when the controller could not say. */
  exited: number | null;
  canRunCode: boolean;
  active: number;
  maxConcurrent: number;
  memoryShare: number | null;
}

const plural = (count: number, word: string, words = `${word}s`) => `${count} ${count === 1 ? word : words}`;

async function readSandboxes(context: Context): Promise<Finding<SandboxEvidence>> {
  const commands = commandPorts(context.ports, ['sandboxController']);
  const { agent } = context.args;
  const [health, usage] = await Promise.all([
    callService('sandbox-controller', commands, () => commands.sandboxController.health()),
    readSandboxUsage(commands, agent ? { agent_id: agent } : {}),
  ]);
  return judgeSandboxes(health, usage, agent);
}

function judgeSandboxes(health: SandboxHealth, usage: SandboxUsageReading, agent: string | undefined): Finding<SandboxEvidence> {
  const ofAgent = agent ? ` of agent ${agent}` : '';
  const problems: string[] = [];
  if (!health.engine.reachable) problems.push(`the Docker Engine at ${health.engine.host} does not answer`);
  if (!health.default_runtime) problems.push(`no container runtime is available (${health.reason ?? 'no reason given'})`);
  if (health.engine.reachable && !health.image.present) problems.push(`the sandbox image ${health.image.name} is missing`);
  const full = health.active_sandboxes >= health.max_concurrent;
  if (full) problems.push(`all ${health.max_concurrent} sandbox slots are in use, so new executions are refused`);
  let memoryShare: number | null = null;
  let exited: number | null = null;
  let usageText: string;
  if (usage.ok) {
    const { totals } = usage.value;
    memoryShare = totals.memory_limit_bytes > 0 ? totals.memory_bytes / totals.memory_limit_bytes : null;
    if (memoryShare !== null && markUpperBound(memoryShare, RUNBOOK_THRESHOLDS.memoryUtilization) !== 'ok') {
      problems.push(`the running sandboxes use ${formatPercent(memoryShare)} of their memory limits (over the runbook's ${memoryTarget})`);
    }
    exited = totals.exited ?? null;
    usageText = `${plural(totals.active, 'sandbox', 'sandboxes')}${ofAgent} running${memoryShare === null ? '' : `, ${formatBytes(totals.memory_bytes)} of ${formatBytes(totals.memory_limit_bytes)} memory`}; ${
      exited === null ? 'this controller does not report exited sandboxes (an older version)' : `${plural(exited, 'exited sandbox container')}${ofAgent} left on the engine`
    }`;
  } else {
    usageText = `resource usage unreadable: ${usage.problem}`;
  }
  const runtime = health.default_runtime ? `code runs under ${health.default_runtime}` : 'code cannot run';
  const head = problems.length > 0 ? `Found: ${problems.join('; ')}.` : `The Sandbox Controller is ${health.status}: ${runtime}, ${health.active_sandboxes} of ${health.max_concurrent} slots in use.`;
  return {
    summary: `${head} ${usageText.charAt(0).toUpperCase()}${usageText.slice(1)}.`,
    evidence: {
      problems,
      exited,
      canRunCode: Boolean(health.default_runtime) && health.engine.reachable,
      active: health.active_sandboxes,
      maxConcurrent: health.max_concurrent,
      memoryShare,
    },
  };
}

/** What a person does next: the controller's log and a restart (not run by this runbook). */
function escalation(check: SandboxEvidence): NextStep[] {
  if (check.problems.length === 0) return [];
  return [
    nextStep(`${logs.name} sandbox-controller --tail 100`, commandLevel(logs.level), "shows the controller's own account of the failures"),
    ...(check.canRunCode ? [] : [nextStep(`${restart.name} sandbox-controller`, commandLevel(restart.level), 'makes the controller probe the engine and its runtimes afresh')]),
  ];
}

export const sandboxFailures = defineRunbook({
  source: import.meta.url,
  name: 'sandbox-failures',
  summary: 'Sandbox failures: check the runtime, slots and memory, prune exited sandbox containers (agent=<id>: only its own) if there are any, then check again',
  level: 1,
  args: Args,
  steps: [
    {
      id: 'check-sandboxes',
      kind: 'check',
      title: `Check the Sandbox Controller: engine, runtime, image, slots, memory (${memoryTarget}), exited containers`,
      timeoutMs: 45_000,
      idempotent: true,
      run: (context) => readSandboxes(context),
      dryRun: async (context) => ({ mode: 'read-only-check', text: (await readSandboxes(context)).summary }),
    },
    {
      id: 'prune-sandboxes',
      kind: 'act',
      title: 'Prune exited sandbox containers (Level 1), only if the check found some',
      timeoutMs: 90_000,
      // Pruning again finds only what exited since.
      idempotent: true,
      async run(context) {
        const check = evidenceOf<SandboxEvidence>(context.outputs, 'check-sandboxes');
        if (check.exited === null) return skipped('the controller did not say how many exited sandbox containers there are, so none were pruned.');
        if (check.exited === 0) return skipped('the check found no exited sandbox containers, so nothing was pruned.');
        const commands = commandPorts(context.ports, ['sandboxController']);
        const { agent } = context.args;
        const result = await callService('sandbox-controller', commands, () => commands.sandboxController.pruneSandboxes(agent ? { agent_id: agent } : {}));
        const kept = result.kept.length > 0 ? `; kept ${result.kept.length} that exited less than ${result.grace_seconds} s ago (their controller may still read them)` : '';
        const failed = result.failed.length > 0 ? `; the engine refused ${result.failed.length}: ${result.failed[0]!.reason}` : '';
        return {
          summary: `Removed ${plural(result.removed.length, 'exited sandbox container')}${kept}${failed}.`,
          evidence: { remedyRan: true, removed: result.removed.length, kept: result.kept.length, failed: result.failed.length },
        };
      },
      async dryRun(context) {
        const { summary, evidence } = await readSandboxes(context);
        return {
          mode: 'read-only-check',
          text: evidence.exited ? `Would prune ${plural(evidence.exited, 'exited sandbox container')} (POST /admin/prune-sandboxes)` : `Would skip: ${summary}`,
        };
      },
    },
    {
      id: 'verify-sandboxes',
      kind: 'verify',
      title: 'Check again: no exited containers left, and the controller can run code',
      timeoutMs: 45_000,
      idempotent: true,
      async run(context) {
        const before = evidenceOf<SandboxEvidence>(context.outputs, 'check-sandboxes');
        const { summary, evidence: now } = await readSandboxes(context);
        const next = escalation(now);
        const leftover = before.exited && now.exited ? ` ${plural(now.exited, 'exited sandbox container')} still on the engine (was ${before.exited}).` : '';
        if (now.problems.length > 0) throw new Error(`Not resolved: ${now.problems.join('; ')}.${leftover}${nextStepsSentence(next)}`);
        const cleaned = before.exited ? ` ${plural(now.exited ?? 0, 'exited sandbox container')} left after the prune (was ${before.exited}).` : '';
        const verdict = before.problems.length > 0 || before.exited ? 'Resolved.' : 'Nothing was wrong and nothing is.';
        return { summary: `${verdict}${cleaned} ${summary}`, evidence: { resolved: true, exited: now.exited, nextSteps: next } };
      },
      dryRun: async () => ({ mode: 'description', text: 'Would read the controller again and require that it can run code, has free slots and memory under the threshold' }),
    },
  ],
});
