/**
 * Changes to a running incident, each recorded with who and when on its timeline:
 * `incident update` (a status update), `incident note` (a timeline entry), `incident commander`
 * and `incident role` (hand a role over), `incident severity` and `incident type`. Each takes the
 * incident's key first, or finds it from the channel (commands/incident-access.ts).
 */
import { z } from 'zod';
import { closestChoice } from './arguments.js';
import { defineCommand, type CommandContext } from './command.js';
import { clip } from './format.js';
import { incidentFor, incidentRefused, incidentWords, personOf, rawLine, requireIncidents } from './incident-access.js';
import { incidentDocument } from './incident-documents.js';
import { INCIDENT_SEVERITIES, INCIDENT_TYPES, type IncidentChange, type IncidentInfo } from './ports.js';
import type { ResultDocument } from './result.js';

/** Slack's limit on a message's text: an update is posted as one. */
const MAX_TEXT = 4000;

type Fail = (message: string) => never;
/** A raw line parsed by `parse` into arguments, with its first problem as the message. */
const lineArguments = <T>(parse: (words: ReturnType<typeof incidentWords>, fail: Fail) => T) =>
  rawLine.transform(({ line }, context) => {
    const problem = Symbol('problem');
    const fail: Fail = (message) => {
      context.addIssue({ code: 'custom', message });
      throw problem;
    };
    try {
      return parse(incidentWords(line), fail);
    } catch (error) {
      if (error === problem) return z.NEVER;
      throw error;
    }
  });

const textArguments = (what: string) =>
  lineArguments((words, fail) => {
    const text = words.rest();
    if (text === '') return fail(`say what the ${what} is`);
    if (text.length > MAX_TEXT) return fail(`the ${what} may be at most ${MAX_TEXT} characters (it has ${text.length})`);
    return { ...(words.key ? { key: words.key } : {}), text };
  });

const choice = (what: string, typed: string | undefined, values: readonly string[], fail: Fail): string => {
  if (!typed) return fail(`name the ${what}: one of ${values.join(', ')}`);
  const normal = typed.toLowerCase();
  if (values.includes(normal)) return normal;
  const guess = closestChoice(normal, values);
  return fail(`\`${clip(typed, 30)}\` is not ${what === 'severity' ? 'a severity' : `an ${what}`}${guess ? `; did you mean \`${guess}\`?` : '.'} Known: ${values.join(', ')}`);
};

const onlyOne = (words: ReturnType<typeof incidentWords>, count: number, fail: Fail) => {
  if (words.words.length > count) fail(`unexpected ${words.words.slice(count).map((word) => `\`${clip(word, 30)}\``).join(' ')}`);
};

/** The incident the line means, changed by `change`, answered with `describe`'s words. */
async function changeIncident(
  context: CommandContext,
  key: string | undefined,
  example: string,
  change: (incident: IncidentInfo, at: Date) => Promise<IncidentChange>,
  describe: (outcome: IncidentChange, before: IncidentInfo) => { title: string; summary: string; people?: string[] },
): Promise<ResultDocument> {
  const port = requireIncidents(context);
  const incident = await incidentFor(context, port, key, example);
  const outcome = await change(incident, new Date()).catch(incidentRefused);
  const words = describe(outcome, incident);
  return incidentDocument(outcome.incident, { ...words, changed: outcome.changed, timeZone: port.timezone });
}

export const incidentUpdate = defineCommand({
  name: 'incident update',
  summary: "Post a status update of an incident: it goes on its timeline and restarts the update reminder's clock",
  usage: '[INC-n] <text...>',
  examples: ['incident update INC-3 Mitigated: policy engine scaled to 3 replicas, p99 back under 5 ms', 'incident update Root cause found in the cache warm-up'],
  level: 1,
  rawArguments: true,
  args: textArguments('update'),
  async run(context, { key, text }) {
    const port = requireIncidents(context);
    const incident = await incidentFor(context, port, key, 'incident update <INC-n> <text>');
    const at = new Date();
    const posted = await port.postUpdate(incident.key, { author: context.actor.id, text, at, ...(context.requestId ? { requestKey: context.requestId } : {}) }).catch(incidentRefused);
    if (posted.created) await port.announceUpdate?.(incident, { author: context.actor.id, text, at });
    return incidentDocument(incident, {
      title: `${incident.key}: update posted`,
      summary: posted.created ? `${context.actor.id} posted an update of ${incident.key}: ${text}` : `This update of ${incident.key} was posted already by this same request; nothing new was recorded.`,
      changed: posted.created,
      timeZone: port.timezone,
      people: [context.actor.id],
    });
  },
});

export const incidentNote = defineCommand({
  name: 'incident note',
  summary: "Put a note on an incident's timeline, at this time, for its review",
  usage: '[INC-n] <text...>',
  examples: ['incident note INC-3 Saw the cache hit rate drop before the latency rose'],
  level: 1,
  rawArguments: true,
  args: textArguments('note'),
  async run(context, { key, text }) {
    const port = requireIncidents(context);
    const incident = await incidentFor(context, port, key, 'incident note <INC-n> <text>');
    await port.note(incident.key, { actor: context.actor.id, text, at: new Date(), ...(context.requestId ? { requestKey: context.requestId } : {}) }).catch(incidentRefused);
    return incidentDocument(incident, { title: `${incident.key}: note added`, summary: `${context.actor.id} put on ${incident.key}'s timeline: ${text}`, changed: true, timeZone: port.timezone, people: [context.actor.id] });
  },
});

const roleWords = (role: string, outcome: IncidentChange, before: IncidentInfo, by: string, holder: string) => {
  const previous = before.roles[role as keyof IncidentInfo['roles']];
  return {
    title: outcome.changed ? `${outcome.incident.key}: ${role} handed over` : `${outcome.incident.key}: ${holder} is its ${role} already`,
    summary: outcome.changed ? `${by} made ${holder} the ${role} of ${outcome.incident.key}${previous ? ` (was ${previous})` : ''}.` : `${holder} is the ${role} of ${outcome.incident.key} already; nothing changed.`,
    people: [by, holder, ...(previous ? [previous] : [])],
  };
};

export const incidentCommander = defineCommand({
  name: 'incident commander',
  summary: 'Hand the command of an incident to someone; the handover is recorded',
  usage: '[INC-n] <@user>',
  examples: ['incident commander INC-3 U0ALICE', 'incident commander <@U0BOB>'],
  level: 1,
  rawArguments: true,
  args: lineArguments((words, fail) => {
    const holder = personOf(words.words[0], 'new commander');
    if (typeof holder !== 'string') return fail(holder.problem);
    onlyOne(words, 1, fail);
    return { ...(words.key ? { key: words.key } : {}), holder };
  }),
  run: (context, { key, holder }) =>
    changeIncident(
      context,
      key,
      'incident commander <INC-n> @user',
      (incident, at) => requireIncidents(context).changeRole(incident.key, { role: 'commander', holder, by: context.actor.id, at }),
      (outcome, before) => roleWords('commander', outcome, before, context.actor.id, holder),
    ),
});

const OTHER_ROLES = ['communications', 'scribe'] as const;

export const incidentRole = defineCommand({
  name: 'incident role',
  summary: 'Give someone the communications or scribe role of an incident; the change is recorded',
  usage: '[INC-n] <communications|scribe> <@user>',
  examples: ['incident role INC-3 scribe U0CAROL', 'incident role communications <@U0DAVE>'],
  level: 1,
  rawArguments: true,
  args: lineArguments((words, fail) => {
    const role = choice('incident role', words.words[0], OTHER_ROLES, fail);
    const holder = personOf(words.words[1], role);
    if (typeof holder !== 'string') return fail(holder.problem);
    onlyOne(words, 2, fail);
    return { ...(words.key ? { key: words.key } : {}), role, holder };
  }),
  run: (context, { key, role, holder }) =>
    changeIncident(
      context,
      key,
      `incident role <INC-n> ${role} @user`,
      (incident, at) => requireIncidents(context).changeRole(incident.key, { role, holder, by: context.actor.id, at }),
      (outcome, before) => roleWords(role, outcome, before, context.actor.id, holder),
    ),
});

const fieldCommand = (field: 'severity' | 'type', values: readonly string[]) =>
  defineCommand({
    name: `incident ${field}`,
    summary: field === 'severity' ? 'Change the severity of an incident (sev1 to sev4); the change is recorded' : "Change an incident's type (performance, security, constitutional, infrastructure); the change is recorded",
    usage: `[INC-n] <${values.join('|')}>`,
    examples: field === 'severity' ? ['incident severity INC-3 sev1', 'incident severity sev3'] : ['incident type INC-3 security'],
    level: 1,
    rawArguments: true,
    args: lineArguments((words, fail) => {
      const value = choice(field === 'severity' ? 'severity' : 'incident type', words.words[0], values, fail);
      onlyOne(words, 1, fail);
      return { ...(words.key ? { key: words.key } : {}), value };
    }),
    run: (context, { key, value }) =>
      changeIncident(
        context,
        key,
        `incident ${field} <INC-n> ${value}`,
        (incident, at) => (field === 'severity' ? requireIncidents(context).changeSeverity(incident.key, value, context.actor.id, at) : requireIncidents(context).changeType(incident.key, value, context.actor.id, at)),
        (outcome, before) => ({
          title: outcome.changed ? `${outcome.incident.key}: ${field} ${value}` : `${outcome.incident.key} is ${value} already`,
          summary: outcome.changed ? `${context.actor.id} changed the ${field} of ${outcome.incident.key} from ${before[field]} to ${value}.` : `The ${field} of ${outcome.incident.key} is ${value} already; nothing changed.`,
          people: [context.actor.id],
        }),
      ),
  });

export const incidentSeverity = fieldCommand('severity', INCIDENT_SEVERITIES);
export const incidentType = fieldCommand('type', INCIDENT_TYPES);
