/**
 * `sandbox status`: what the Sandbox Controller can run code with (container runtimes, gVisor,
 * the sandbox image), how many sandboxes run, and what they use (the runbook's `docker stats`
 * step, limited to the sandboxes).
 */
import { z } from 'zod';
import type { ResourceUsageResponse } from '../services/clients/sandbox-controller.js';
import { ServiceCallError } from '../services/clients/http.js';
import type { SandboxHealth } from '../services/sandbox-controller/contract.js';
import { defineCommand } from './command.js';
import type { CommandDependencies } from './dependencies.js';
import { clip, formatBytes, formatDuration, formatPercent } from './format.js';
import { worstTone, type CheckLine, type ResultDocument, type Tone } from './result.js';
import { callServiceClient } from './service-errors.js';
import { RUNBOOK_THRESHOLDS, markUpperBound } from './thresholds.js';

export const SANDBOX_TABLE_ROWS = 20;

export type SandboxUsageReading = { ok: true; value: ResourceUsageResponse } | { ok: false; tone: Tone; problem: string };
type Usage = SandboxUsageReading;

/** GET /admin/resource-usage, with the failures that describe the stack (no admin token, no engine) as a reading; the troubleshooting runbook reads it too. */
export async function readSandboxUsage(services: Pick<CommandDependencies, 'sandboxController'>, query: { agent_id?: string } = {}): Promise<SandboxUsageReading> {
  try {
    return { ok: true, value: await services.sandboxController.resourceUsage(query) };
  } catch (error) {
    if (!(error instanceof ServiceCallError)) throw error;
    if (error.status === 401 || error.status === 403) {
      return { ok: false, tone: 'warn', problem: 'needs the admin token: set ACGS_ADMIN_TOKEN (npm start writes it to .acgs/admin-token)' };
    }
    if (error.status === 503 || error.code === 'UNREACHABLE') return { ok: false, tone: 'fail', problem: clip(error.message, 300) };
    throw error;
  }
}

export function sandboxStatusDocument(health: SandboxHealth & { version?: string }, usage: Usage): ResultDocument {
  const runtimes = health.runtimes_available;
  const items: CheckLine[] = [];
  items.push(
    health.engine.reachable
      ? { name: 'Docker Engine', tone: 'ok', text: `reachable at ${clip(health.engine.host, 60)}${health.engine.version ? ` · ${clip(health.engine.version, 20)}` : ''}` }
      : { name: 'Docker Engine', tone: 'fail', text: `not reachable at ${clip(health.engine.host, 60)}: sandboxes cannot run` },
  );
  items.push(
    health.default_runtime
      ? {
          name: 'Runtimes',
          tone: 'ok',
          text: `${runtimes.join(', ')} available; code runs under ${health.default_runtime}${health.default_runtime === 'runsc' ? ' (gVisor)' : ' (hardened runc)'}`,
        }
      : { name: 'Runtimes', tone: 'fail', text: clip(health.reason ?? 'no container runtime is available', 300) },
  );
  items.push({
    name: 'gVisor',
    tone: 'info',
    text: health.gvisor.working ? 'working' : `not used: ${clip(health.gvisor.reason ?? (health.gvisor.registered ? 'its probe failed' : 'not registered'), 160)}`,
  });
  items.push({
    name: 'Sandbox image',
    tone: health.image.present ? 'ok' : health.engine.reachable ? 'fail' : 'info',
    text: `${clip(health.image.name, 80)} ${health.image.present ? 'present' : health.engine.reachable ? 'missing: build it with scripts/build-test-images.sh' : 'cannot be checked'}`,
  });
  const full = health.active_sandboxes >= health.max_concurrent;
  items.push({
    name: 'Active sandboxes',
    tone: full ? 'warn' : 'ok',
    text: `${health.active_sandboxes} of ${health.max_concurrent}${full ? ': at capacity, new executions are refused' : ''}`,
  });
  if (usage.ok) {
    const { totals } = usage.value;
    const memoryShare = totals.memory_limit_bytes > 0 ? totals.memory_bytes / totals.memory_limit_bytes : 0;
    items.push({
      name: 'Resource usage',
      tone: totals.active === 0 ? 'ok' : markUpperBound(memoryShare, RUNBOOK_THRESHOLDS.memoryUtilization),
      text:
        totals.active === 0
          ? 'no sandbox containers running'
          : `${totals.active} containers (${totals.active_own} started by this controller) · CPU ${totals.cpu_percent.toFixed(1)} % · memory ${formatBytes(totals.memory_bytes)} of ${formatBytes(totals.memory_limit_bytes)} (${formatPercent(memoryShare)})`,
    });
  } else {
    items.push({ name: 'Resource usage', tone: usage.tone, text: usage.problem });
  }
  const tone = worstTone(items.map((item) => item.tone));
  const sandboxes = usage.ok ? usage.value.sandboxes : [];
  return {
    title: 'Sandbox status',
    tone,
    summary: health.default_runtime
      ? `Code runs under ${health.default_runtime}; ${health.active_sandboxes} of ${health.max_concurrent} sandbox slots in use.`
      : `The Sandbox Controller cannot run code right now: ${clip(health.reason ?? 'no container runtime', 200)}`,
    blocks: [
      { type: 'checks', items },
      ...(sandboxes.length > 0
        ? [
            {
              type: 'table' as const,
              columns: ['sandbox', 'agent', 'runtime', 'age', 'cpu', 'memory'],
              rows: sandboxes.slice(0, SANDBOX_TABLE_ROWS).map((sandbox) => [
                clip(sandbox.sandbox_id, 12),
                clip(sandbox.agent_id, 30),
                sandbox.runtime,
                formatDuration(sandbox.age_seconds),
                sandbox.usage ? `${sandbox.usage.cpu_percent.toFixed(1)} %` : '-',
                sandbox.usage ? formatBytes(sandbox.usage.memory_bytes) : '-',
              ]),
            },
          ]
        : []),
    ],
    footer: `Sandbox Controller ${health.version ?? ''}`.trim(),
    data: {
      status: health.status,
      reason: health.reason ?? null,
      runtimes_available: runtimes,
      default_runtime: health.default_runtime,
      gvisor: health.gvisor,
      image: health.image,
      engine: health.engine,
      active_sandboxes: health.active_sandboxes,
      max_concurrent: health.max_concurrent,
      resource_usage: usage.ok ? { totals: usage.value.totals, sandboxes: usage.value.sandboxes, limits: usage.value.limits } : { error: usage.problem },
    },
  };
}

export const sandboxStatus = defineCommand({
  name: 'sandbox status',
  summary: 'Sandbox Controller: runtimes, active sandboxes, resource usage',
  examples: ['sandbox status'],
  level: 'read',
  args: z.object({}),
  async run(context) {
    const [health, usage] = await Promise.all([
      callServiceClient('sandbox-controller', context.services, () => context.services.sandboxController.health()),
      readSandboxUsage(context.services),
    ]);
    return sandboxStatusDocument(health, usage);
  },
});
