/** Every /acgs command, in one list: Slack, the console, the CLI and help all read it. */
import type { CommandDefinition } from './command.js';
import { help } from './help.js';
import { createRegistry, type Registry } from './registry.js';

export const allCommands: readonly CommandDefinition[] = [help as CommandDefinition];

export function createCommandRegistry(): Registry {
  return createRegistry(allCommands);
}
