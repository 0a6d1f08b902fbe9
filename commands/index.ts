/** Every /acgs command, in one list: Slack, the console, the CLI and help all read it. */
import { auditVerify } from './audit-verify.js';
import { cacheStats } from './cache-stats.js';
import type { CommandDefinition } from './command.js';
import { dbStatusCommand } from './db-status.js';
import { evolutions } from './evolutions.js';
import { health } from './health.js';
import { help } from './help.js';
import { metrics } from './metrics.js';
import { redisStatusCommand } from './redis-status.js';
import { createRegistry, type Registry } from './registry.js';
import { sandboxStatus } from './sandbox-status.js';
import { violations } from './violations.js';

export const allCommands: readonly CommandDefinition[] = [
  help,
  health,
  metrics,
  violations,
  auditVerify,
  cacheStats,
  dbStatusCommand,
  redisStatusCommand,
  sandboxStatus,
  evolutions,
] as CommandDefinition[];

export function createCommandRegistry(): Registry {
  return createRegistry(allCommands);
}
