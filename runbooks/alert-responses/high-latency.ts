/**
 * `high-latency` (Level 1, with a Level 2 gate): the runbook's "High Latency Alert" response, as
 * the alert's "Run: high latency" button starts it. It reads the Policy Engine's KPIs, warms the
 * cache (Level 1), reads p99 again, and only when p99 is still over the alert threshold asks
 * approvers (Level 2, the runbook's scaling decision) and scales the Policy Engine up by one
 * replica. When the warm helped, the gate and the scale are skipped and nobody is asked.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { formatCount, formatMs, formatPercent } from '../../commands/format.js';
import { RUNBOOK_THRESHOLDS } from '../../commands/thresholds.js';
import type { PolicyMetrics } from '../../services/policy-engine/contract.js';
import { MAX_REPLICAS } from '../../services/stack/stack.js';
import { defineRunbook, type StepContext, type StepDefinition } from '../engine/definition.js';
import type { LatencyRecheckSettings } from '../engine/ports.js';
import { gateStep } from '../engine/gate-step.js';
import { callService, commandPorts, evidenceOf, skipped, type Finding } from '../troubleshooting/troubleshooting-support.js';

const Args = z.object({}).strict();
type Args = z.output<typeof Args>;
type Context = StepContext<Args>;

const SERVICE = 'policy-engine';
const ALERT_MS = RUNBOOK_THRESHOLDS.policyP99Ms.alert;

interface KpiEvidence {
  p99Ms: number;
  p95Ms: number;
  hitRate: number;
  requests: number;
  /** The Policy Engine's replicas now, and what a scale-up would make them; null without a stack. */
  replicas: number | null;
  scaleTo: number | null;
}

interface RecheckEvidence {
  p99Ms: number;
  stillHigh: boolean;
  scaleTo: number | null;
  /** How long after the warm p99 was judged. */
  watchedMs: number;
}

/** The engine's 60 s latency window plus one of its 10 s slots: by then no decision from before the warm counts. */
export const LATENCY_RECHECK: LatencyRecheckSettings = { windowMs: 70_000, pollMs: 5_000 };

async function readMetrics(context: Context): Promise<PolicyMetrics> {
  const commands = commandPorts(context.ports, ['policyEngine']);
  return callService(SERVICE, commands, () => commands.policyEngine.metrics());
}

/** The Policy Engine's replica count, when this process has a stack to ask. */
async function replicasNow(context: Context): Promise<number | null> {
  const stack = context.ports.commands?.stack;
  if (!stack) return null;
  const status = (await stack.list()).find((entry) => entry.name === SERVICE);
  return status ? status.replicas.length : null;
}

const p99Words = (p99: number) => `p99 ${formatMs(p99)} (${p99 > ALERT_MS ? `over the ${ALERT_MS} ms alert` : `under the ${ALERT_MS} ms alert`})`;

async function readKpis(context: Context): Promise<Finding<KpiEvidence>> {
  const [metrics, replicas] = await Promise.all([readMetrics(context), replicasNow(context)]);
  const { p95, p99 } = metrics.percentiles;
  const scaleTo = replicas === null ? null : Math.min(replicas + 1, MAX_REPLICAS);
  return {
    summary: `${capital(p99Words(p99))}, p95 ${formatMs(p95)}; cache hit rate ${formatPercent(metrics.cache_hit_rate)} of ${formatCount(metrics.request_count)} requests; ${replicas === null ? 'no stack to count the replicas of' : `${replicas} Policy Engine replica${replicas === 1 ? '' : 's'}`}.`,
    evidence: { p99Ms: p99, p95Ms: p95, hitRate: metrics.cache_hit_rate, requests: metrics.request_count, replicas, scaleTo },
  };
}

const capital = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

const stillHighOf = (outputs: Readonly<Record<string, unknown>>) => evidenceOf<RecheckEvidence>(outputs, 'check-p99');

/** The gate, asked only when the warm did not bring p99 under the threshold. */
function scaleGate(): StepDefinition<Args> {
  const gate = gateStep<Args>({ id: 'approve-scale', title: `Approvers agree to scale the Policy Engine up by one replica (Level 2), only if p99 is still over ${ALERT_MS} ms`, level: 2, timeoutMs: 30 * 60_000 });
  return {
    ...gate,
    async run(context) {
      const recheck = stillHighOf(context.outputs);
      if (!recheck.stillHigh) return skipped(`p99 is ${formatMs(recheck.p99Ms)} after the warm, under the ${ALERT_MS} ms alert: no scaling, nobody is asked.`);
      return gate.run(context);
    },
  };
}

export const highLatency = defineRunbook({
  source: import.meta.url,
  name: 'high-latency',
  summary: `High latency alert: read the KPIs, warm the cache, and only if p99 stays over ${ALERT_MS} ms scale the Policy Engine up by one replica after an approval`,
  level: 1,
  args: Args,
  steps: [
    {
      id: 'read-kpis',
      kind: 'check',
      title: `Read the Policy Engine's KPIs: p99 against ${ALERT_MS} ms, cache hit rate, replicas`,
      timeoutMs: 15_000,
      idempotent: true,
      run: (context) => readKpis(context),
      dryRun: async (context) => ({ mode: 'read-only-check', text: (await readKpis(context)).summary }),
    },
    {
      id: 'warm-cache',
      kind: 'act',
      title: 'Warm the Policy Engine cache (Level 1)',
      timeoutMs: 60_000,
      // Warming twice only finds the decisions cached already.
      idempotent: true,
      async run(context) {
        const commands = commandPorts(context.ports, ['policyEngine']);
        const result = await callService(SERVICE, commands, () => commands.policyEngine.warmCache());
        return {
          summary: `Warmed the cache: ${formatCount(result.warmed)} common decisions evaluated and cached, ${formatCount(result.already_cached)} of the ${formatCount(result.total)} were cached already.`,
          evidence: { warmed: result.warmed, alreadyCached: result.already_cached, total: result.total },
        };
      },
      dryRun: async () => ({ mode: 'description', text: 'Would warm the cache (POST /v1/cache/warm), as `cache warm` does', target: 'policy-engine cache' }),
    },
    {
      id: 'check-p99',
      kind: 'verify',
      title: `Read p99 again: still over ${ALERT_MS} ms?`,
      timeoutMs: LATENCY_RECHECK.windowMs + 30_000,
      idempotent: true,
      async run(context): Promise<Finding<RecheckEvidence>> {
        const before = evidenceOf<KpiEvidence>(context.outputs, 'read-kpis');
        const { windowMs, pollMs } = context.ports.latencyRecheck ?? LATENCY_RECHECK;
        const started = Date.now();
        // p99 right after the warm still counts the slow decisions from before it: under the alert
        // at any read settles it; over it settles only once those have left the engine's window.
        for (;;) {
          const p99 = (await readMetrics(context)).percentiles.p99;
          const watchedMs = Date.now() - started;
          const stillHigh = p99 > ALERT_MS;
          if (!stillHigh || watchedMs >= windowMs) {
            const watched = watchedMs >= 1000 ? ` ${Math.round(watchedMs / 1000)} s` : '';
            return {
              summary: stillHigh
                ? `Still high: p99 ${formatMs(p99)} (was ${formatMs(before.p99Ms)}), over the ${ALERT_MS} ms alert${watched} after the warm, with no decision from before it left in the engine's window; scaling up needs an approval.`
                : `Resolved by the warm: p99 ${formatMs(p99)} (was ${formatMs(before.p99Ms)})${watched} after it, under the ${ALERT_MS} ms alert; no scaling.`,
              evidence: { p99Ms: p99, stillHigh, scaleTo: before.scaleTo, watchedMs },
            };
          }
          await sleep(Math.min(pollMs, windowMs - watchedMs), undefined, { signal: context.signal });
        }
      },
      dryRun: async () => ({ mode: 'description', text: `Would watch p99 for up to ${LATENCY_RECHECK.windowMs / 1000} s (the engine's window) and go on to the approval and the scale only if it stays over ${ALERT_MS} ms` }),
    },
    scaleGate(),
    {
      id: 'scale-up',
      kind: 'act',
      title: 'Scale the Policy Engine up by one replica (approved at the gate)',
      timeoutMs: 120_000,
      // It scales to the count read before the gate: asked twice, the second finds it there.
      idempotent: true,
      async run(context) {
        const recheck = stillHighOf(context.outputs);
        if (!recheck.stillHigh) return skipped('the warm brought p99 under the alert threshold.');
        const before = evidenceOf<KpiEvidence>(context.outputs, 'read-kpis');
        const commands = commandPorts(context.ports, ['stack']);
        if (before.replicas === null || before.scaleTo === null) throw new Error('the Policy Engine\'s replicas could not be counted when the run began (no stack was reachable), so there is no count to scale to: abort, and scale by hand with `/acgs scale policy-engine <n>` (Level 2)');
        if (before.scaleTo === before.replicas) throw new Error(`the Policy Engine runs ${before.replicas} replicas already, the most a scale may ask for`);
        const report = await commands.stack.scale(SERVICE, before.scaleTo);
        return {
          summary: `Scaled the Policy Engine from ${report.from} to ${report.to} replicas in ${formatMs(report.durationMs)}.${report.notes.length > 0 ? ` ${report.notes.join(' ')}` : ''}`,
          evidence: { from: report.from, to: report.to, created: report.created },
        };
      },
      async compensate(context) {
        // Abort after the scale: back to the count before it.
        const before = evidenceOf<KpiEvidence>(context.outputs, 'read-kpis');
        const stack = context.ports.commands?.stack;
        if (stack && before.replicas !== null) await stack.scale(SERVICE, before.replicas);
      },
      dryRun: async () => ({ mode: 'description', text: 'Would scale the Policy Engine up by one replica (as `scale policy-engine <n+1>`), only if p99 is still high after the warm and approvers agreed', target: `${SERVICE} +1 replica` }),
    },
  ],
  outcome(outputs) {
    const scaled = (outputs['scale-up'] as { evidence?: { from?: number; to?: number } } | undefined)?.evidence;
    const recheck = (outputs['check-p99'] as { evidence?: RecheckEvidence } | undefined)?.evidence;
    if (scaled?.to !== undefined) return `p99 stayed over ${ALERT_MS} ms after the warm; the Policy Engine was scaled from ${scaled.from} to ${scaled.to} replicas.`;
    if (recheck) return `The cache warm brought p99 to ${formatMs(recheck.p99Ms)}, under ${ALERT_MS} ms; nothing was scaled.`;
    return undefined;
  },
});
