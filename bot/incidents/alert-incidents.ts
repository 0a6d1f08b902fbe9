/**
 * An incident declared for an escalated alert: by Level 3 itself (the escalation's `openIncident`)
 * or by a person's "Declare incident" button. Either way it is the typed command
 * `incident declare <sev> --type <type> <title>` run through the command path, so the policy and
 * the audit trail see it as they see a typed one, and the alert goes on the incident's timeline.
 *
 * One incident per alert episode: the declaration's request id names the episode (the alert and
 * when it fired), so two replicas, a redelivery, Level 3 and a later click all land on the first
 * one declared (bot/incidents' request keys).
 */
import type { Actor } from '../../commands/command.js';
import type { IncidentInfo } from '../../commands/ports.js';
import { executeCommandLine, type ExecutionDeps, type ExecutionOutcome, type ExecutionRequest } from '../command-path/index.js';
import type { Severity } from './incident-input.js';
import { MAX_TITLE_LENGTH } from './incident-input.js';
import type { IncidentStore } from './incident-store.js';

/**
 * The runbook's levels as severities: Level 4 (emergency response) is a sev1, Level 3 (critical
 * incident) a sev2, Level 2 (human intervention required) a sev3. People change it with
 * `incident severity` when they know more.
 */
export const SEVERITY_OF_LEVEL: Record<2 | 3 | 4, Severity> = { 2: 'sev3', 3: 'sev2', 4: 'sev1' };

/** What of an alert these need. */
export interface EscalatedAlert {
  id: string;
  rule: string;
  labels: Readonly<Record<string, string>>;
  firedAt: Date;
}

/** The request id of an alert episode's declaration: the same for every replica and every click. */
export const alertIncidentRequestId = (alert: Pick<EscalatedAlert, 'id' | 'firedAt'>) => `alert-incident:${alert.id}:${alert.firedAt.getTime()}`;

/**
 * `Alert 12 HighLatency on policy-engine`. Labels come from Alertmanager, so only plain words are
 * kept: a quote would end the line's token early and a leading `--` would read as an option.
 */
export function alertIncidentTitle(alert: Pick<EscalatedAlert, 'id' | 'rule' | 'labels'>): string {
  const service = alert.labels.service ?? alert.labels.job;
  const plain = (text: string) => text.replace(/[^A-Za-z0-9 ._:/@-]+/g, ' ').replace(/(^|\s)-+/g, '$1').replace(/\s+/g, ' ').trim();
  const title = `Alert ${alert.id} ${plain(alert.rule) || 'alert'}${service && plain(service) ? ` on ${plain(service)}` : ''}`;
  return title.slice(0, MAX_TITLE_LENGTH).trim();
}

/** The command line an escalated alert's declaration stands for. */
export function alertIncidentLine(alert: EscalatedAlert, level: 2 | 3 | 4, issueType: string): string {
  return `incident declare ${SEVERITY_OF_LEVEL[level]} --type ${issueType} ${alertIncidentTitle(alert)}`;
}

/** The incident a declaration's outcome names (a new one, or the episode's earlier one). */
export function declaredIncident(outcome: Pick<ExecutionOutcome, 'document'>): IncidentInfo | undefined {
  const incident = (outcome.document.data as { incident?: IncidentInfo } | undefined)?.incident;
  return incident && typeof incident.key === 'string' ? incident : undefined;
}

/**
 * The alert on the incident's timeline (kind `alert`, at the time it fired, reference
 * `alert:<id>`), once per episode and incident whoever links it.
 */
export async function putAlertOnTimeline(store: Pick<IncidentStore, 'addToTimeline'>, incidentKey: string, alert: EscalatedAlert, by: string, level?: 2 | 3 | 4): Promise<void> {
  const service = alert.labels.service ?? alert.labels.job;
  const text = `alert ${alert.id} ${alert.rule}${service ? ` on ${service}` : ''} fired${level ? `; it reached Level ${level}` : ''}`;
  await store.addToTimeline(
    incidentKey,
    { kind: 'alert', occurredAt: alert.firedAt, actor: by, text: text.slice(0, 4000), reference: `alert:${alert.id}`, requestKey: `alert:${alert.id}:${alert.firedAt.getTime()}` },
    new Date(),
  );
}

export interface EscalationIncidentOptions {
  execution: ExecutionDeps;
  incidents: Pick<IncidentStore, 'addToTimeline'>;
  /** Who declares: the escalation's own actor (bot/alerts/escalation.ts), allowed `incident declare` and little else. */
  actor: Actor;
  /** Where the escalation posts; the command runs there (an incident without a channel of its own falls back to it). */
  channel: string;
}

/**
 * Level 3's `openIncident`: declares the episode's incident as the escalation actor and links the
 * alert. Throws (a sentence) when the command path did not declare it, so the level's message
 * says how to declare one by hand.
 */
export function escalationIncidentOpener(options: EscalationIncidentOptions): (notice: { alert: EscalatedAlert; level: 2 | 3 | 4; issueType: string }) => Promise<IncidentInfo> {
  return async ({ alert, level, issueType }) => {
    const request: ExecutionRequest = { line: alertIncidentLine(alert, level, issueType), actor: options.actor, origin: 'alert', channelId: options.channel, requestId: alertIncidentRequestId(alert) };
    const outcome = await executeCommandLine(options.execution, request);
    const incident = declaredIncident(outcome);
    if (!incident) throw new Error([outcome.document.title, outcome.document.summary].filter(Boolean).join(': '));
    await putAlertOnTimeline(options.incidents, incident.key, alert, options.actor.id, level);
    return incident;
  };
}
