/**
 * `incident resolve` and `incident close`: declared -> resolved -> closed, each once. A second
 * resolve or close says who did it and when; a close before the resolution is refused.
 */
import { formatInZone } from './alert-times.js';
import { defineCommand } from './command.js';
import { incidentFor, incidentRefused, incidentWords, rawLine, requireIncidents } from './incident-access.js';
import { incidentDocument } from './incident-documents.js';
import { clip } from './format.js';
import { z } from 'zod';

const keyOnly = (name: string) =>
  rawLine.transform(({ line }, context) => {
    const words = incidentWords(line);
    if (words.words.length > 0) {
      context.addIssue({ code: 'custom', message: `\`${name}\` takes only the incident's key (INC-n); unexpected ${words.words.map((word) => `\`${clip(word, 30)}\``).join(' ')}` });
      return z.NEVER;
    }
    return words.key ? { key: words.key } : {};
  });

export const incidentResolve = defineCommand({
  name: 'incident resolve',
  summary: 'Mark an incident resolved (the impact is over); its resolution time is measured to now',
  usage: '[INC-n]',
  examples: ['incident resolve INC-3', 'incident resolve'],
  level: 1,
  rawArguments: true,
  args: keyOnly('incident resolve'),
  async run(context, { key }) {
    const port = requireIncidents(context);
    const incident = await incidentFor(context, port, key, 'incident resolve <INC-n>');
    const { incident: now, changed } = await port.resolve(incident.key, context.actor.id, new Date()).catch(incidentRefused);
    const when = now.resolvedAt ? formatInZone(now.resolvedAt, port.timezone) : 'an unknown time';
    return incidentDocument(now, {
      title: changed ? `${now.key} resolved` : `${now.key} was resolved already`,
      summary: changed
        ? `${context.actor.id} resolved ${now.key}. Close it with \`incident close ${now.key}\` once the review is done.`
        : `${now.key} was resolved already, by ${now.resolvedBy ?? 'someone'} at ${when}; nothing changed.`,
      changed,
      timeZone: port.timezone,
      people: [context.actor.id],
    });
  },
});

export const incidentClose = defineCommand({
  name: 'incident close',
  summary: 'Close a resolved incident: nothing more changes in it, its action items are tracked on',
  usage: '[INC-n]',
  examples: ['incident close INC-3'],
  level: 1,
  rawArguments: true,
  args: keyOnly('incident close'),
  async run(context, { key }) {
    const port = requireIncidents(context);
    const incident = await incidentFor(context, port, key, 'incident close <INC-n>');
    const { incident: now, changed } = await port.close(incident.key, context.actor.id, new Date()).catch(incidentRefused);
    if (changed) await port.closed?.(now);
    const when = now.closedAt ? formatInZone(now.closedAt, port.timezone) : 'an unknown time';
    return incidentDocument(now, {
      title: changed ? `${now.key} closed` : `${now.key} was closed already`,
      summary: changed ? `${context.actor.id} closed ${now.key}. Its review: \`incident review ${now.key}\`; its action items: \`incident actions ${now.key}\`.` : `${now.key} was closed already, by ${now.closedBy ?? 'someone'} at ${when}; nothing changed.`,
      changed,
      timeZone: port.timezone,
      people: [context.actor.id],
    });
  },
});
