/**
 * `incident declare <sev1..sev4> [--type <type>] <title...>`: records the incident with whoever
 * declared it as its commander, and says where it runs: its own channel when the Slack side can
 * make one (the port's `openChannel`), else channels.ops (else the channel it was declared in),
 * and says so. A request delivered twice declares once.
 */
import { z } from 'zod';
import { closestChoice } from './arguments.js';
import { defineCommand } from './command.js';
import { clip } from './format.js';
import { incidentRefused, rawLine, requireIncidents } from './incident-access.js';
import { incidentDocument } from './incident-documents.js';
import { INCIDENT_SEVERITIES, INCIDENT_TYPES, type IncidentInfo, type Incidents, type IncidentSeverity, type IncidentTypeName } from './ports.js';
import { tokenize } from './registry.js';

/** Read in a channel topic and a list line; longer ones belong in an update (bot/incidents). */
const MAX_TITLE = 150;
const DEFAULT_TYPE: IncidentTypeName = 'infrastructure';

const unknown = (what: string, typed: string, values: readonly string[]) => {
  const guess = closestChoice(typed.toLowerCase(), values);
  return `\`${clip(typed, 30)}\` is not ${what}${guess ? `; did you mean \`${guess}\`?` : '.'} Known: ${values.join(', ')}`;
};

export const declareArguments = rawLine.transform(({ line }, context) => {
  const fail = (message: string) => {
    context.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  const words = tokenize(line);
  let type: string | undefined;
  const rest: string[] = [];
  for (let index = 0; index < words.length; index += 1) {
    const word = words[index]!;
    const flag = /^--type(?:=(.*))?$/i.exec(word);
    if (!flag) {
      if (/^--?\w/.test(word) && rest.length <= 1) return fail(`\`${clip(word, 30)}\` is not an option of \`incident declare\`; it takes \`--type\``);
      rest.push(word);
      continue;
    }
    if (type !== undefined) return fail('give `--type` once');
    type = flag[1] ?? words[(index += 1)];
    if (!type) return fail(`\`--type\` needs one of ${INCIDENT_TYPES.join(', ')}`);
  }
  const [severity, ...title] = rest;
  if (!severity) return fail(`say how severe and what happened, for example \`incident declare sev2 Policy Engine latency above 5 s\``);
  if (!(INCIDENT_SEVERITIES as readonly string[]).includes(severity.toLowerCase())) return fail(unknown('a severity', severity, INCIDENT_SEVERITIES));
  if (type !== undefined && !(INCIDENT_TYPES as readonly string[]).includes(type.toLowerCase())) return fail(unknown('an incident type', type, INCIDENT_TYPES));
  const text = title.join(' ').trim();
  if (text === '') return fail('give the incident a title: what is wrong, as people will read it in the list and the channel');
  if (text.length > MAX_TITLE) return fail(`the title may be at most ${MAX_TITLE} characters (it has ${text.length}); say more in \`incident update\``);
  return { severity: severity.toLowerCase() as IncidentSeverity, type: (type?.toLowerCase() ?? DEFAULT_TYPE) as IncidentTypeName, title: text };
});

/**
 * Where the incident runs, and the sentence saying so: its own channel when the Slack side can make
 * one, else channels.ops, else the channel it was declared in. The emergency runbooks place the
 * incidents they declare the same way (runbooks/emergency/).
 */
export async function placeIncident(port: Incidents, incident: IncidentInfo, declaredIn: string | undefined): Promise<{ incident: IncidentInfo; where: string; notes: string[] }> {
  if (incident.channelId) return { incident, where: `It runs in ${incident.channelId}.`, notes: [] };
  const fallback = port.opsChannel ?? declaredIn;
  let why = 'channels of their own are not set up yet';
  if (port.openChannel) {
    try {
      const opened = await port.openChannel(incident);
      const placed = await port.setChannel(incident.key, opened.channelId);
      const notes = (opened.notInvited ?? []).map((refused) => `${refused.user} could not be invited: ${refused.reason}`);
      return { incident: placed.incident, where: `It runs in its own channel ${opened.name ? `#${opened.name} ` : ''}(${placed.incident.channelId}).`, notes };
    } catch (error) {
      why = `its channel could not be made (${clip((error as Error)?.message ?? String(error), 200)})`;
    }
  }
  if (!fallback) return { incident, where: `It has no channel: ${why}, and the config names no channels.ops.`, notes: [] };
  const placed = await port.setChannel(incident.key, fallback);
  const place = port.opsChannel ? `the ops channel (${fallback})` : `this channel (${fallback}), as the config names no channels.ops`;
  return { incident: placed.incident, where: `It runs in ${place}: ${why}.`, notes: [] };
}

export const incidentDeclare = defineCommand({
  name: 'incident declare',
  summary: 'Declare an incident (sev1 to sev4, optionally its type): you become its commander and it gets its channel',
  usage: '<sev1|sev2|sev3|sev4> [--type performance|security|constitutional|infrastructure] <title...>',
  examples: ['incident declare sev2 Policy Engine p99 latency above 5 s', 'incident declare sev1 --type security Unknown admin token used on the audit engine'],
  level: 1,
  rawArguments: true,
  args: declareArguments,
  async run(context, { severity, type, title }) {
    const port = requireIncidents(context);
    const declared = await port.declare({ title, severity, type, by: context.actor.id, at: new Date(), ...(context.requestId ? { requestKey: context.requestId } : {}) }).catch(incidentRefused);
    const placed = await placeIncident(port, declared.incident, context.channelId);
    const { incident } = placed;
    const summary = declared.created
      ? `${context.actor.id} declared ${incident.key} (${incident.severity}, ${incident.type}) and is its commander. ${placed.where}`
      : `${incident.key} was declared by this same request already; nothing new was recorded. ${placed.where}`;
    return incidentDocument(incident, {
      title: `${incident.key} declared: ${clip(incident.title, 100)}`,
      summary,
      changed: declared.created,
      timeZone: port.timezone,
      footer: [...placed.notes, `Post updates with \`incident update ${incident.key} <text>\`; commands typed in its channel go on its timeline.`].join(' '),
      people: [context.actor.id],
    });
  },
});
