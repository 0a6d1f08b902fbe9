/**
 * What an incident's briefing knows (incident-briefing.ts), read from the ports the commands read:
 * the health checks `/acgs health` runs, the open alerts of `/acgs alerts`, the deployment records
 * of `/acgs releases` and the command records of `/acgs audit`. Each part is read on its own; one
 * that cannot be read (a port not set up, PostgreSQL away) says why instead of looking empty.
 */
import type { CommandDependencies } from '../../commands/dependencies.js';
import { runHealthChecks } from '../../commands/health.js';
import type { AuditLogRecord, DeploymentKind } from '../../commands/ports.js';
import { ALERT_RULES, isAlertRuleName } from '../alerts/alert-rules.js';
import type { CommandRow, DeploymentRow, HealthRow, IncidentBriefingInput, OpenAlertRow, UnreadPart } from './incident-briefing.js';

/** How far back "recent" deploys and commands go. */
export const RECENT_MS = 24 * 60 * 60_000;
/** Command records asked of the trail: the briefing shows the newest few of them. */
const COMMANDS_ASKED = 20;
/** Deployment records asked per service. */
const DEPLOYS_PER_SERVICE = 5;

const SLACK_USER = /^[UW][A-Z0-9]{2,20}$/;

type Part<T> = Promise<readonly T[] | UnreadPart>;

async function part<T>(read: () => Promise<readonly T[]>): Part<T> {
  try {
    return await read();
  } catch (error) {
    return { problem: (error as Error)?.message ?? String(error) };
  }
}

const missing = (notSetUp: string, problem: string | undefined) => new Error(problem ?? `${notSetUp} in this process`);

export function healthRows(services: CommandDependencies): Part<HealthRow> {
  return part(async () => {
    const checks = await runHealthChecks({ services, signal: AbortSignal.timeout(services.checkTimeoutMs * 2) });
    return checks.map((check) => ({
      service: check.name,
      tone: check.tone,
      detail: [check.status, check.latency_ms === null ? undefined : `${Math.round(check.latency_ms)} ms`, check.detail ?? undefined].filter(Boolean).join(' · '),
    }));
  });
}

export function openAlertRows(services: CommandDependencies): Part<OpenAlertRow> {
  return part(async () => {
    if (!services.alerts) throw missing('alerts are not set up', services.alertsProblem);
    const open = await services.alerts.open();
    return open.map((alert) => ({
      title: `${alert.rule}${alert.service ? ` on ${alert.service}` : ''}${alert.acknowledgedBy ? ' (acknowledged)' : ''}`,
      severity: alert.labels.severity ?? (isAlertRuleName(alert.rule) ? `level ${ALERT_RULES[alert.rule].level}` : 'alert'),
      since: new Date(alert.firedAt),
    }));
  });
}

export function recentDeployRows(services: CommandDependencies, now: Date): Part<DeploymentRow> {
  return part(async () => {
    const deployments = services.deployments;
    if (!deployments) throw missing('deployment records are not set up', services.deploymentsProblem);
    const since = now.getTime() - RECENT_MS;
    const releases = await deployments.releases();
    const histories = await Promise.all(releases.map((release) => deployments.history(release.service, DEPLOYS_PER_SERVICE)));
    return histories
      .flat()
      // The stack's first record says what ran at its start, not that anyone deployed it.
      .filter((record) => record.kind !== 'initial' && Date.parse(record.at) >= since)
      .sort((a, b) => Date.parse(b.at) - Date.parse(a.at))
      .map((record) => ({
        service: record.service,
        version: record.version,
        kind: record.kind satisfies DeploymentKind,
        at: new Date(record.at),
        ...(SLACK_USER.test(record.requestedBy) ? { by: record.requestedBy } : {}),
        outcome: record.outcome,
      }));
  });
}

/**
 * The command with its arguments as the trail keeps them (parsed, not as typed) and as `/acgs
 * audit` shows them: `key=value`, so that the order of the words is never guessed.
 */
export function commandLine(record: Pick<AuditLogRecord, 'command' | 'args'>): string {
  const args = record.args;
  if (!args || typeof args !== 'object' || Array.isArray(args)) return [record.command, typeof args === 'string' ? args : undefined].filter(Boolean).join(' ');
  const words = Object.entries(args as Record<string, unknown>)
    .filter(([, value]) => value !== undefined && value !== null && value !== false)
    .map(([key, value]) => (value === true ? `--${key}` : `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`));
  return [record.command, ...words].join(' ');
}

export function recentCommandRows(services: CommandDependencies, now: Date): Part<CommandRow> {
  return part(async () => {
    if (!services.trail) throw missing("the bot's audit trail is not set up", services.trailProblem);
    const page = await services.trail.query({ kind: 'command', since: new Date(now.getTime() - RECENT_MS), limit: COMMANDS_ASKED });
    return page.records
      .filter((record) => record.command && record.actor)
      .map((record) => ({
        line: commandLine(record),
        actor: record.actor!,
        at: new Date(record.at),
        ...(record.decision && record.decision !== 'allow' ? { outcome: record.decision.replace(/_/g, ' ') } : {}),
      }));
  });
}

/** Every part of the briefing but the incident itself, read at once. */
export async function gatherBriefingParts(services: CommandDependencies, now: Date = new Date()): Promise<Omit<IncidentBriefingInput, 'incident'>> {
  const [health, openAlerts, recentDeploys, recentCommands] = await Promise.all([healthRows(services), openAlertRows(services), recentDeployRows(services, now), recentCommandRows(services, now)]);
  return { health, openAlerts, recentDeploys, recentCommands };
}
