/**
 * The one path every command line takes, whoever typed or clicked it: resolve, authorize, record,
 * run, record the result, and turn failures into documents. Slack, the console and the CLI all
 * call `executeCommandLine`.
 *
 * Order (DESIGN.md, data flow): the registry resolves the line; the command gate decides
 * (command-gate.ts); a `command` record goes to the bot's audit trail with the decision
 * (append: spooled when PostgreSQL is away, so read-only commands keep working); a refusal or a
 * command that waits for approvals becomes an approval request (approval-flow.ts). An escalated command (the policy's level 1 to 4)
 * then writes its `execution` record with appendToChain and runs only once that is committed;
 * if it cannot be, it is refused (fail closed). A `result` record follows every run.
 */
import { randomUUID } from 'node:crypto';
import type { TrailRecordInput } from '../audit-trail/index.js';
import type { AuthorizationDecision } from '../authorization/index.js';
import type { Actor, AuthorizationSubject, CommandContext } from '../../commands/command.js';
import { authorizationSubjectOf, CommandError } from '../../commands/command.js';
import { refusalDocument } from '../../commands/decision-documents.js';
import { quietProgress } from '../../commands/progress.js';
import type { ResultDocument } from '../../commands/result.js';
import { requestApproval } from './approval-flow.js';
import { closedGate, NO_POLICY_PROBLEM, type GateDecision } from './command-gate.js';
import { commandErrorDocument, gateOnTrail, runCommand, trailDecision, type ExecutionDeps, type ExecutionOutcome, type ExecutionRequest } from './run-command.js';

const TRAIL_LEVELS = [`read`, 1, 2, 3, 4] as const;

export async function executeCommandLine(deps: ExecutionDeps, request: ExecutionRequest): Promise<ExecutionOutcome> {
  const started = performance.now();
  const finish = (
    command: string | undefined,
    outcome: ExecutionOutcome['outcome'],
    document: ResultDocument,
    rejection?: CommandError['kind'],
    decision?: AuthorizationDecision,
  ): ExecutionOutcome => ({
    command,
    outcome,
    document,
    durationMs: performance.now() - started,
    ...(rejection ? { rejection } : {}),
    ...(decision ? { decision } : {}),
  });

  const glass = breakGlassOf(request.line);
  if (glass && 'error' in glass) return finish(undefined, 'rejected', commandErrorDocument(glass.error), glass.error.kind);
  const resolution = deps.registry.resolve(glass ? glass.line : request.line);
  if (!resolution.ok) return finish(undefined, 'rejected', commandErrorDocument(resolution.error), resolution.error.kind);

  const { command } = resolution;
  const gate = deps.services.authorization ?? closedGate(NO_POLICY_PROBLEM);
  let gated: GateDecision;
  let subject: AuthorizationSubject | undefined;
  try {
    subject = authorizationSubjectOf(command, resolution.args, deps.services);
    gated = await gate.decide({
      actor: request.actor,
      command,
      args: resolution.args,
      ...(request.channelId ? { channelId: request.channelId } : {}),
      ...(glass ? { breakGlassReason: glass.reason } : {}),
      ...(subject ? { subject } : {}),
    });
  } catch (error) {
    // A gate that throws is a bug or a dead dependency: decide as if there were no policy.
    const reference = randomUUID().slice(0, 8);
    deps.logError?.(reference, error, request);
    gated = await closedGate(`the authorization step failed (reference ${reference})`).decide({ actor: request.actor, command, args: resolution.args, ...(subject ? { subject } : {}) });
  }
  const { decision } = gated;
  const trail = deps.services.trail;
  const executionId = randomUUID();
  const common: Omit<TrailRecordInput, 'kind'> = {
    actor: request.actor.id,
    origin: request.origin,
    channel: request.channelId ?? null,
    command: command.name,
    args: resolution.args,
    decision: trailDecision(decision),
    level: TRAIL_LEVELS[decision.level],
  };
  // append() takes its place in the trail's queue at once, so records keep their order even when
  // nobody waits for them; a failure (the spool failed too, a full disk) goes to the log, and
  // comes back as the sentence to refuse an escalated command with.
  const record = async (input: TrailRecordInput): Promise<string | undefined> => {
    if (!trail) return undefined;
    const written = trail.append(input);
    try {
      await written;
      return undefined;
    } catch (error) {
      deps.logError?.(randomUUID().slice(0, 8), error, request);
      return error instanceof Error && error.name === 'AuditTrailUnavailableError' ? error.message : `The bot's audit trail refused the record of this command (${(error as Error)?.message ?? String(error)}).`;
    }
  };

  const commandRecorded = record({
    ...common,
    kind: 'command',
    key: `command:${executionId}`,
    details: {
      execution_id: executionId,
      code: decision.code,
      reason: decision.reason,
      roles: gated.input.user.roles,
      modes: gated.modes,
      approvals_required: decision.approvals_required,
      approver_roles: decision.approver_roles,
      ...(subject ? { runbook: subject.runbook } : {}),
      ...(glass ? { break_glass_reason: glass.reason } : {}),
    },
  });
  // A run of a Level 0 runbook is decided as read-only, yet records a run whose steps act on the
  // trail: like an escalated command it runs under an execution record (which a relayed start needs).
  const recordsExecution = decision.level > 0 || (subject !== undefined && !subject.runbook.dryRun);
  // A read-only command does not wait for its record: a stalled database must not stall `health`.
  const notRecorded = recordsExecution || !decision.allow ? await commandRecorded : undefined;
  if (!decision.allow) return finish(command.name, 'rejected', refusalDocument(command.name, decision), 'refused', decision);
  if (notRecorded) {
    // An escalated command never runs (nor asks for approvals) without its record stored.
    await record({ ...common, kind: 'result', key: `result:${executionId}`, outcome: 'refused', details: { execution_id: executionId, reason: notRecorded } });
    const error = new CommandError(notRecorded, 'Nothing was run. Read-only commands still work; try again once records can be stored.', 'unavailable');
    return finish(command.name, 'rejected', commandErrorDocument(error, command.name), 'refused', decision);
  }
  const context: CommandContext = {
    actor: request.actor,
    origin: request.origin,
    roles: gated.input.user.roles,
    services: deps.services,
    authorization: gate,
    registry: deps.registry,
    signal: request.signal ?? new AbortController().signal,
    progress: quietProgress(request.progress, (error) => deps.logError?.(randomUUID().slice(0, 8), error, request)),
    ...(request.channelId ? { channelId: request.channelId } : {}),
    ...(request.approvalId ? { approvalId: request.approvalId } : {}),
    requestId: request.requestId ?? `execution:${executionId}`,
  };
  if (decision.approvals_required > 0) {
    const requested = await requestApproval(deps, { command, args: resolution.args, line: resolution.line, decision, context, common, executionId });
    return { ...finish(command.name, requested.outcome, requested.document, requested.rejection, decision), ...(requested.approval ? { approval: requested.approval } : {}) };
  }

  const brokeGlass = glass !== undefined && decision.break_glass;
  if (recordsExecution) {
    // Break-glass is flagged in the chain before the execution record, for review afterwards.
    const flagged = brokeGlass
      ? await gateOnTrail(trail, { ...common, kind: 'break_glass', key: `break_glass:${executionId}`, details: { execution_id: executionId, reason: glass.reason } }, deps.services.trailProblem)
      : undefined;
    const refusal =
      flagged ??
      (await gateOnTrail(trail, { ...common, kind: 'execution', key: `execution:${executionId}`, details: { execution_id: executionId } }, deps.services.trailProblem, (receipt) => {
        context.execution = { key: receipt.key, sequence: receipt.sequence };
      }));
    if (refusal) {
      await record({ ...common, kind: 'result', key: `result:${executionId}`, outcome: 'refused', details: { execution_id: executionId, reason: refusal } });
      const error = new CommandError(refusal, 'Read-only commands still work; try again once the trail is back.', 'unavailable');
      return finish(command.name, 'rejected', commandErrorDocument(error, command.name), 'refused', decision);
    }
  }

  const ran = await runCommand(deps, request, command, resolution.args, context);
  const resultRecorded = record({
    ...common,
    kind: 'result',
    key: `result:${executionId}`,
    outcome: ran.outcome === 'rejected' ? (ran.rejection ?? 'rejected') : ran.outcome,
    details: { execution_id: executionId, duration_ms: Math.round(performance.now() - started), title: ran.document.title },
  });
  if (recordsExecution) await resultRecorded;
  const document = brokeGlass ? breakGlassDocument(ran.document, request.actor, glass.reason) : ran.document;
  return finish(command.name, ran.outcome, document, ran.rejection, decision);
}

const BREAK_GLASS = /^\s*break-glass(?=\s|$)/i;

/**
 * `break-glass "<reason>" <command ...>`: the reason is quoted so that it cannot be mistaken for
 * the command. Undefined for any other line; an error when the words are there but not the form.
 */
export function breakGlassOf(line: string): { reason: string; line: string } | { error: CommandError } | undefined {
  if (!BREAK_GLASS.test(line)) return undefined;
  const match = /^\s*break-glass\s+(?:"([^"]*)"|'([^']*)'|\u201c([^\u201d]*)\u201d)\s+(\S.*)$/is.exec(line);
  const reason = (match?.[1] ?? match?.[2] ?? match?.[3] ?? '').trim();
  if (!match || reason === '') {
    return { error: new CommandError('Break-glass needs a reason in quotes and then the command, for example `break-glass "policy engine is serving bad decisions" lockdown`.', 'Only admins may, and only for Level 4 actions; nothing was run.') };
  }
  return { reason, line: match[4]!.trim() };
}

/** The answer of a break-glass run, flagged in the channel (never ephemeral) for review afterwards. */
function breakGlassDocument(document: ResultDocument, actor: Actor, reason: string): ResultDocument {
  return {
    ...document,
    title: `BREAK-GLASS: ${document.title}`,
    summary: `${actor.id} ran this at once without approvals, as break-glass: "${reason}". It is flagged in the audit trail for review.${document.summary ? ` ${document.summary}` : ''}`,
    ephemeral: false,
  };
}
