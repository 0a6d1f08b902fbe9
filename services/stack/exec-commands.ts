/**
 * The only commands the bot may run inside a container: the runbook's diagnosis steps, each a
 * fixed argv under a name. Callers pass the name; no text from a user is ever part of an argv,
 * and nothing goes through a shell.
 */
export interface ExecCommand {
  argv: readonly string[];
  /** What it shows, for help texts. */
  summary: string;
}

export const EXEC_COMMANDS = {
  'pg-isready': { argv: ['pg_isready', '-U', 'acgs'], summary: 'whether PostgreSQL accepts connections (runbook: Database Connection Failures)' },
  'pg-active-connections': {
    argv: ['psql', '-U', 'acgs', '-d', 'acgs_audit', '-At', '-c', "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"],
    summary: 'active PostgreSQL connections',
  },
  'redis-memory': { argv: ['redis-cli', 'info', 'memory'], summary: 'Redis memory use (runbook: Cache Performance Degradation)' },
  'redis-maxmemory-policy': { argv: ['redis-cli', 'config', 'get', 'maxmemory-policy'], summary: 'Redis eviction policy' },
  'runsc-version': { argv: ['runsc', '--version'], summary: 'gVisor version in the sandbox controller' },
  'runsc-list': { argv: ['runsc', 'list'], summary: 'gVisor sandboxes the runtime knows' },
  meminfo: { argv: ['cat', '/proc/meminfo'], summary: "the container's view of memory (runbook: High Memory Usage)" },
  processes: { argv: ['ps', 'aux'], summary: 'processes in the container' },
} as const satisfies Record<string, ExecCommand>;

export type ExecCommandName = keyof typeof EXEC_COMMANDS;

export const EXEC_COMMAND_NAMES = Object.keys(EXEC_COMMANDS) as ExecCommandName[];

/** Output kept from one exec; the rest is counted and dropped. */
export const MAX_EXEC_OUTPUT_BYTES = 64 * 1024;
export const DEFAULT_EXEC_TIMEOUT_MS = 15_000;
