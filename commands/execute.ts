/**
 * The one path every command line takes, whoever typed or clicked it: resolve, validate, run,
 * and turn failures into documents. Slack, the console and the CLI all call `executeCommandLine`.
 * Issue 5 puts authorization and the audit record between resolving and running.
 */
import { randomUUID } from 'node:crypto';
import type { Actor, CommandContext, CommandOrigin } from './command.js';
import { CommandError } from './command.js';
import type { Registry } from './registry.js';
import { interimRefusal } from './roles.js';
import type { ResultDocument } from './result.js';
import type { CommandServices } from './services.js';

export interface ExecutionRequest {
  line: string;
  actor: Actor;
  origin: CommandOrigin;
  channelId?: string;
  signal?: AbortSignal;
}

export interface ExecutionDeps {
  registry: Registry;
  services: CommandServices;
  /** Where internal errors go with their reference; the message never reaches the user. */
  logError?: (reference: string, error: unknown, request: ExecutionRequest) => void;
}

export interface ExecutionOutcome {
  /** The resolved command name, or undefined when the line named no command. */
  command: string | undefined;
  outcome: 'ok' | 'warn' | 'fail' | 'info' | 'rejected' | 'error';
  document: ResultDocument;
  durationMs: number;
  /** Why the line was rejected, when it was: `usage` (the person typed something wrong), `unavailable`, `refused`. */
  rejection?: CommandError['kind'];
}

export async function executeCommandLine(deps: ExecutionDeps, request: ExecutionRequest): Promise<ExecutionOutcome> {
  const started = performance.now();
  const finish = (
    command: string | undefined,
    outcome: ExecutionOutcome['outcome'],
    document: ResultDocument,
    rejection?: CommandError['kind'],
  ): ExecutionOutcome => ({
    command,
    outcome,
    document,
    durationMs: performance.now() - started,
    ...(rejection ? { rejection } : {}),
  });

  const resolution = deps.registry.resolve(request.line);
  if (!resolution.ok) return finish(undefined, 'rejected', commandErrorDocument(resolution.error), resolution.error.kind);

  const { command } = resolution;
  const roles = deps.services.roles?.rolesOf(request.actor.id) ?? [];
  // INTERIM: issue 5's authorization policy replaces this one check (commands/roles.ts).
  const refusal = interimRefusal(command, roles, request.origin);
  if (refusal) return finish(command.name, 'rejected', commandErrorDocument(refusal, command.name), refusal.kind);

  const context: CommandContext = {
    actor: request.actor,
    origin: request.origin,
    roles,
    services: deps.services,
    registry: deps.registry,
    signal: request.signal ?? new AbortController().signal,
    ...(request.channelId ? { channelId: request.channelId } : {}),
  };
  try {
    const document = await command.run(context, resolution.args);
    return finish(command.name, document.tone, document);
  } catch (error) {
    if (error instanceof CommandError) return finish(command.name, 'rejected', commandErrorDocument(error, command.name), error.kind);
    const reference = randomUUID().slice(0, 8);
    deps.logError?.(reference, error, request);
    return finish(command.name, 'error', internalErrorDocument(reference, command.name));
  }
}

export function commandErrorDocument(error: CommandError, commandName?: string): ResultDocument {
  const title = error.kind === 'unavailable' ? 'Not available right now' : error.kind === 'refused' ? 'Refused' : 'Cannot run that';
  return {
    title: commandName ? `${commandName}: ${title.toLowerCase()}` : title,
    tone: 'fail',
    summary: error.message,
    blocks: [],
    ...(error.hint ? { footer: error.hint } : {}),
    ephemeral: true,
    data: { error: { kind: error.kind, message: error.message, hint: error.hint } },
  };
}

export function internalErrorDocument(reference: string, commandName: string): ResultDocument {
  return {
    title: `${commandName}: internal error`,
    tone: 'fail',
    summary: `Something went wrong inside the bot. Reference ${reference}: the bot's log has the cause.`,
    blocks: [],
    ephemeral: true,
    data: { error: { kind: 'internal', reference } },
  };
}
