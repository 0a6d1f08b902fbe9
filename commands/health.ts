/**
 * `health`: every service's /health, the policy's own health document, PostgreSQL and Redis, all
 * at once, each with its own deadline. The runbook's "Manual Health Verification" as one line per
 * thing checked.
 */
import { z } from 'zod';
import { CONSTITUTIONAL_HASH } from '../services/kit/constitution.js';
import type { ServiceName } from '../services/kit/service-ports.js';
import { HealthBody } from '../services/kit/health-body.js';
import { AuditHealth } from '../services/audit-engine/contract.js';
import { EvolutionHealth } from '../services/evolution-oversight/contract.js';
import { PolicyEngineHealth, PolicyHealthResponse } from '../services/policy-engine/contract.js';
import { SandboxHealth } from '../services/sandbox-controller/contract.js';
import { choiceArgument } from './arguments.js';
import { defineCommand, type CommandContext } from './command.js';
import { clip, formatMs } from './format.js';
import { DeadlineError, probeJson, probePostgres, probeRedis, type HttpAnswer, type ProbeResult } from './health-probes.js';
import { worstTone, type CheckLine, type ResultDocument, type Tone } from './result.js';

export type HealthTarget = ServiceName | 'postgres' | 'redis';
export const HEALTH_TARGETS: readonly [HealthTarget, ...HealthTarget[]] = [
  'policy-engine',
  'audit-engine',
  'evolution-oversight',
  'sandbox-controller',
  'postgres',
  'redis',
];

/** One row of `health --json`: stable field names for scripts. */
export interface HealthCheckData {
  name: string;
  target: HealthTarget;
  tone: Tone;
  /** healthy / degraded / unhealthy as the service says, or `unreachable`, `not configured`. */
  status: string;
  latency_ms: number | null;
  version: string | null;
  detail: string | null;
}

const STATUS_TONE: Record<string, Tone> = { healthy: 'ok', degraded: 'warn', unhealthy: 'fail' };

/**
 * One field of a health body read with its service's schema; undefined when absent or not as the
 * contract says. Field by field, so one odd field does not hide what the others report.
 */
function field<T>(schema: z.ZodType<T>, value: unknown): T | undefined {
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** What a service's own health body says is wrong, in a few words. */
function problemsOf(service: ServiceName, body: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const text = (value: string | undefined) => (value ? clip(value, 160) : undefined);
  if (service === 'policy-engine') {
    for (const problem of field(PolicyEngineHealth.shape.problems, body.problems) ?? []) if (text(problem)) problems.push(text(problem)!);
    const modes = field(PolicyEngineHealth.shape.modes, body.modes);
    if (modes?.lockdown) problems.push('emergency lockdown is on');
    else if (modes?.strict) problems.push('strict mode is on');
  }
  if (service === 'audit-engine' || service === 'evolution-oversight') {
    const schema = service === 'audit-engine' ? AuditHealth.shape.database : EvolutionHealth.shape.database;
    const database = field(schema, body.database);
    if (database?.reachable === false) problems.push(`database unreachable${database.error ? `: ${text(database.error)}` : ''}`);
  }
  if (service === 'audit-engine') {
    const integrity = field(AuditHealth.shape.integrity, body.integrity);
    if (integrity?.valid === false) problems.push(`audit chain broken at event #${integrity.first_broken?.sequence ?? '?'}; run \`audit verify\``);
  }
  if (service === 'evolution-oversight') {
    const policy = field(EvolutionHealth.shape.policy_engine, body.policy_engine);
    if (policy?.reachable === false) problems.push(`Policy Engine unreachable${policy.error ? `: ${text(policy.error)}` : ''}`);
  }
  const reason = service === 'sandbox-controller' ? text(field(SandboxHealth.shape.reason, body.reason)) : undefined;
  if (reason) problems.push(reason);
  return problems;
}

function serviceCheck(service: ServiceName, probe: ProbeResult<HttpAnswer>): HealthCheckData {
  const base = { name: service, target: service, latency_ms: round(probe.latencyMs) } as const;
  if (!probe.ok) return { ...base, tone: 'fail', status: 'unreachable', version: null, detail: probe.problem };
  const parsed = HealthBody.safeParse(probe.value.body);
  if (!parsed.success) {
    return { ...base, tone: 'fail', status: 'unreachable', version: null, detail: `answered HTTP ${probe.value.status} without a health report` };
  }
  const body = parsed.data;
  const problems = problemsOf(service, body);
  let tone = STATUS_TONE[body.status] ?? 'warn';
  if (body.constitutional_hash !== CONSTITUTIONAL_HASH) {
    tone = 'fail';
    problems.unshift(`serves constitution ${clip(body.constitutional_hash, 20)}, expected ${CONSTITUTIONAL_HASH}`);
  }
  return { ...base, tone, status: body.status, version: `v${clip(body.version, 20)}`, detail: problems.length > 0 ? problems.join('; ') : null };
}

function policyDocumentCheck(probe: ProbeResult<HttpAnswer>): HealthCheckData {
  const base = { name: 'policy-engine policy', target: 'policy-engine', latency_ms: round(probe.latencyMs), version: null } as const;
  if (!probe.ok) return { ...base, tone: 'fail', status: 'unreachable', detail: probe.problem };
  const parsed = PolicyHealthResponse.safeParse(probe.value.body);
  if (probe.value.status !== 200 || !parsed.success) {
    return { ...base, tone: 'fail', status: 'unreachable', detail: `/v1/data/acgs/main/health answered HTTP ${probe.value.status} without a policy health document` };
  }
  const { status, constitutional_hash } = parsed.data.result;
  if (constitutional_hash !== CONSTITUTIONAL_HASH) {
    return { ...base, tone: 'fail', status: clip(status, 20), detail: `the policy is constitution ${clip(constitutional_hash, 20)}, expected ${CONSTITUTIONAL_HASH}` };
  }
  return { ...base, tone: STATUS_TONE[status] ?? (status === 'ok' ? 'ok' : 'warn'), status: clip(status, 20), detail: null };
}

async function postgresCheck(context: HealthCheckContext): Promise<HealthCheckData> {
  const { database, checkTimeoutMs } = context.services;
  const base = { name: 'postgres', target: 'postgres' } as const;
  if (!database) return { ...base, tone: 'info', status: 'not configured', latency_ms: null, version: null, detail: 'DATABASE_URL is not set (the local stack uses embedded PGlite)' };
  const probe = await probePostgres(database, checkTimeoutMs, context.signal);
  return probe.ok
    ? { ...base, tone: 'ok', status: 'reachable', latency_ms: round(probe.latencyMs), version: `PostgreSQL ${clip(probe.value.version.split(' ')[0] ?? '', 20)}`, detail: null }
    : { ...base, tone: 'fail', status: 'unreachable', latency_ms: round(probe.latencyMs), version: null, detail: probe.problem };
}

async function redisCheck(context: HealthCheckContext): Promise<HealthCheckData> {
  const { redis, checkTimeoutMs } = context.services;
  const base = { name: 'redis', target: 'redis' } as const;
  if (!redis) return { ...base, tone: 'info', status: 'not configured', latency_ms: null, version: null, detail: 'REDIS_URL is not set (the Policy Engine runs with its L1 cache only)' };
  const probe = await probeRedis(redis, checkTimeoutMs, context.signal);
  return probe.ok
    ? { ...base, tone: 'ok', status: 'reachable', latency_ms: round(probe.latencyMs), version: `Redis ${clip(probe.value.version, 20)}`, detail: null }
    : { ...base, tone: 'fail', status: 'unreachable', latency_ms: round(probe.latencyMs), version: null, detail: probe.problem };
}

const round = (ms: number) => Math.round(ms * 10) / 10;
const isService = (target: HealthTarget): target is ServiceName => target !== 'postgres' && target !== 'redis';

/** What the checks need: the endpoints, the stack's database and Redis, the timeout, and when to give up. */
export type HealthCheckContext = Pick<CommandContext, 'services' | 'signal'>;

/** A check that failed only because no answer came within its deadline (slow, not known to be down). */
export function answeredTooLate(check: HealthCheckData, timeoutMs: number): boolean {
  return check.tone === 'fail' && check.status === 'unreachable' && check.detail === new DeadlineError(timeoutMs).message;
}

/** Runs the checks for one target, or all of them, in parallel. */
export async function runHealthChecks(context: HealthCheckContext, target?: HealthTarget): Promise<HealthCheckData[]> {
  const { endpoints, checkTimeoutMs } = context.services;
  const wanted = (candidate: HealthTarget) => target === undefined || target === candidate;
  const starts: Array<() => Promise<HealthCheckData>> = [];
  for (const service of HEALTH_TARGETS.filter(isService).filter(wanted)) {
    starts.push(() => probeJson(new URL('/health', endpoints[service]).href, checkTimeoutMs, context.signal).then((probe) => serviceCheck(service, probe)));
    if (service === 'policy-engine') {
      const url = new URL('/v1/data/acgs/main/health', endpoints[service]).href;
      starts.push(() => probeJson(url, checkTimeoutMs, context.signal).then(policyDocumentCheck));
    }
  }
  if (wanted('postgres')) starts.push(() => postgresCheck(context));
  if (wanted('redis')) starts.push(() => redisCheck(context));
  // Started one event-loop turn apart: all still run in parallel, but the bot's other requests
  // (Slack acks) get a turn between the starts instead of waiting behind all of them.
  const checks: Promise<HealthCheckData>[] = [];
  for (const start of starts) {
    checks.push(start());
    await new Promise((resolve) => setImmediate(resolve));
  }
  return Promise.all(checks);
}

function lineOf(check: HealthCheckData): CheckLine {
  const parts = [check.status];
  if (check.latency_ms !== null) parts.push(formatMs(check.latency_ms));
  if (check.version) parts.push(check.version);
  if (check.detail) parts.push(check.detail);
  return { name: check.name, tone: check.tone, text: parts.join(' · ') };
}

export function healthDocument(checks: HealthCheckData[], timeoutMs: number, target?: HealthTarget): ResultDocument {
  const tone = worstTone(checks.map((check) => check.tone));
  const failing = checks.filter((check) => check.tone === 'fail').map((check) => check.name);
  const warning = checks.filter((check) => check.tone === 'warn').map((check) => check.name);
  const real = checks.filter((check) => check.tone !== 'info').length;
  const summary =
    failing.length > 0
      ? `${failing.length} of ${real} checks fail: ${failing.join(', ')}.${warning.length ? ` Degraded: ${warning.join(', ')}.` : ''}`
      : warning.length > 0
        ? `Degraded: ${warning.join(', ')}; everything else passes.`
        : `All ${real} checks pass.`;
  return {
    title: target ? `Health of ${target}` : 'Stack health',
    tone,
    summary,
    blocks: [{ type: 'checks', items: checks.map(lineOf) }],
    ...(tone === 'ok' || tone === 'info' ? {} : { actions: [{ label: 'Check again', command: target ? `health ${target}` : 'health' }] }),
    footer: [
      ...(failing.length > 0 ? ['What to try (runbook, Service Down Alert): `docker-compose logs --tail=50 <service>`, then `docker-compose restart <service>`; locally, `npm start`.'] : []),
      `Constitutional hash ${CONSTITUTIONAL_HASH} · each check times out after ${timeoutMs} ms`,
    ].join('\n'),
    data: { verdict: tone, checks, timeout_ms: timeoutMs, checked_at: new Date().toISOString() },
  };
}

export const health = defineCommand({
  name: 'health',
  aliases: ['healthcheck'],
  summary: 'Check every service, the policy, PostgreSQL and Redis',
  usage: '[service]',
  examples: ['health', 'health policy-engine', 'health redis'],
  level: 'read',
  positionals: ['service'],
  args: z.object({ service: choiceArgument(HEALTH_TARGETS, 'a part of the stack').optional() }),
  async run(context, { service }) {
    const checks = await runHealthChecks(context, service);
    return healthDocument(checks, context.services.checkTimeoutMs, service);
  },
});
