/**
 * The step every run ends in, whoever started it (a typed line, an approval): the execution record
 * in the chain first (fail closed), then the handler, with its failure turned into a document a
 * person can read. Shared by execute.ts and approval-flow.ts, so neither imports the other.
 */
import { randomUUID } from 'node:crypto';
import type { ApprovalRequest } from '../approvals/index.js';
import type { AuditTrail, TrailRecordInput } from '../audit-trail/index.js';
import type { AuthorizationDecision } from '../authorization/index.js';
import type { Actor, CommandContext, CommandDefinition, CommandOrigin } from '../../commands/command.js';
import { CommandError } from '../../commands/command.js';
import type { ProgressReporter } from '../../commands/progress.js';
import type { Registry } from '../../commands/registry.js';
import type { ResultDocument } from '../../commands/result.js';
import type { CommandPathDependencies, CommandRan } from './command-path-dependencies.js';

export interface ExecutionRequest {
  line: string;
  actor: Actor;
  origin: CommandOrigin;
  channelId?: string;
  signal?: AbortSignal;
  /** Where the steps of a multi-step command go as they happen (CommandContext.progress); nowhere by default. */
  progress?: ProgressReporter;
  /**
   * The id its approval request gets, reserved and kept by the caller before asking (a gate step):
   * asking again with it answers the same request (CommandContext.approvalId).
   */
  approvalId?: string;
  /** The identity of the delivery this line came in (Slack's trigger id): CommandContext.requestId. */
  requestId?: string;
}

export interface ExecutionDeps {
  registry: Registry;
  services: CommandPathDependencies;
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
  /** The authorization decision, for every resolved command. */
  decision?: AuthorizationDecision;
  /** The approval request this line created: the channel shows it with its buttons. */
  approval?: ApprovalRequest;
}

/** How the trail names a decision: allow, deny, needs_approval or break_glass. */
export function trailDecision(decision: AuthorizationDecision): string {
  if (!decision.allow) return 'deny';
  if (decision.approvals_required > 0) return 'needs_approval';
  return decision.break_glass ? 'break_glass' : 'allow';
}

/** Writes the execution record into the chain; a sentence saying why not, when it cannot. */
export async function gateOnTrail(
  trail: AuditTrail | undefined,
  input: TrailRecordInput,
  trailProblem?: string,
  committed?: (receipt: { key: string; sequence: number }) => void,
): Promise<string | undefined> {
  if (!trail) {
    return `The bot's audit trail is not set up in this process${trailProblem ? ` (${trailProblem})` : ''}, so commands that change the stack are refused: they never run unrecorded.`;
  }
  try {
    const receipt = await trail.appendToChain(input);
    committed?.(receipt);
    return undefined;
  } catch (error) {
    const message = error instanceof Error && error.name === 'AuditTrailUnavailableError' ? error.message : `The bot's audit trail refused the record (${(error as Error)?.message ?? String(error)}), so the command is refused.`;
    return message;
  }
}

export async function runCommand(
  deps: ExecutionDeps,
  request: ExecutionRequest,
  command: CommandDefinition,
  args: unknown,
  context: CommandContext,
): Promise<{ outcome: ExecutionOutcome['outcome']; document: ResultDocument; rejection?: CommandError['kind'] }> {
  const startedAt = new Date();
  let ran: { outcome: ExecutionOutcome['outcome']; document: ResultDocument; rejection?: CommandError['kind'] };
  try {
    const document = await command.run(context, args);
    ran = { outcome: document.tone, document };
  } catch (error) {
    if (error instanceof CommandError) ran = { outcome: 'rejected', document: commandErrorDocument(error, command.name), rejection: error.kind };
    else {
      const reference = randomUUID().slice(0, 8);
      deps.logError?.(reference, error, request);
      ran = { outcome: 'error', document: internalErrorDocument(reference, command.name) };
    }
  }
  const told = tellAfterCommand(deps, request, { command: command.name, line: request.line, actor: request.actor, origin: request.origin, startedAt, context, ...ran });
  // A read-only command never waits on the database (a stalled one must not stall `health`); one
  // that waited for its execution record waits for this too, so its answer comes after both.
  if (context.execution) await told;
  return ran;
}

/** Every run, typed or approved, ends in runCommand: the one place the hook is called. Its failure is logged, never the command's; it never throws. */
async function tellAfterCommand(deps: ExecutionDeps, request: ExecutionRequest, ran: CommandRan): Promise<void> {
  const hook = deps.services.afterCommand;
  if (!hook || ran.rejection === 'usage') return;
  try {
    await hook(ran);
  } catch (error) {
    deps.logError?.(randomUUID().slice(0, 8), error, request);
  }
}

export function commandErrorDocument(error: CommandError, commandName?: string): ResultDocument {
  const title = error.kind === 'unavailable' ? 'Not available right now' : error.kind === 'refused' ? 'Refused' : error.kind === 'superseded' ? 'Not run: the plan changed' : 'Cannot run that';
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
