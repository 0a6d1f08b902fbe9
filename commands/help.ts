import { z } from 'zod';
import { CommandError, defineCommand } from './command.js';
import { usageLine } from './registry.js';

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
    if (topic) {
      const name = subtopic ? `${topic} ${subtopic}` : topic;
      const command = context.registry.find(name);
      if (!command) {
        const group = context.registry.list().filter((candidate) => candidate.name.startsWith(`${topic.toLowerCase()} `));
        if (group.length === 0) throw new CommandError(`\`${name}\` is not a command.`, 'Type `help` for the list of commands.');
        return {
          title: `${topic} commands`,
          tone: 'info',
          blocks: [{ type: 'table', columns: ['command', 'what it does'], rows: group.map((c) => [usageLine(c), c.summary]) }],
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
          rows: context.registry.list().map((command) => [usageLine(command), command.summary]),
        },
      ],
      ephemeral: true,
    };
  },
});
