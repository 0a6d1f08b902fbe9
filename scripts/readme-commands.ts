/**
 * The README's command table, made from the registry so the two cannot drift apart:
 * `npm run docs:commands` rewrites it (and manifest.yml's slash command text, see
 * manifest-commands.ts), test/docs/readme-commands.test.ts fails when it is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createCommandRegistry } from '../commands/index.js';
import { usageLine } from '../commands/registry.js';
import { MANIFEST_PATH, rewriteManifest } from './manifest-commands.js';

export const README_PATH = fileURLToPath(new URL('../README.md', import.meta.url));
const START = /<!-- commands:start[^>]*-->\n/;
const END = '<!-- commands:end -->';

const cell = (text: string) => text.replace(/\|/g, '\\|');

export function commandsTable(): string {
  const header = '| command | what it does | level |\n|---|---|---|\n';
  const rows = createCommandRegistry()
    .list()
    .map((command) => {
      const aliases = command.aliases?.length ? ` (also ${command.aliases.map((alias) => `\`${alias}\``).join(', ')})` : '';
      return `| \`${cell(usageLine(command))}\`${aliases} | ${cell(command.summary)} | ${command.level} |`;
    });
  return `${header}${rows.join('\n')}\n`;
}

/** The table as the README has it now. */
export function readmeTable(readme: string): string | undefined {
  const start = START.exec(readme);
  const end = readme.indexOf(END);
  if (!start || end < 0) return undefined;
  return readme.slice(start.index + start[0].length, end);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const readme = readFileSync(README_PATH, 'utf8');
  const current = readmeTable(readme);
  if (current === undefined) throw new Error('README.md has no <!-- commands:start --> ... <!-- commands:end --> block');
  writeFileSync(README_PATH, readme.replace(current, commandsTable()));
  console.log('README.md: command table rewritten');
  writeFileSync(MANIFEST_PATH, rewriteManifest(readFileSync(MANIFEST_PATH, 'utf8')));
  console.log('manifest.yml: slash command description and usage hint rewritten');
}
