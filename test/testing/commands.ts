/**
 * Command lines in tests, run the way Slack runs them (the one execution path, as a Slack user,
 * typed), and the parts of their result documents that tests read.
 */
import { executeCommandLine, type ExecutionOutcome } from '../../bot/command-path/index.js';
import { createCommandRegistry } from '../../commands/index.js';
import type { CommandOrigin } from '../../commands/command.js';
import type { CheckLine, ResultBlock, ResultDocument } from '../../commands/result.js';
import { createCommandPathDependencies, type CommandPathDependencies } from '../../bot/command-path/index.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import type { Stack } from '../../services/stack/stack.js';
import type { CommandAccess } from './command-access.js';
import { unusedLoopbackUrl } from './loopback.js';

export interface CommandRunnerOptions {
  /** The services lines run against unless a call names others; read at each call, so a beforeAll may build them. */
  services: () => CommandPathDependencies;
  /** The policy (with the test's roles) and the bot's trail; read at each call, added to the services. */
  access?: () => CommandAccess;
  /** The Slack user lines run as unless a call names another (default U0TEST). */
  user?: string;
}

/** What one call changes: who runs the line, against which services, from where, cancelled by what. */
export interface RunOptions {
  user?: string;
  services?: CommandPathDependencies;
  origin?: CommandOrigin;
  /** The Slack channel the line is typed in. */
  channelId?: string;
  signal?: AbortSignal;
}

export type CommandRunner = (line: string, options?: RunOptions) => Promise<ExecutionOutcome>;

/** Runs lines through executeCommandLine with the real registry; an internal error is printed with its reference. */
export function commandRunner(options: CommandRunnerOptions): CommandRunner {
  const registry = createCommandRegistry();
  return (line, run = {}) => {
    const services = run.services ?? options.services();
    return executeCommandLine(
      { registry, services: options.access ? { ...services, ...options.access() } : services, logError: (reference, error) => console.error(reference, error) },
      { line, actor: { id: run.user ?? options.user ?? 'U0TEST' }, origin: run.origin ?? 'slash', ...(run.channelId ? { channelId: run.channelId } : {}), ...(run.signal ? { signal: run.signal } : {}) },
    );
  };
}

/**
 * CommandPathDependencies for commands that need only the Stack port: every service client points at a
 * loopback port where nothing listens, so a command that reached for one would fail, not pass.
 */
export async function stackOnlyServices(stack: Stack): Promise<CommandPathDependencies> {
  const nowhere = await unusedLoopbackUrl();
  return createCommandPathDependencies({
    endpoints: Object.fromEntries(SERVICE_NAMES.map((name) => [name, nowhere])) as Record<ServiceName, string>,
    stack,
  });
}

/** The document's first block of a type; a test that expects one fails with the whole document when it is missing. */
export function block<T extends ResultBlock['type']>(document: ResultDocument, type: T): Extract<ResultBlock, { type: T }> {
  const found = document.blocks.find((candidate) => candidate.type === type);
  if (!found) throw new Error(`no ${type} block in ${JSON.stringify(document, null, 1)}`);
  return found as Extract<ResultBlock, { type: T }>;
}

/** The line of the checks block about `name`. */
export function checkLine(document: ResultDocument, name: string): CheckLine | undefined {
  return block(document, 'checks').items.find((item) => item.name === name);
}

/** The value of the fields block's field `label`. */
export function fieldValue(document: ResultDocument, label: string): string | undefined {
  return block(document, 'fields').fields.find((candidate) => candidate.label === label)?.value;
}
