/**
 * The constitutional violation emergency's "review violation details": the recent safety
 * violations the Audit Engine holds, grouped by agent and by action (the patterns the runbook's
 * analysis script looks for), the Policy Engine's counters and modes, the change proposals of
 * Evolution Oversight still waiting for a person, and the Policy Engine's log lines that speak of
 * violations (through the Stack port). A source that cannot be read is named, never fatal alone:
 * in an emergency what can be read is worth having.
 */
import type { AuditEvent } from '../../services/audit-engine/contract.js';
import type { CommandDependencies } from '../../commands/dependencies.js';
import { callServiceClient } from '../../commands/service-errors.js';
import type { StepPorts } from '../engine/ports.js';
import { errorText } from '../troubleshooting/troubleshooting-support.js';

/** How many violations are read: the runbook's query asks for 10; patterns need more to be patterns. */
export const VIOLATIONS_READ = 100;
const LOG_LINES = 100;
const PATTERNS_SHOWN = 5;

export interface PatternCount {
  key: string;
  count: number;
}

export interface ViolationPatterns {
  total: number;
  newest: string | null;
  oldest: string | null;
  byAgent: PatternCount[];
  byAction: PatternCount[];
  byPrinciple: PatternCount[];
}

export interface ViolationDetails {
  patterns: ViolationPatterns | null;
  /** The Policy Engine's counters and modes. */
  engine: { violationsTotal: number; violationsPerMinute: number; strict: boolean; lockdown: boolean } | null;
  /** Change proposals waiting for a person, by agent. */
  pendingReviews: { id: string; agent: string; priority: string; change: string }[] | null;
  /** The Policy Engine's log lines mentioning a violation, newest last. */
  logLines: string[] | null;
  /** Each source that could not be read, and why. */
  unread: Record<string, string>;
}

interface ViolationData {
  action?: unknown;
  violations?: { principle?: unknown; code?: unknown }[];
}

function counted(keys: readonly string[]): PatternCount[] {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return [...counts].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}

/** The patterns of a set of violation events: who, doing what, against which principle. Pure. */
export function violationPatterns(events: readonly AuditEvent[]): ViolationPatterns {
  const times = events.map((event) => event.occurred_at).sort();
  const dataOf = (event: AuditEvent) => (event.data ?? {}) as ViolationData;
  return {
    total: events.length,
    newest: times.at(-1) ?? null,
    oldest: times[0] ?? null,
    byAgent: counted(events.map((event) => event.agent_id ?? 'unknown agent')),
    byAction: counted(events.map((event) => (typeof dataOf(event).action === 'string' ? (dataOf(event).action as string) : 'unknown action'))),
    byPrinciple: counted(
      events.flatMap((event) => {
        const listed = Array.isArray(dataOf(event).violations) ? dataOf(event).violations! : [];
        const names = listed.map((violation) => (typeof violation?.principle === 'string' ? violation.principle : typeof violation?.code === 'string' ? violation.code : undefined)).filter((name): name is string => name !== undefined);
        return [...new Set(names)];
      }),
    ),
  };
}

const shown = (counts: readonly PatternCount[]) => counts.slice(0, PATTERNS_SHOWN).map((entry) => `${entry.key} ×${entry.count}`).join(', ');

/** One paragraph a person reads first: the numbers, the worst agents and actions, what could not be read. */
export function violationSummary(details: ViolationDetails): string {
  const parts: string[] = [];
  const { patterns, engine } = details;
  if (patterns) {
    parts.push(
      patterns.total === 0
        ? 'The Audit Engine holds no safety violation.'
        : `${patterns.total} recent safety violation${patterns.total === 1 ? '' : 's'} (${patterns.oldest} to ${patterns.newest}); by agent: ${shown(patterns.byAgent)}; by action: ${shown(patterns.byAction)}${patterns.byPrinciple.length > 0 ? `; by principle: ${shown(patterns.byPrinciple)}` : ''}.`,
    );
  }
  if (engine) parts.push(`Policy Engine: ${engine.violationsTotal} violations in all, ${engine.violationsPerMinute} in the last minute; strict mode ${engine.strict ? 'on' : 'off'}, lockdown ${engine.lockdown ? 'on' : 'off'}.`);
  if (details.pendingReviews) parts.push(`${details.pendingReviews.length} change proposal${details.pendingReviews.length === 1 ? '' : 's'} waiting for human review.`);
  if (details.logLines) parts.push(`${details.logLines.length} Policy Engine log line${details.logLines.length === 1 ? '' : 's'} mention a violation.`);
  const unread = Object.entries(details.unread);
  if (unread.length > 0) parts.push(`Not read: ${unread.map(([source, why]) => `${source} (${why})`).join('; ')}.`);
  return parts.join(' ');
}

async function settle<T>(what: string, unread: Record<string, string>, read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (error) {
    unread[what] = errorText(error).replace(/\.$/, '');
    return null;
  }
}

/** Reads every source at once; throws only when none could be read (then there is nothing to show). */
export async function gatherViolationDetails(ports: StepPorts, signal: AbortSignal): Promise<ViolationDetails> {
  const commands = ports.commands;
  if (!commands?.endpoints) throw new Error('this process has no service clients, so no violation can be read; the bot hands them to the runbook engine (bot/main.ts)');
  const services = commands as CommandDependencies;
  const unread: Record<string, string> = {};
  const [patterns, engine, pendingReviews, logLines] = await Promise.all([
    settle('Audit Engine violations', unread, async () => {
      const page = await callServiceClient('audit-engine', services, () => services.auditEngine.listEvents({ event_type: 'safety_violation', limit: VIOLATIONS_READ }));
      return violationPatterns(page.events);
    }),
    settle('Policy Engine metrics', unread, async () => {
      const metrics = await callServiceClient('policy-engine', services, () => services.policyEngine.metrics());
      return { violationsTotal: metrics.safety_violations_total, violationsPerMinute: metrics.safety_violations_per_minute, strict: metrics.mode.strict, lockdown: metrics.mode.lockdown };
    }),
    settle('Evolution Oversight reviews', unread, async () => {
      const list = await callServiceClient('evolution-oversight', services, () => services.evolutionOversight.list({ status: 'human_review', limit: 50 }));
      return list.evolutions.map((evolution) => ({ id: evolution.id, agent: evolution.agent_id, priority: evolution.priority, change: evolution.change_description.slice(0, 120) }));
    }),
    settle('Policy Engine logs', unread, async () => {
      if (!services.stack) throw new Error(services.stackProblem ?? 'no Stack port to read logs through');
      const logs = await services.stack.logs('policy-engine', { tail: LOG_LINES, grep: 'violation' });
      signal.throwIfAborted();
      return logs.lines.map((line) => line.text);
    }),
  ]);
  if (!patterns && !engine && !pendingReviews && !logLines) throw new Error(`no source of violation details answered: ${Object.entries(unread).map(([source, why]) => `${source}: ${why}`).join('; ')}`);
  return { patterns, engine, pendingReviews, logLines, unread };
}
