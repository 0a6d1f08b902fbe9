/**
 * `health-check` (Level 0): the runbook's "Manual Health Verification" as a run. It asks every
 * service's /health (or the one named), then verifies a moment later that each says `healthy`.
 * It only reads, so it is safe to run any time; it is also the engine's demonstration runbook.
 */
import { z } from 'zod';
import { probeJson } from '../commands/health-probes.js';
import { SERVICE_NAMES, type ServiceName } from '../services/kit/service-ports.js';
import { defineRunbook, type StepContext } from './engine/definition.js';

const Args = z
  .object({
    service: z.enum(SERVICE_NAMES, { error: `service must be one of ${SERVICE_NAMES.join(', ')}` }).optional(),
  })
  .strict();
type HealthCheckArgs = z.output<typeof Args>;

const PROBE_TIMEOUT_MS = 3000;

interface ServiceReading {
  status: string;
  http: number | null;
  latencyMs: number;
  problem?: string;
}

function targets(args: HealthCheckArgs): ServiceName[] {
  return args.service ? [args.service] : [...SERVICE_NAMES];
}

function endpointsOf(context: StepContext<HealthCheckArgs>): Readonly<Record<ServiceName, string>> {
  const endpoints = context.ports.commands?.endpoints;
  if (!endpoints) throw new Error('this process has no service endpoints to check');
  return endpoints;
}

async function readHealth(context: StepContext<HealthCheckArgs>): Promise<Record<string, ServiceReading>> {
  const endpoints = endpointsOf(context);
  const readings = await Promise.all(
    targets(context.args).map(async (service) => {
      const result = await probeJson(`${endpoints[service]}/health`, PROBE_TIMEOUT_MS, context.signal);
      if (!result.ok) return [service, { status: 'unreachable', http: null, latencyMs: Math.round(result.latencyMs), problem: result.problem }] as const;
      const body = result.value.body as { status?: unknown } | undefined;
      const status = typeof body?.status === 'string' ? body.status : result.value.status < 400 ? 'answering' : 'unhealthy';
      return [service, { status, http: result.value.status, latencyMs: Math.round(result.latencyMs) }] as const;
    }),
  );
  return Object.fromEntries(readings);
}

const describeReadings = (readings: Record<string, ServiceReading>) =>
  Object.entries(readings)
    .map(([service, reading]) => `${service} ${reading.status}${reading.problem ? ` (${reading.problem})` : ''}`)
    .join(', ');

export const healthCheck = defineRunbook({
  source: import.meta.url,
  name: 'health-check',
  summary: "Check every service's health, then verify a moment later that each one says healthy",
  level: 0,
  args: Args,
  onStepFailure: 'decide',
  steps: [
    {
      id: 'probe-services',
      kind: 'check',
      title: "Ask each service's /health",
      timeoutMs: 10_000,
      idempotent: true,
      async run(context) {
        const readings = await readHealth(context);
        const unreachable = Object.entries(readings).filter(([, reading]) => reading.status === 'unreachable');
        if (unreachable.length > 0) throw new Error(`no answer from ${describeReadings(Object.fromEntries(unreachable))}`);
        return readings;
      },
      async dryRun(context) {
        const readings = await readHealth(context);
        return { mode: 'read-only-check', text: `Would ask ${targets(context.args).join(', ')}; now: ${describeReadings(readings)}` };
      },
    },
    {
      id: 'verify-healthy',
      kind: 'verify',
      title: 'Verify that every service says healthy',
      timeoutMs: 10_000,
      idempotent: true,
      async run(context) {
        const readings = await readHealth(context);
        const unwell = Object.entries(readings).filter(([, reading]) => reading.status !== 'healthy');
        if (unwell.length > 0) throw new Error(`not healthy: ${describeReadings(Object.fromEntries(unwell))}`);
        return { healthy: Object.keys(readings) };
      },
      async dryRun(context) {
        return { mode: 'description', text: `Would ask ${targets(context.args).join(', ')} again and require each to say "healthy"` };
      },
    },
  ],
});
