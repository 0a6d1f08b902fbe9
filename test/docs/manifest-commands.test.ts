import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allCommands } from '../../commands/index.js';
import { MANIFEST_PATH, manifestSlashCommandText, rewriteManifest, slashCommandText } from '../../scripts/manifest-commands.js';

describe("manifest.yml's slash command text", () => {
  it("is the registry's description and usage hint (npm run docs:commands rewrites them)", () => {
    expect(manifestSlashCommandText(readFileSync(MANIFEST_PATH, 'utf8'))).toEqual(slashCommandText());
  });

  it('names every registered command in the usage hint, help with its argument first, within Slack’s limits', () => {
    const { description, usage_hint } = slashCommandText();
    // Neighbours with the same first word share an entry: `incident declare|update` names both.
    const named = usage_hint.split(' | ').flatMap((entry) => {
      const group = /^(\S+) (\S+\|\S+)$/.exec(entry);
      return group ? group[2]!.split('|').map((second) => `${group[1]} ${second}`) : [entry];
    });
    expect(named).toEqual(allCommands.map((command) => (command.name === 'help' ? 'help [command]' : command.name)));
    expect(usage_hint).toContain(' | incident declare|update|note|');
    expect(usage_hint.startsWith('help [command] | ')).toBe(true);
    // Slack's app-manifest schema: description 1 to 2,000 characters, usage hint 1 to 1,000.
    expect(description.length).toBeLessThanOrEqual(2000);
    expect(usage_hint.length).toBeLessThanOrEqual(1000);
  });

  it('counts the read-only commands and the ones that act in the description', () => {
    const readOnly = allCommands.filter((command) => command.level === 'read').length;
    expect(slashCommandText().description).toContain(`${readOnly} that only read, ${allCommands.length - readOnly} that act`);
  });

  it('rewrites only those two values, keeping the comments and every other line of the manifest', () => {
    const stale = readFileSync(MANIFEST_PATH, 'utf8')
      .replace(/^( {6}description: ).*$/m, '$1Run a command')
      .replace(/^( {6}usage_hint: ).*$/m, '$1"help | health"');
    const rewritten = rewriteManifest(stale);
    expect(manifestSlashCommandText(rewritten)).toEqual(slashCommandText());
    const otherLines = (manifest: string) => manifest.split('\n').filter((line) => !/^ {6}(description|usage_hint): /.test(line));
    expect(otherLines(rewritten)).toEqual(otherLines(stale));
    expect(rewritten).toContain('# Slack app manifest for the ACGS ChatOps bot');
  });
});
