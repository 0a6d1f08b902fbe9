/**
 * The slash command's description and usage hint in manifest.yml, made from the registry so that
 * Slack's autocomplete names the commands the bot has: `npm run docs:commands`
 * (scripts/readme-commands.ts) rewrites them, test/docs/manifest-commands.test.ts fails when they are stale.
 */
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { allCommands } from '../commands/index.js';
import type { CommandDefinition } from '../commands/command.js';
import { usageLine } from '../commands/registry.js';

export const MANIFEST_PATH = fileURLToPath(new URL('../manifest.yml', import.meta.url));
/** Where the one slash command sits in the manifest. */
const SLASH_COMMAND = ['features', 'slash_commands', 0] as const;

export interface SlashCommandText {
  description: string;
  usage_hint: string;
}

/**
 * What the manifest should say: how many commands there are, and every command's name in the
 * registry's own order (the runbook's first steps first, so the part Slack shows is the useful one).
 */
export function slashCommandText(commands: readonly CommandDefinition[] = allCommands): SlashCommandText {
  const readOnly = commands.filter((command) => command.level === 'read').length;
  return {
    description: `Run an ACGS-1 Lite runbook command: ${readOnly} that only read, ${commands.length - readOnly} that act, some after approvals (try /acgs help)`,
    // Names only, but help's argument: `/acgs help <command>` gives every other command's arguments.
    usage_hint: groupedNames(commands.map((command) => (command.name === 'help' ? usageLine(command) : command.name))).join(' | '),
  };
}

/**
 * Two-word names next to each other with the same first word as one entry (`incident declare|update`):
 * Slack takes at most 1,000 characters of usage hint, and the incident commands alone would pass it.
 */
export function groupedNames(names: readonly string[]): string[] {
  const grouped: string[] = [];
  let group: { first: string; seconds: string[] } | undefined;
  const flush = () => {
    if (group) grouped.push(`${group.first} ${group.seconds.join('|')}`);
    group = undefined;
  };
  for (const name of names) {
    const words = /^([a-z][a-z0-9-]*) ([a-z][a-z0-9-]*)$/.exec(name);
    if (words && group && group.first === words[1]) group.seconds.push(words[2]!);
    else {
      flush();
      if (words) group = { first: words[1]!, seconds: [words[2]!] };
      else grouped.push(name);
    }
  }
  flush();
  return grouped;
}

/** What manifest.yml says now. */
export function manifestSlashCommandText(manifest: string): Partial<SlashCommandText> {
  const document = parseDocument(manifest);
  const text = (key: keyof SlashCommandText) => {
    const value: unknown = document.getIn([...SLASH_COMMAND, key]);
    return typeof value === 'string' ? value : undefined;
  };
  return { description: text('description'), usage_hint: text('usage_hint') };
}

/** The manifest with the registry's text in place; its comments and layout are kept. */
export function rewriteManifest(manifest: string): string {
  const document = parseDocument(manifest);
  for (const [key, value] of Object.entries(slashCommandText())) document.setIn([...SLASH_COMMAND, key], value);
  // lineWidth 0: one line per value, as written by hand, instead of folding the long usage hint.
  return document.toString({ lineWidth: 0 });
}
