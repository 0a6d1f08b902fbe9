/**
 * The weekly security report's figures (issue 15, "Reports"): over the last 7 days, the refused
 * commands (by reason and by who), the failed authentication attempts, the break-glass uses, how
 * approvals ended, both audit chains, the safety violations by kind and the changes of strict
 * mode and lockdown. Each part is gathered on its own (report-part.ts): a source that is down
 * makes its part say so and the others still answer. Slack-free, like the daily report.
 */
import type { AuditLogRecord } from '../../commands/ports.js';
import type { AuditEvent } from '../../services/audit-engine/contract.js';
import type { AuditChainStatus } from './daily-report.js';
import { missingParts } from './report-document-kit.js';
import { gatherPart, type ReportPart } from './report-part.js';

export const SECURITY_REPORT_DAYS = 7;
const DAY_MS = 86_400_000;
/** Failed authentication attempts in one day from which the report asks for a human: a few are typos, this many are someone trying. */
export const AUTH_FAILURE_SPIKE_PER_DAY = 10;

/** Records read from a source, and whether the report's reading limit cut them. */
export interface SecurityRecords<T> {
  records: T[];
  cut: boolean;
}

/** Where each part comes from; a source that cannot answer throws, and only its part says so. */
export interface SecurityReportSources {
  /** The bot's trail records of one kind at or after `since` (optionally of one command and the two-word ones under it). */
  trail(query: { kind: string; since: Date; command?: string }): Promise<SecurityRecords<AuditLogRecord>>;
  /** The bot's own trail, verified from its last signed checkpoint. */
  trailChain(): Promise<AuditChainStatus>;
  /** The Audit Engine's chain. */
  auditChain(): Promise<AuditChainStatus>;
  /** The Audit Engine's `safety_violation` events at or after `since`. */
  violations(since: Date): Promise<SecurityRecords<AuditEvent>>;
  /** The Audit Engine's `auth_refused` events at or after `since`: the services' refused tokens, a minute's count each. */
  serviceRefusals(since: Date): Promise<SecurityRecords<AuditEvent>>;
}

export interface Tally {
  name: string;
  count: number;
}

export interface DayCount {
  /** The day's start (UTC, ISO 8601). */
  day: string;
  count: number;
}

export interface RefusedCommands {
  total: number;
  by_reason: Tally[];
  by_actor: Tally[];
  per_day: DayCount[];
  cut: boolean;
}

export interface FailedAuthentications {
  total: number;
  /** slack-signature, slack-timestamp, alert-webhook, console ... */
  by_source: Tally[];
  per_day: DayCount[];
  /** The days over AUTH_FAILURE_SPIKE_PER_DAY. */
  spikes: DayCount[];
  cut: boolean;
}

export interface BreakGlassUse {
  at: string;
  actor: string | null;
  command: string | null;
  reason: string | null;
}

export interface ApprovalOutcomes {
  /** approved, denied, expired, cancelled, superseded: each request's end once. */
  by_outcome: Tally[];
  cut: boolean;
}

export interface ModeChange {
  at: string;
  actor: string | null;
  /** `strict-mode on`, `lockdown (reason)`, `lockdown lift`. */
  change: string;
  outcome: string | null;
}

export interface ViolationKinds {
  total: number;
  by_kind: Tally[];
  cut: boolean;
}

export interface SecurityReport {
  from: string;
  to: string;
  /** A broken chain, a break-glass use, a spike of failed authentication, and every part that could not be gathered. */
  needs_a_human: string[];
  refused: ReportPart<RefusedCommands>;
  failed_authentication: ReportPart<FailedAuthentications>;
  /** The services' refused service and admin tokens (services/kit/auth-refusals.ts); `by_source` is `<service> <token> token`. */
  service_refusals: ReportPart<FailedAuthentications>;
  break_glass: ReportPart<{ uses: BreakGlassUse[]; cut: boolean }>;
  approvals: ReportPart<ApprovalOutcomes>;
  audit_engine_chain: ReportPart<AuditChainStatus>;
  bot_trail_chain: ReportPart<AuditChainStatus>;
  violations: ReportPart<ViolationKinds>;
  mode_changes: ReportPart<{ changes: ModeChange[]; cut: boolean }>;
}

/** The kind of trail record a failed authentication attempt is (bot/audit-trail/trail-record.ts). */
export const AUTH_FAILURE_KIND = 'auth_failure';

export async function gatherSecurityReport(sources: SecurityReportSources, now: Date = new Date()): Promise<SecurityReport> {
  const from = new Date(now.getTime() - SECURITY_REPORT_DAYS * DAY_MS);
  const days = weekDays(from, now);
  const [refused, failed, breakGlass, approvals, auditChain, trailChain, violations, strictMode, lockdown, serviceRefusals] = await Promise.all([
    gatherPart('audit trail', async () => refusedCommands(await sources.trail({ kind: 'command', since: from }), days)),
    gatherPart('audit trail', async () => failedAuthentications(await sources.trail({ kind: AUTH_FAILURE_KIND, since: from }), days)),
    gatherPart('audit trail', async () => {
      const read = await sources.trail({ kind: 'break_glass', since: from });
      return { uses: read.records.map(breakGlassUse).reverse(), cut: read.cut };
    }),
    gatherPart('audit trail', async () => approvalOutcomes(await sources.trail({ kind: 'approval_resolved', since: from }))),
    gatherPart('audit chain', () => sources.auditChain()),
    gatherPart("bot's audit trail chain", () => sources.trailChain()),
    gatherPart('safety violations', async () => violationKinds(await sources.violations(from))),
    gatherPart('audit trail', () => sources.trail({ kind: 'result', since: from, command: 'strict-mode' })),
    gatherPart('audit trail', () => sources.trail({ kind: 'result', since: from, command: 'lockdown' })),
    gatherPart("services' refused tokens", async () => refusedTokens(await sources.serviceRefusals(from), days)),
  ]);
  const modeChanges: ReportPart<{ changes: ModeChange[]; cut: boolean }> =
    strictMode.state === 'missing' ? strictMode : lockdown.state === 'missing' ? lockdown : { state: 'ok', value: modeChangesOf([...strictMode.value.records, ...lockdown.value.records], strictMode.value.cut || lockdown.value.cut) };
  const report: SecurityReport = {
    from: from.toISOString(),
    to: now.toISOString(),
    needs_a_human: [],
    refused,
    failed_authentication: failed,
    service_refusals: serviceRefusals,
    break_glass: breakGlass,
    approvals,
    audit_engine_chain: auditChain,
    bot_trail_chain: trailChain,
    violations,
    mode_changes: modeChanges,
  };
  report.needs_a_human = needsAHuman(report);
  return report;
}

/** The seven days of the report, each a UTC day's start; the first is the day `from` falls in. */
function weekDays(from: Date, to: Date): string[] {
  const days: string[] = [];
  for (let day = Math.floor(from.getTime() / DAY_MS) * DAY_MS; day <= to.getTime(); day += DAY_MS) days.push(new Date(day).toISOString());
  return days;
}

/** `weights[i]`: how many the i-th time stands for (1 when absent). */
function perDay(times: readonly string[], days: readonly string[], weights?: readonly number[]): DayCount[] {
  const counts = new Map(days.map((day) => [day, 0]));
  times.forEach((at, index) => {
    const day = new Date(Math.floor(new Date(at).getTime() / DAY_MS) * DAY_MS).toISOString();
    if (counts.has(day)) counts.set(day, counts.get(day)! + (weights?.[index] ?? 1));
  });
  return [...counts].map(([day, count]) => ({ day, count }));
}

/** Most first, then by name: the same week reads the same way twice. */
function tally(names: readonly string[], weights?: readonly number[]): Tally[] {
  const counts = new Map<string, number>();
  names.forEach((name, index) => counts.set(name, (counts.get(name) ?? 0) + (weights?.[index] ?? 1)));
  return [...counts].map(([name, count]) => ({ name, count })).sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
}

const detail = (record: AuditLogRecord, key: string): string | undefined => {
  const value = record.details?.[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

function refusedCommands(read: SecurityRecords<AuditLogRecord>, days: readonly string[]): RefusedCommands {
  const refused = read.records.filter((record) => record.decision === 'deny');
  return {
    total: refused.length,
    // The policy's code groups the same refusal whatever its sentence names (a command, a role).
    by_reason: tally(refused.map((record) => detail(record, 'code') ?? detail(record, 'reason') ?? 'no reason recorded')),
    by_actor: tally(refused.map((record) => record.actor ?? 'unknown')),
    per_day: perDay(refused.map((record) => record.at), days),
    cut: read.cut,
  };
}

function failedAuthentications(read: SecurityRecords<AuditLogRecord>, days: readonly string[]): FailedAuthentications {
  // One record stands for `count` attempts when a flood was throttled (bot/audit-trail/auth-failures.ts).
  const attempts = (record: AuditLogRecord) => {
    const count = record.details?.count;
    return typeof count === 'number' && Number.isInteger(count) && count > 1 ? count : 1;
  };
  const counts = perDay(read.records.map((record) => record.at), days, read.records.map(attempts));
  return {
    total: read.records.reduce((sum, record) => sum + attempts(record), 0),
    by_source: tally(read.records.map((record) => detail(record, 'source') ?? 'unknown'), read.records.map(attempts)),
    per_day: counts,
    spikes: counts.filter((day) => day.count >= AUTH_FAILURE_SPIKE_PER_DAY),
    cut: read.cut,
  };
}

function refusedTokens(read: SecurityRecords<AuditEvent>, days: readonly string[]): FailedAuthentications {
  // One event is a minute's refusals of one token on one route; `count` says how many.
  const attempts = read.records.map((event) => {
    const count = (event.data as { count?: unknown } | undefined)?.count;
    return typeof count === 'number' && Number.isInteger(count) && count > 0 ? count : 1;
  });
  const names = read.records.map((event) => {
    const data = (event.data ?? {}) as { service?: unknown; token?: unknown };
    const service = typeof data.service === 'string' ? data.service : (event.source ?? 'unknown service');
    return `${service} ${typeof data.token === 'string' ? data.token : 'unknown'} token`;
  });
  const counts = perDay(read.records.map((event) => event.occurred_at), days, attempts);
  return {
    total: attempts.reduce((sum, count) => sum + count, 0),
    by_source: tally(names, attempts),
    per_day: counts,
    spikes: counts.filter((day) => day.count >= AUTH_FAILURE_SPIKE_PER_DAY),
    cut: read.cut,
  };
}

function breakGlassUse(record: AuditLogRecord): BreakGlassUse {
  return { at: record.at, actor: record.actor, command: record.command, reason: detail(record, 'reason') ?? null };
}

function approvalOutcomes(read: SecurityRecords<AuditLogRecord>): ApprovalOutcomes {
  // A request is resolved once, but a superseded one may later have been recorded again: count each request's newest end.
  const ends = new Map<string, string>();
  for (const record of read.records) {
    const request = detail(record, 'request_id') ?? `#${record.sequence}`;
    if (!ends.has(request)) ends.set(request, record.outcome ?? 'unknown');
  }
  return { by_outcome: tally([...ends.values()]), cut: read.cut };
}

function modeChangesOf(records: readonly AuditLogRecord[], cut: boolean): { changes: ModeChange[]; cut: boolean } {
  const changes = records
    // A refused or failed attempt changed nothing; the refusal is counted with the refused commands.
    .filter((record) => record.outcome === 'ok' || record.outcome === 'warn')
    .map((record) => ({ at: record.at, actor: record.actor, change: describeChange(record), outcome: record.outcome }))
    .sort((a, b) => a.at.localeCompare(b.at));
  return { changes, cut };
}

function describeChange(record: AuditLogRecord): string {
  // strict-mode's `on|off`, lockdown's reason (commands/policy-modes.ts).
  const args = (record.args ?? {}) as { state?: unknown; line?: unknown };
  const setting = typeof args.state === 'string' ? args.state : typeof args.line === 'string' && args.line !== '' ? `(${args.line})` : undefined;
  return [record.command ?? 'unknown', setting].filter(Boolean).join(' ');
}

function violationKinds(read: SecurityRecords<AuditEvent>): ViolationKinds {
  const kinds = read.records.flatMap((event) => {
    const data = (event.data ?? {}) as { violations?: Array<{ code?: unknown; principle?: unknown }> };
    const codes = (Array.isArray(data.violations) ? data.violations : []).map((violation) =>
      typeof violation?.code === 'string' ? violation.code : typeof violation?.principle === 'string' ? violation.principle : undefined,
    );
    const named = codes.filter((code): code is string => code !== undefined);
    return named.length > 0 ? [...new Set(named)] : ['unnamed'];
  });
  return { total: read.records.length, by_kind: tally(kinds), cut: read.cut };
}

function needsAHuman(report: SecurityReport): string[] {
  const needs = missingParts([report.refused, report.failed_authentication, report.break_glass, report.approvals, report.audit_engine_chain, report.bot_trail_chain, report.violations, report.service_refusals, report.mode_changes]);
  if (report.audit_engine_chain.state === 'ok' && !report.audit_engine_chain.value.valid) needs.push(`Audit Engine chain broken: ${report.audit_engine_chain.value.detail}`);
  if (report.bot_trail_chain.state === 'ok' && !report.bot_trail_chain.value.valid) needs.push(`the bot's audit trail is broken: ${report.bot_trail_chain.value.detail}`);
  if (report.break_glass.state === 'ok') {
    for (const use of report.break_glass.value.uses) needs.push(`break-glass by ${use.actor ?? 'unknown'} at ${use.at}: ${use.command ?? 'unknown command'}${use.reason ? ` ("${use.reason}")` : ''}: review it`);
  }
  if (report.failed_authentication.state === 'ok') {
    for (const spike of report.failed_authentication.value.spikes) needs.push(`${spike.count} failed authentication attempts on ${spike.day.slice(0, 10)} (${AUTH_FAILURE_SPIKE_PER_DAY} or more in a day)`);
  }
  if (report.service_refusals.state === 'ok') {
    for (const spike of report.service_refusals.value.spikes) needs.push(`${spike.count} requests with a wrong or missing service or admin token on ${spike.day.slice(0, 10)} (${AUTH_FAILURE_SPIKE_PER_DAY} or more in a day)`);
  }
  return needs;
}
