/**
 * One registry of commands: it turns a command line (`logs policy-engine --tail 50`) into a
 * command and validated arguments, or into a CommandError a person can act on. Slack, the
 * console, the CLI, help and the App Home all read this one list.
 */
import { parseArgs } from 'node:util';
import { distance } from 'fastest-levenshtein';
import { parseArgsStringToArgv } from 'string-argv';
import type { z } from 'zod';
import { CommandError, type CommandCatalog, type CommandDefinition } from './command.js';

/** Longer lines are refused before parsing; no command needs more. */
export const MAX_COMMAND_LINE = 1000;
const MAX_TOKENS = 40;

export type Resolution =
  | { ok: true; command: CommandDefinition; args: unknown; /** The line in canonical form, for audit and replies. */ line: string }
  | { ok: false; error: CommandError };

export interface Registry extends CommandCatalog {
  resolve(line: string): Resolution;
}

export function createRegistry(commands: readonly CommandDefinition[]): Registry {
  const byName = new Map<string, CommandDefinition>();
  for (const command of commands) {
    for (const key of [command.name, ...(command.aliases ?? [])]) {
      const normal = key.toLowerCase();
      if (byName.has(normal)) throw new Error(`command name or alias "${key}" is registered twice`);
      if (!/^[a-z][a-z0-9-]*( [a-z][a-z0-9-]*)?$/.test(normal)) throw new Error(`command name "${key}" must be one or two lowercase words`);
      byName.set(normal, command);
    }
  }
  const list = [...commands].sort((a, b) => a.name.localeCompare(b.name));

  return {
    list: () => list,
    find: (name) => byName.get(name.trim().toLowerCase().replace(/\s+/g, ' ')),
    resolve(line) {
      try {
        return resolveLine(line, byName);
      } catch (error) {
        if (error instanceof CommandError) return { ok: false, error };
        throw error;
      }
    },
  };
}

function resolveLine(rawLine: string, byName: Map<string, CommandDefinition>): Resolution {
  if (rawLine.length > MAX_COMMAND_LINE) {
    throw new CommandError(`That command line is ${rawLine.length} characters long; the limit is ${MAX_COMMAND_LINE}.`);
  }
  const tokens = tokenize(rawLine);
  if (tokens.length > MAX_TOKENS) throw new CommandError(`Too many words (${tokens.length}); no command takes more than ${MAX_TOKENS}.`);
  if (tokens.length === 0) tokens.push('help');

  const [first = '', second] = tokens.map((token) => token.toLowerCase());
  let command = second === undefined ? undefined : byName.get(`${first} ${second}`);
  let rest = tokens.slice(2);
  if (!command) {
    command = byName.get(first);
    rest = tokens.slice(1);
  }
  if (!command) throw unknownCommand(first, second, byName);

  const args = parseCommandArgs(command, rest);
  const line = [command.name, ...rest].join(' ');
  return { ok: true, command, args, line };
}

/** Splits like a shell without expanding anything; typographic quotes from Slack count as quotes. */
export function tokenize(line: string): string[] {
  const normal = line.replace(/[\u201c\u201d\u201e]/g, '"').replace(/[\u2018\u2019]/g, "'").replace(/\u00a0/g, ' ');
  return parseArgsStringToArgv(normal.trim());
}

function unknownCommand(first: string, second: string | undefined, byName: Map<string, CommandDefinition>): CommandError {
  const names = [...new Set([...byName.values()].map((command) => command.name))];
  const group = names.filter((name) => name.startsWith(`${first} `));
  if (group.length > 0) {
    const what = second === undefined ? `\`${first}\` needs a subcommand` : `\`${first} ${second}\` is not a command`;
    return new CommandError(`${what}: ${group.map((name) => `\`${name}\``).join(', ')}.`, `Try \`help ${group[0]}\`.`);
  }
  const typed = first.slice(0, 40);
  const scored = [...byName.keys()]
    .map((key) => ({ key, score: distance(typed, key.split(' ')[0] ?? key) }))
    .filter(({ key, score }) => score <= Math.max(2, Math.floor(typed.length / 3)) || key.startsWith(typed))
    .sort((a, b) => a.score - b.score);
  const suggestions = [...new Set(scored.map(({ key }) => byName.get(key)!.name))].slice(0, 3);
  const hint = suggestions.length > 0 ? `Did you mean ${suggestions.map((name) => `\`${name}\``).join(' or ')}?` : 'Type `help` for the list of commands.';
  return new CommandError(`\`${typed}\` is not a command.`, hint);
}

/** A word with spaces or quotes quoted again so the line splits the same way a second time. */
function requote(token: string): string {
  if (token !== '' && !/[\s'"]/.test(token)) return token;
  return token.includes('"') ? `'${token}'` : `"${token}"`;
}

function parseCommandArgs(command: CommandDefinition, tokens: string[]): unknown {
  if (command.rawArguments) {
    const result = (command.args as z.ZodType).safeParse({ line: tokens.map(requote).join(' ') });
    if (!result.success) throw new CommandError(`Invalid arguments for \`${command.name}\`: ${result.error.issues.map((issue) => issue.message).join('; ')}.`, usageHint(command));
    return result.data;
  }
  const flags = command.flags ?? {};
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, spec] of Object.entries(flags)) options[name] = spec.short ? { type: spec.type, short: spec.short } : { type: spec.type };

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: tokens, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CommandError(describeParseError(error as NodeJS.ErrnoException, command, tokens), usageHint(command));
  }
  const names = command.positionals ?? [];
  if (parsed.positionals.length > names.length) {
    const extra = parsed.positionals.slice(names.length).map((value) => `\`${value.slice(0, 40)}\``).join(' ');
    throw new CommandError(`\`${command.name}\` takes ${names.length === 0 ? 'no arguments' : `at most ${names.length} argument${names.length === 1 ? '' : 's'} (${names.join(', ')})`}; unexpected ${extra}.`, usageHint(command));
  }
  const raw: Record<string, unknown> = { ...parsed.values };
  parsed.positionals.forEach((value, index) => (raw[names[index]!] = value));

  const result = (command.args as z.ZodType).safeParse(raw);
  if (!result.success) {
    const messages = result.error.issues.map((issue) => {
      const key = issue.path.join('.');
      return key ? `${key}: ${issue.message}` : issue.message;
    });
    throw new CommandError(`Invalid arguments for \`${command.name}\`: ${messages.join('; ')}.`, usageHint(command));
  }
  return result.data;
}

function describeParseError(error: NodeJS.ErrnoException, command: CommandDefinition, tokens: string[]): string {
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = tokens.find((token) => token.startsWith('-') && !isKnownFlag(command, token));
    if (option && /^-\d/.test(option)) return `\`${option}\` is not allowed here: numbers must not be negative.`;
    const known = Object.keys(command.flags ?? {});
    return `\`${(option ?? 'that option').slice(0, 40)}\` is not an option of \`${command.name}\`${known.length ? `; it takes ${known.map((flag) => `\`--${flag}\``).join(', ')}` : '; it takes no options'}.`;
  }
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const option = /^Option '(?:-\w, )?(--[\w-]+)/.exec(error.message)?.[1];
    const next = option ? tokens[tokens.indexOf(option) + 1] : undefined;
    if (option && next && /^-\d/.test(next)) return `\`${option} ${next.slice(0, 20)}\` is not allowed: numbers must not be negative.`;
    return option ? `\`${option}\` needs a value.` : error.message;
  }
  return error.message;
}

function isKnownFlag(command: CommandDefinition, token: string): boolean {
  const name = token.replace(/^--?/, '').split('=')[0] ?? '';
  return Object.entries(command.flags ?? {}).some(([flag, spec]) => (token.startsWith('--') ? flag === name : spec.short === name));
}

/** `Usage: logs <service> [--tail N]`, shown with every argument error. */
export function usageLine(command: CommandDefinition): string {
  return `${command.name}${command.usage ? ` ${command.usage}` : ''}`;
}

function usageHint(command: CommandDefinition): string {
  return `Usage: \`${usageLine(command)}\`${command.examples[0] ? `, for example \`${command.examples[0]}\`` : ''}.`;
}
