import { z } from 'zod';
import { CommandError, defineCommand, type CommandDefinition } from './command.js';
import { usageLine } from './registry.js';
import type { ResultDocument } from './result.js';

/**
 * Break-glass is a prefix of a command line (bot/command-path/execute.ts `breakGlassOf`), not a command of
 * the registry, so help describes it here. It only matters where a Level 4 command exists.
 */
export const BREAK_GLASS_USAGE = 'break-glass "<reason>" <command ...>';
const BREAK_GLASS_SUMMARY = 'Run a Level 4 action at once, without approvals (admins only, reason of 10+ characters; flagged for review)';
const BREAK_GLASS_EXAMPLE = 'break-glass "policy engine is serving bad decisions" lockdown';

const hasEmergencyAction = (commands: readonly CommandDefinition[]) => commands.some((command) => command.level === 4);

function breakGlassHelp(): ResultDocument {
  return {
    title: `/acgs ${BREAK_GLASS_USAGE}`,
    tone: 'info',
    summary:
      'Someone holding the admins role may run a Level 4 (emergency) action at once, without waiting for approvals. The reason goes in quotes before the command and must be at least 10 characters. ' +
      'The answer is posted in the channel flagged BREAK-GLASS, and a `break_glass` record with the reason goes into the audit trail before the action runs, for review afterwards. Anyone else, a lower level or a short reason is refused and nothing runs.',
    blocks: [{ type: 'code', text: `/acgs ${BREAK_GLASS_EXAMPLE}` }],
    footer: '`/acgs can <command>` tells whether you may; `/acgs audit --command lockdown` shows what was done.',
    ephemeral: true,
  };
}

export const help = defineCommand({
  name: 'help',
  summary: 'List the commands, or explain one',
  usage: '[command]',
  examples: ['help', 'help logs'],
  level: 'read',
  positionals: ['topic', 'subtopic'],
  args: z.object({
    topic: z.string().max(40, 'must be a command name such as `health` (at most 40 characters)').optional(),
    subtopic: z.string().max(40, 'must be the second word of a command such as `audit verify`').optional(),
  }),
  async run(context, { topic, subtopic }) {
    if (topic?.toLowerCase() === 'break-glass' && !subtopic && hasEmergencyAction(context.registry.list())) return breakGlassHelp();
    if (topic) {
      const name = subtopic ? `${topic} ${subtopic}` : topic;
      const command = context.registry.find(name);
      if (!command) {
        const group = context.registry.list().filter((candidate) => candidate.name.startsWith(`${topic.toLowerCase()} `));
        if (group.length === 0) throw new CommandError(`\`${name}\` is not a command.`, 'Type `help` for the list of commands.');
        return {
          title: `${topic} commands`,
          tone: 'info',
          blocks: [{ type: 'table', columns: ['command', 'what it does'], rows: group.map((c) => [usageLine(c), c.summary]), whole: [0] }],
          ephemeral: true,
        };
      }
      const flags = Object.entries(command.flags ?? {});
      return {
        title: `/acgs ${usageLine(command)}`,
        tone: 'info',
        summary: command.summary,
        blocks: [
          ...(flags.length > 0
            ? [{ type: 'fields' as const, fields: flags.map(([flag, spec]) => ({ label: `--${flag}${spec.type === 'string' ? ' <value>' : ''}`, value: spec.description })) }]
            : []),
          { type: 'code', text: command.examples.map((example) => `/acgs ${example}`).join('\n') },
        ],
        ...(command.aliases?.length ? { footer: `Also: ${command.aliases.join(', ')}` } : {}),
        ephemeral: true,
      };
    }
    return {
      title: 'ACGS ChatOps commands',
      tone: 'info',
      summary: 'Type `/acgs <command>`; `/acgs help <command>` explains one.',
      blocks: [
        {
          type: 'table',
          columns: ['command', 'what it does'],
          rows: commandRows(context.registry.list()),
          whole: [0],
        },
      ],
      ephemeral: true,
    };
  },
});

/** Every command by name, with break-glass in its place among them when there is a Level 4 command to use it on. */
function commandRows(commands: readonly CommandDefinition[]): string[][] {
  const rows = commands.map((command) => ({ name: command.name, row: [usageLine(command), command.summary] }));
  if (hasEmergencyAction(commands)) rows.push({ name: 'break-glass', row: [BREAK_GLASS_USAGE, BREAK_GLASS_SUMMARY] });
  return rows.sort((a, b) => a.name.localeCompare(b.name)).map(({ row }) => row);
}
