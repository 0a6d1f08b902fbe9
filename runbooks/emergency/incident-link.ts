/**
 * How an emergency runbook works with its incident: it attaches to the one it was started for
 * (`incident=INC-3`) or declares one, and puts each of its steps on that incident's timeline
 * (kind `runbook-step`), keyed by run, step and attempt so that a step run again after a takeover
 * records once per attempt and a redelivered write records once.
 */
import { createHash } from 'node:crypto';
import type { IncidentInfo, Incidents } from '../../commands/ports.js';
import type { StepContext } from '../engine/definition.js';
import type { IncidentResponsePorts, StepPorts } from '../engine/ports.js';

export const INCIDENT_KEY = /^(inc-)?[1-9][0-9]{0,9}$/i;

/** The bot's side, or a sentence saying the process has none (a step without it cannot act). */
export function incidentResponsePorts(ports: StepPorts): IncidentResponsePorts {
  if (!ports.incidentResponse) throw new Error("this process has no incident response ports (the bot's incidents, command path and contacts), so the step cannot act; the bot hands them to the runbook engine (bot/main.ts)");
  return ports.incidentResponse;
}

export function incidentsOf(host: IncidentResponsePorts): Incidents {
  const incidents = host.services()?.incidents;
  if (!incidents) throw new Error("the bot's incidents are not ready (it is still starting, or has no database for them); retry the step");
  return incidents;
}

/** The incident an earlier step attached to or declared: its output's `incident`. */
export function linkedIncident(outputs: Readonly<Record<string, unknown>>, stepId: string): Pick<IncidentInfo, 'key' | 'channelId' | 'title'> {
  const incident = (outputs[stepId] as { incident?: Pick<IncidentInfo, 'key' | 'channelId' | 'title'> } | undefined)?.incident;
  if (!incident?.key) throw new Error(`the output of step "${stepId}" names no incident, so this step has nothing to record on`);
  return incident;
}

/** Records a step's outcome on the incident's timeline; a refusal fails the step, which a retry records again. */
export async function onTimeline<Args>(context: StepContext<Args>, incidentKey: string, step: { id: string; title: string }, summary: string): Promise<void> {
  await incidentResponsePorts(context.ports).timeline(incidentKey, {
    text: `${step.title}: ${summary}`.slice(0, 2000),
    actor: context.requester,
    at: new Date(),
    reference: `run:${context.runId}`,
    requestKey: `run:${context.runId}:${step.id}#${context.attempt}`,
  });
}

/**
 * An id for the approval request a step asks for, the same every time the step runs for this run:
 * asking again with it answers the request already made (a takeover never asks twice).
 */
export function stableRequestId(runId: string, what: string): string {
  const hex = createHash('sha256').update(`${runId}:${what}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}
