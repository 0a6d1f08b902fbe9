/**
 * An incident's action items: `incident actions [INC-n]` lists them with their numbers;
 * `incident action add [INC-n] [@owner] <text>`, `incident action done|drop|reopen [INC-n] <#>`
 * track them, after the close too (they come out of the review).
 */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { clip } from './format.js';
import { incidentFor, incidentRefused, incidentWords, personOf, rawLine, requireIncidents } from './incident-access.js';
import { actionItemsDocument } from './incident-documents.js';
import type { IncidentActionItemInfo } from './ports.js';

const MAX_TEXT = 4000;
const VERBS = { add: undefined, done: 'done', drop: 'dropped', reopen: 'open' } as const;
type Verb = keyof typeof VERBS;

export const incidentActions = defineCommand({
  name: 'incident actions',
  summary: "List an incident's action items with their numbers, owners and states",
  usage: '[INC-n]',
  examples: ['incident actions INC-3'],
  level: 'read',
  rawArguments: true,
  args: rawLine.transform(({ line }, context) => {
    const words = incidentWords(line);
    if (words.words.length > 0) {
      context.addIssue({ code: 'custom', message: `\`incident actions\` takes only the incident's key (INC-n); unexpected \`${clip(words.words[0]!, 30)}\`` });
      return z.NEVER;
    }
    return words.key ? { key: words.key } : {};
  }),
  async run(context, { key }) {
    const port = requireIncidents(context);
    const incident = await incidentFor(context, port, key, 'incident actions <INC-n>');
    return actionItemsDocument(incident, await port.actionItems(incident.key).catch(incidentRefused), port.timezone);
  },
});

interface ActionArguments {
  verb: Verb;
  key?: string;
  /** add: the item's text and its owner (the person who adds it when none is mentioned). */
  text?: string;
  owner?: string;
  /** done, drop, reopen: the item's number. */
  item?: string;
}

const actionArguments = rawLine.transform(({ line }, context): ActionArguments => {
  const fail = (message: string) => {
    context.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  const verb = line.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  if (!(verb in VERBS)) return fail(`say what to do: \`add\`, \`done\`, \`drop\` or \`reopen\`${verb ? ` (got \`${clip(verb, 20)}\`)` : ''}`);
  const words = incidentWords(line.trim().replace(/^\S+/, ''));
  const key = words.key ? { key: words.key } : {};
  if (verb === 'add') {
    const mentioned = words.words[0]?.startsWith('<@') || words.words[0]?.startsWith('@') ? personOf(words.words[0], 'owner') : undefined;
    if (mentioned !== undefined && typeof mentioned !== 'string') return fail(mentioned.problem);
    const text = words.rest(mentioned ? 1 : 0);
    if (text === '') return fail('say what is to be done, for example `incident action add INC-3 <@U0ALICE> Alert on p99 before p95`');
    if (text.length > MAX_TEXT) return fail(`an action item may be at most ${MAX_TEXT} characters (it has ${text.length})`);
    return { verb: 'add', ...key, text, ...(mentioned ? { owner: mentioned } : {}) };
  }
  const item = words.words[0]?.replace(/^#/, '');
  if (!item || !/^[1-9][0-9]{0,17}$/.test(item)) return fail(`name the item by its number, as \`incident actions\` shows it${item ? ` (got \`${clip(item, 20)}\`)` : ''}`);
  if (words.words.length > 1) return fail(`unexpected \`${clip(words.words[1]!, 30)}\` after the item's number`);
  return { verb: verb as Verb, ...key, item };
});

export const incidentAction = defineCommand({
  name: 'incident action',
  summary: "Add an action item to an incident (owner: you unless you mention someone), or mark one done, dropped or open again",
  usage: 'add [INC-n] [@owner] <text...> | done|drop|reopen [INC-n] <item#>',
  examples: ['incident action add INC-3 <@U0ALICE> Alert on p99 before p95', 'incident action done INC-3 2'],
  level: 1,
  rawArguments: true,
  args: actionArguments,
  async run(context, args) {
    const port = requireIncidents(context);
    const incident = await incidentFor(context, port, args.key, `incident action ${args.verb} <INC-n> ${args.verb === 'add' ? '<text>' : '<item#>'}`);
    const at = new Date();
    let changed: IncidentActionItemInfo;
    if (args.verb === 'add') {
      changed = await port
        .addActionItem(incident.key, { text: args.text!, owner: args.owner ?? context.actor.id, by: context.actor.id, at, ...(context.requestId ? { requestKey: context.requestId } : {}) })
        .catch(incidentRefused);
    } else {
      changed = await port.setActionItemState(incident.key, args.item!, VERBS[args.verb]!, context.actor.id, at).catch(incidentRefused);
    }
    const document = actionItemsDocument(incident, await port.actionItems(incident.key), port.timezone);
    const did = args.verb === 'add' ? `added item ${changed.id} for ${changed.owner}` : `marked item ${changed.id} ${changed.state}`;
    return { ...document, title: `${incident.key}: action item ${changed.id} ${args.verb === 'add' ? 'added' : changed.state}`, summary: `${context.actor.id} ${did}. ${document.summary}`, people: [...new Set([...(document.people ?? []), context.actor.id])] };
  },
});
