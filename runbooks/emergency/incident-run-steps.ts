/**
 * What the emergency runbooks share (issue 16): the incident a run works in (the one named with
 * `incident=INC-n`, else a sev1 of the runbook's type declared in the requester's name), each
 * step's result noted on its timeline, the command path for what the policy decides (a lockdown,
 * a restart) and the config's contacts paged. runbooks/ never imports bot/: all of it comes
 * through StepPorts (`incidents`, `commandLines`, `contactPages`).
 */
import { z } from 'zod';
import type { IncidentInfo, Incidents, IncidentTypeName } from '../../commands/ports.js';
import { placeIncident } from '../../commands/incident-declare.js';
import type { RunbookRefusal, StepContext, StepDefinition } from '../engine/definition.js';
import type { ContactPageOutcome, ContactPages, RunCommandLines, StepPorts } from '../engine/ports.js';
import { errorText, evidenceOf, type Finding } from '../troubleshooting/troubleshooting-support.js';

const INCIDENT_KEY = /^(inc-)?[1-9]\d{0,9}$/i;

export const EmergencyArgs = z
  .object({
    incident: z.string().regex(INCIDENT_KEY, { error: 'incident is an incident key such as INC-3' }).optional(),
    title: z.string().trim().min(3, { error: 'title is at least 3 characters' }).max(200, { error: 'title is at most 200 characters' }).optional(),
  })
  .strict();
export type EmergencyArgs = z.output<typeof EmergencyArgs>;

export const INCIDENT_STEP = 'incident';

/** The incident of a run, as its first incident step found or declared it. */
export interface RunIncident {
  key: string;
  title: string;
  severity: IncidentInfo['severity'];
  type: IncidentTypeName;
  declared: boolean;
}

function incidentsOf(ports: StepPorts): Incidents {
  if (!ports.incidents) throw new Error('this process has no incidents (bot/incidents), so the run has no incident to work in; the bot hands them to the runbook engine (bot/main.ts)');
  return ports.incidents;
}

export function commandLinesOf(ports: StepPorts): RunCommandLines {
  if (!ports.commandLines) throw new Error("this process has no command path for runs, so nothing can be asked of the policy; the bot hands it to the runbook engine (bot/main.ts)");
  return ports.commandLines;
}

function contactPagesOf(ports: StepPorts): ContactPages {
  if (!ports.contactPages) throw new Error("this process cannot page the config's contacts; the bot hands them to the runbook engine (bot/main.ts)");
  return ports.contactPages;
}

const closedSentence = (incident: IncidentInfo) => `${incident.key} is closed: nothing more changes in it, so no runbook runs in it.`;

/** Refuses an incident that is not there or is closed before a run is recorded: nothing runs. */
export async function validateIncident(args: EmergencyArgs, ports: StepPorts): Promise<RunbookRefusal | undefined> {
  if (!ports.incidents) return { message: 'Incidents are not set up in this process, so an emergency runbook has no incident to work in; nothing was run.', hint: 'Run it from the bot (Slack, the console, or `npx acgs` beside `npm start`).' };
  if (!args.incident) return undefined;
  const incident = await ports.incidents.find(args.incident);
  if (!incident) return { message: `There is no incident ${args.incident.toUpperCase()}; nothing was run.`, hint: '`/acgs incidents` lists them; leave `incident=` out to declare a new one.' };
  if (incident.state === 'closed') return { message: `${closedSentence(incident)} Nothing was run.`, hint: 'Leave `incident=` out to declare a new one.' };
  return undefined;
}

export function runIncidentOf(outputs: Readonly<Record<string, unknown>>): RunIncident {
  return evidenceOf<RunIncident>(outputs, INCIDENT_STEP);
}

/**
 * Notes a step's result on the run's incident timeline, once per step attempt (its request key).
 * A note that cannot be written is said in the step's summary, never thrown: what the step did
 * has been done, and failing it would make a retry do it again.
 */
export async function noteOnTimeline(context: StepContext<EmergencyArgs>, runbook: string, stepId: string, text: string): Promise<string | undefined> {
  try {
    const { key } = runIncidentOf(context.outputs);
    await incidentsOf(context.ports).note(key, { actor: context.requester, text: `Runbook ${runbook} (run ${context.runId}), ${stepId}: ${text}`, at: new Date(), requestKey: `run:${context.runId}:${stepId}:${context.attempt}` });
    return undefined;
  } catch (error) {
    return `not on the incident's timeline: ${errorText(error)}`;
  }
}

/** A step whose result (its summary) goes on the incident's timeline as it ends, failed or done. */
export function onTimeline<Evidence>(runbook: string, step: Omit<StepDefinition<EmergencyArgs>, 'run'> & { run(context: StepContext<EmergencyArgs>): Promise<Finding<Evidence>> }): StepDefinition<EmergencyArgs> {
  return {
    ...step,
    async run(context) {
      let finding: Finding<Evidence>;
      try {
        finding = await step.run(context);
      } catch (error) {
        await noteOnTimeline(context, runbook, step.id, `failed: ${errorText(error)}`);
        throw error;
      }
      const problem = await noteOnTimeline(context, runbook, step.id, finding.summary);
      return problem ? { ...finding, summary: `${finding.summary} (${problem})` } : finding;
    },
  };
}

/**
 * The first incident step: joins the incident named (refused when it is closed) or declares a sev1
 * of the runbook's type as the requester. The declaration is keyed by the run, so a takeover that
 * runs the step again finds the same incident.
 */
export function incidentStep(options: { runbook: string; type: IncidentTypeName; defaultTitle: string; startNote?(outputs: Readonly<Record<string, unknown>>): string }): StepDefinition<EmergencyArgs> {
  return {
    id: INCIDENT_STEP,
    kind: 'act',
    title: `Join the incident named, or declare a sev1 ${options.type} incident`,
    timeoutMs: 15_000,
    idempotent: true,
    skippable: false,
    async run(context): Promise<Finding<RunIncident>> {
      const incidents = incidentsOf(context.ports);
      let incident: IncidentInfo;
      let declared = false;
      let where = '';
      if (context.args.incident) {
        const found = await incidents.find(context.args.incident);
        if (!found) throw new Error(`there is no incident ${context.args.incident.toUpperCase()}`);
        if (found.state === 'closed') throw new Error(closedSentence(found));
        incident = found;
      } else {
        const made = await incidents.declare({ title: context.args.title ?? options.defaultTitle, severity: 'sev1', type: options.type, by: context.requester, at: new Date(), requestKey: `run:${context.runId}:declare` });
        // Its own channel, with its people and briefing, as a typed declaration gets (placed once: a retry finds it placed).
        const placed = await placeIncident(incidents, made.incident, undefined);
        incident = placed.incident;
        where = ` ${placed.where}`;
        declared = true;
      }
      const evidence: RunIncident = { key: incident.key, title: incident.title, severity: incident.severity, type: incident.type, declared };
      const summary = declared
        ? `Declared ${incident.key} (${incident.severity}, ${incident.type}): ${incident.title}; every step of this run goes on its timeline.${where}`
        : `Working in ${incident.key} (${incident.severity}, ${incident.type}, ${incident.state}): ${incident.title}; every step of this run goes on its timeline.`;
      const started = `started by ${context.requester}${options.startNote ? `. ${options.startNote(context.outputs)}` : ''}`;
      const problem = await noteOnTimeline({ ...context, outputs: { ...context.outputs, [INCIDENT_STEP]: { evidence } } }, options.runbook, INCIDENT_STEP, started);
      return { summary: problem ? `${summary} (${problem})` : summary, evidence };
    },
    async dryRun(context) {
      if (context.args.incident) return { mode: 'description', text: `Would work in ${context.args.incident.toUpperCase()} and note every step on its timeline`, target: context.args.incident.toUpperCase() };
      return { mode: 'description', text: `Would declare a sev1 ${options.type} incident "${context.args.title ?? options.defaultTitle}" as you, and note every step on its timeline`, target: `new sev1 ${options.type} incident` };
    },
  };
}

export interface PagedContacts {
  paged: ContactPageOutcome[];
  delivered: number;
}

/** Pages the contacts the matrix names for the incident's type; a page not delivered fails the step (retry pages again, with the same delivery id). */
export async function pageContacts(context: StepContext<EmergencyArgs>, who: string, summary: string): Promise<Finding<PagedContacts>> {
  const incident = runIncidentOf(context.outputs);
  const paged = await contactPagesOf(context.ports).page({ incidentKey: incident.key, title: incident.title, severity: incident.severity, type: incident.type, summary, runId: context.runId });
  const delivered = paged.filter((page) => page.delivered).length;
  if (paged.length === 0) {
    return { summary: `No ${who} to page: the config names no contact for ${incident.type} incidents (\`contacts:\` and \`escalation.issue_types.${incident.type}\`); tell them by hand.`, evidence: { paged, delivered } };
  }
  const words = paged.map((page) => `${page.contact} by ${page.channel} (${page.target})${page.delivered ? '' : `: not delivered, ${page.detail ?? 'no reason given'}`}`).join('; ');
  if (delivered < paged.length) throw new Error(`paged ${delivered} of ${paged.length} ${who}: ${words}; retry pages them again (receivers drop a repeated delivery id)`);
  return { summary: `Paged the ${who}: ${words}.`, evidence: { paged, delivered } };
}
