/**
 * What the incident commands share: the Incidents port (or why there is none), its refusals as
 * CommandErrors, the words of a line (an optional INC-n first), and which incident a line means
 * when it names none: the one whose channel it was typed in, else the only open one.
 */
import { z } from 'zod';
import { auditUserArgument } from './audit-documents.js';
import { CommandError, type CommandContext } from './command.js';
import { clip } from './format.js';
import { IncidentRequestError, type IncidentInfo, type Incidents } from './ports.js';
import { tokenize } from './registry.js';

export function requireIncidents(context: CommandContext): Incidents {
  const { incidents, incidentsProblem } = context.services;
  if (!incidents && incidentsProblem) throw new CommandError('The incidents cannot be reached from here.', incidentsProblem, 'unavailable');
  if (!incidents) {
    throw new CommandError(
      'Incidents are not set up in this process.',
      'The bot keeps them in its database (`npm start`, or the bot with DATABASE_URL); ask it from Slack, the console or `npx acgs` with DATABASE_URL.',
      'unavailable',
    );
  }
  return incidents;
}

const HINTS: Record<IncidentRequestError['code'], string | undefined> = {
  'not-found': '`incidents` lists the open and recent incidents with their keys.',
  closed: 'A closed incident keeps its record; its action items can still be tracked with `incident action`.',
  transition: undefined,
  invalid: undefined,
};

/** The store refused before changing anything: its sentence is the answer. */
export function incidentRefused(error: unknown): never {
  if (error instanceof IncidentRequestError) throw new CommandError(capitalize(error.message), HINTS[error.code], error.code === 'invalid' ? 'usage' : 'refused');
  throw error;
}

const capitalize = (text: string) => (text ? `${text[0]!.toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? '' : '.'}` : text);

const KEY = /^inc-([1-9][0-9]{0,17})$/i;

/** `INC-3`, as people read it, when the word is an incident key; undefined otherwise. */
export function incidentKeyOf(word: string | undefined): string | undefined {
  const match = word ? KEY.exec(word.trim()) : null;
  return match ? `INC-${match[1]}` : undefined;
}

/** The words of a raw line with the incident key taken off the front when there is one. */
export interface IncidentWords {
  key?: string;
  words: string[];
  /** The rest of the line after the key (and `skip` more words), as typed: text people read. */
  rest(skip?: number): string;
}

export function incidentWords(line: string): IncidentWords {
  const words = tokenize(line);
  const key = incidentKeyOf(words[0]);
  const after = key ? line.replace(/^\s*\S+/, '') : line;
  return {
    ...(key ? { key } : {}),
    words: key ? words.slice(1) : words,
    rest(skip = 0) {
      let text = after;
      for (let n = 0; n < skip; n += 1) text = text.replace(/^\s*\S+/, '');
      return text.trim();
    },
  };
}

/** The raw line of a command taking free words (`rawArguments`). */
export const rawLine = z.object({ line: z.string() });

/** A person: a mention, a Slack user ID or cli:<user>; the message says what was typed. */
export function personOf(word: string | undefined, what: string): string | { problem: string } {
  if (!word) return { problem: `name the ${what}: a Slack user ID such as U0123ABCD, or a mention <@U0123ABCD>` };
  const parsed = auditUserArgument.safeParse(word);
  return parsed.success ? parsed.data : { problem: `the ${what} ${parsed.error.issues[0]?.message ?? 'must be one person'}` };
}

const listed = (incidents: readonly IncidentInfo[]) => incidents.map((incident) => `${incident.key} (${clip(incident.title, 60)})`).join(', ');

/**
 * The incident a line means: the one it names; else the one run in the channel it was typed in
 * (a channel shared by several, channels.ops, decides nothing); else the only open one; else a
 * refusal that lists the open ones. `example` shows where the key goes.
 */
export async function incidentFor(context: CommandContext, port: Incidents, key: string | undefined, example: string): Promise<IncidentInfo> {
  if (key) {
    const found = await port.find(key);
    if (!found) throw new CommandError(`There is no incident ${key}.`, HINTS['not-found'], 'refused');
    return found;
  }
  if (context.channelId) {
    const here = await port.inChannel(context.channelId);
    const open = here.filter((incident) => incident.state !== 'closed');
    if (open.length === 1) return open[0]!;
    if (open.length > 1) throw new CommandError(`Several incidents run in this channel: ${listed(open)}. Say which one, for example \`${example.replace('<INC-n>', open[0]!.key)}\`.`, undefined, 'usage');
    // An incident's own channel after its close still means it (its action items are tracked there).
    const own = here[0];
    if (own && context.channelId !== port.opsChannel) return own;
  }
  const open = await port.open();
  if (open.length === 1) return open[0]!;
  if (open.length === 0) throw new CommandError(`No incident is open. Name one, for example \`${example}\`.`, HINTS['not-found'], 'usage');
  throw new CommandError(`${open.length} incidents are open: ${listed(open)}. Say which one, for example \`${example.replace('<INC-n>', open[0]!.key)}\`.`, undefined, 'usage');
}
