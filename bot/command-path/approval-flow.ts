/**
 * In-channel approvals on the command path, Slack-free: a command the policy lets a person request
 * but not run becomes an approval request bound to its exact action (command, arguments, target,
 * a fingerprint of the state it was planned from); votes and cancels go to the approval store; the
 * approval that completes a request re-checks the policy and the state, claims the execution (one
 * winner across processes) and runs the command as approved, as the requester, origin `approval`.
 *
 * Every change is recorded in the bot's audit trail: `approval_requested`, `vote`,
 * `approval_resolved`, then the `execution` record in the chain (fail closed) and the `result`.
 */
import { randomUUID } from 'node:crypto';
import {
  ApprovalInputError,
  ApprovalStoreUnavailableError,
  isApprovalId,
  notFoundText,
  plainText,
  type ApprovalRequest,
  type ApprovalStore,
  type Sentence,
} from '../approvals/index.js';
import { redactText, type TrailRecordInput } from '../audit-trail/index.js';
import { canonicalJson } from '../../services/kit/hash-chain/canonical-json.js';
import type { AuthorizationDecision } from '../authorization/index.js';
import type { Actor, ApprovalPlan, CommandContext, CommandDefinition } from '../../commands/command.js';
import { authorizationSubjectOf, CommandError } from '../../commands/command.js';
import { approvalsWords, levelWords } from '../../commands/decision-documents.js';
import { quietProgress, type ProgressReporter } from '../../commands/progress.js';
import type { ResultDocument } from '../../commands/result.js';
import { closedGate, NO_POLICY_PROBLEM } from './command-gate.js';
import { commandErrorDocument, gateOnTrail, runCommand, trailDecision, type ExecutionDeps, type ExecutionOutcome } from './run-command.js';

export type ApprovalChoice = 'approve' | 'deny' | 'cancel';

/** The plan of a command without its own `plan`: the line itself is all it is bound to. */
export async function planOf(command: CommandDefinition, context: CommandContext, args: unknown, line: string): Promise<ApprovalPlan> {
  if (command.plan) return command.plan(context, args);
  return { summary: `Run \`${line}\``, fingerprint: `line: ${line}` };
}

export interface ApprovalRequestInput {
  command: CommandDefinition;
  args: unknown;
  line: string;
  decision: AuthorizationDecision;
  context: CommandContext;
  /** The trail fields every record of this command shares. */
  common: Omit<TrailRecordInput, 'kind'>;
  executionId: string;
}

export interface RequestedApproval {
  outcome: ExecutionOutcome['outcome'];
  document: ResultDocument;
  rejection?: CommandError['kind'];
  approval?: ApprovalRequest;
}

/** Creates the approval request and its `approval_requested` record; refuses (fail closed) without a store. */
export async function requestApproval(deps: ExecutionDeps, input: ApprovalRequestInput): Promise<RequestedApproval> {
  const { command, decision, context } = input;
  const store = deps.services.approvals;
  const needs = `\`${command.name}\` needs ${approvalsWords(decision)}.`;
  if (!store) {
    // Approvers confirm with buttons in a channel, which a terminal has not got.
    if (context.origin === 'cli') return refused(command.name, `${needs} Approvers confirm with buttons in a channel, so ask for it in Slack or the local console: \`/acgs ${input.line}\`; nothing was run.`);
    return refused(command.name, `${needs} The approval store is not set up in this process, so it cannot be requested; nothing was run.`);
  }
  let plan: ApprovalPlan;
  try {
    plan = await planOf(command, context, input.args, input.line);
  } catch (error) {
    if (error instanceof CommandError) return { outcome: 'rejected', document: commandErrorDocument(error, command.name), rejection: error.kind };
    throw error;
  }
  let approval: ApprovalRequest;
  try {
    const created = await store.create({
      ...(context.approvalId ? { id: context.approvalId } : {}),
      action: {
        command: command.name,
        args: (input.args ?? {}) as Record<string, unknown>,
        line: input.line,
        ...(plan.target ? { target: plan.target } : {}),
        stateFingerprint: plan.fingerprint,
        ...(plan.details && plan.details.length > 0 ? { plan: plan.details } : {}),
      },
      requester: context.actor.id,
      level: decision.level === 0 ? 1 : decision.level,
      approvalsRequired: decision.approvals_required,
      approverRoles: decision.approver_roles,
      distinctApprovers: decision.distinct_approvers,
    });
    approval = created.request!;
  } catch (error) {
    if (error instanceof ApprovalStoreUnavailableError || error instanceof ApprovalInputError) return refused(command.name, `${needs} ${withoutFullStop(error.message)}; nothing was run.`);
    throw error;
  }
  await deps.services.trail
    ?.append({
      ...input.common,
      kind: 'approval_requested',
      key: `approval_requested:${approval.id}`,
      details: { execution_id: input.executionId, request_id: approval.id, plan: plan.summary, target: plan.target ?? null, fingerprint: plan.fingerprint, expires_at: approval.expiresAt.toISOString() },
    })
    .catch((error: unknown) => deps.logError?.(randomUUID().slice(0, 8), error, { line: input.line, actor: context.actor, origin: context.origin }));
  return { outcome: 'warn', document: approvalRequestDocument(approval, plan, decision), approval };
}

function refused(commandName: string, message: string): RequestedApproval {
  const error = new CommandError(message, `\`/acgs can ${commandName}\` explains who may approve it.`, 'refused');
  return { outcome: 'rejected', document: commandErrorDocument(error, commandName), rejection: 'refused' };
}

/** The request in the platform-neutral model (the CLI, the console's JSON); Slack renders the request itself. */
export function approvalRequestDocument(request: ApprovalRequest, plan: ApprovalPlan, decision: AuthorizationDecision): ResultDocument {
  return {
    title: `Approval requested: ${request.action.line}`,
    tone: 'warn',
    summary: `${plan.summary}. It runs after ${approvalsWords(decision)}; nothing has run yet.`,
    blocks: [
      {
        type: 'fields',
        fields: [
          { label: 'Requested by', value: request.requester },
          { label: 'Level', value: levelWords(request.level) },
          { label: 'Target', value: request.action.target ?? '—' },
          { label: 'State when requested', value: request.action.stateFingerprint },
          { label: 'Approvals needed', value: `${request.approvalsRequired} from ${request.approverRoles.join(', ')}` },
          { label: 'Expires', value: request.expiresAt.toISOString() },
        ],
      },
      ...(request.action.plan ? [{ type: 'text' as const, text: `Plan:\n${request.action.plan.join('\n')}` }] : []),
    ],
    footer: `Request ${request.id}`,
    data: { approval: { id: request.id, state: request.state, expires_at: request.expiresAt.toISOString() }, decision: trailDecision(decision) },
  };
}

export interface ApprovalClick {
  id: string;
  choice: ApprovalChoice;
  actor: Actor;
  channelId?: string;
  /** Where the steps go when this click runs the approved command (CommandContext.progress). */
  progress?: ProgressReporter;
}

export interface ApprovalClickOutcome {
  /** The store's code, or `unavailable` (no store, PostgreSQL away). */
  code: string;
  /** Whether this click changed the request: only then update its messages. */
  changed: boolean;
  request: ApprovalRequest | undefined;
  /** For the person who clicked when nothing changed; for the thread when it asks again. */
  sentence: Sentence;
  /** What the approved command did, when this click ran it. */
  ran?: { outcome: ExecutionOutcome['outcome']; document: ResultDocument };
}

/** One Approve, Deny or Cancel click, as the person who clicked, with their roles. */
export async function decideOnApproval(deps: ExecutionDeps, click: ApprovalClick): Promise<ApprovalClickOutcome> {
  const store = deps.services.approvals;
  if (!store) return unavailable('The approval store is not set up in this process; nothing was counted.');
  if (!isApprovalId(click.id)) return { code: 'not-found', changed: false, request: undefined, sentence: [notFoundText(click.id)] };
  // PostgreSQL can go away after this click's approval was committed and before the command started.
  let approvalCounted = false;
  try {
    const current = await store.get(click.id);
    if (!current) return { code: 'not-found', changed: false, request: undefined, sentence: [notFoundText(click.id)] };
    const command = deps.registry.find(current.action.command);
    const outcome =
      click.choice === 'cancel'
        ? await store.cancel(click.id, click.actor.id)
        : await store.vote(click.id, click.actor.id, await rolesOf(deps, click.actor, command, current), click.choice);
    const result: ApprovalClickOutcome = { code: outcome.code, changed: outcome.changed, request: outcome.request, sentence: outcome.sentence };
    if (!outcome.changed && outcome.request && isStalled(outcome.request)) {
      const retired = await retireStalledApproval(deps, outcome.request);
      if (retired) return { code: 'superseded', changed: true, request: retired, sentence: supersededSentence(retired) };
    }
    let notRecorded: string | undefined;
    if (outcome.changed && outcome.request) {
      approvalCounted = click.choice === 'approve';
      notRecorded = await recordClick(deps, click, outcome.request);
    }
    if (outcome.code === 'approved' && outcome.request) return { ...result, ...(await runApproved(deps, store, outcome.request, click.progress, notRecorded)) };
    return result;
  } catch (error) {
    if (error instanceof ApprovalStoreUnavailableError) {
      return unavailable(approvalCounted ? `${error.message} Your approval was counted before it went away, but nothing was run; ask for the command again once it is back.` : `${withoutFullStop(error.message)}; nothing was counted.`);
    }
    throw error;
  }
}

/**
 * How long an approved request may wait for its run to start before it counts as stalled. The
 * approving process claims the run within moments; only a crash or a database outage between the
 * approval and the claim leaves it longer, and then nobody is waiting for it any more.
 */
export const STALLED_AFTER_MS = 60_000;

export function isStalled(request: ApprovalRequest, now = Date.now()): boolean {
  return request.state === 'approved' && now - request.stateChangedAt.getTime() >= STALLED_AFTER_MS;
}

const STALLED_REASON = 'it was approved but its run never started (the bot or its database went away in between), and an approval is not carried out later by surprise';

/**
 * Ends an approved request whose run never started: never run late behind everyone's back, never
 * left showing buttons that only answer "already approved". Superseded, it says so and asks the
 * requester to ask again. Returns the request as it now is, or undefined when another process
 * claimed or ended it first.
 */
export async function retireStalledApproval(deps: ExecutionDeps, request: ApprovalRequest): Promise<ApprovalRequest | undefined> {
  const store = deps.services.approvals;
  if (!store || !isStalled(request)) return undefined;
  const superseded = await store.supersede(request.id, STALLED_REASON);
  if (!superseded.changed || !superseded.request) return undefined;
  const channel = request.messages[0]?.channel ?? null;
  await appendQuietly(
    deps,
    { ...trailCommon(request, request.requester, 'system', channel), kind: 'approval_resolved', key: `approval_resolved:${request.id}:superseded`, outcome: 'superseded', details: { request_id: request.id, reason: STALLED_REASON } },
    { id: request.requester },
  );
  return superseded.request;
}

/**
 * At start: runs left `executing` by a process that is gone become `outcome_unknown` (never re-run),
 * each recorded in the trail; returns those THIS call marked, for the caller to say so in Slack.
 * Of replicas starting together, each request is returned to exactly one.
 */
export async function settleInterruptedRuns(deps: ExecutionDeps, options: { now?: Date; orphanAfterMs?: number } = {}): Promise<ApprovalRequest[]> {
  const store = deps.services.approvals;
  if (!store) return [];
  const interrupted = await store.markInterrupted(options);
  for (const request of interrupted) {
    await appendQuietly(
      deps,
      {
        ...trailCommon(request, 'system', 'system', request.messages[0]?.channel ?? null),
        kind: 'approval_resolved',
        key: `approval_resolved:${request.id}:outcome_unknown`,
        outcome: 'outcome_unknown',
        details: { request_id: request.id, reason: request.endedReason ?? null, approved_by: request.approvedBy },
      },
      { id: request.requester },
    );
  }
  return interrupted;
}

/** What the channel is told about a run whose outcome is unknown (bot/slack posts it once). */
export function outcomeUnknownSentence(request: ApprovalRequest): Sentence {
  return [
    { user: request.requester },
    `: the approved \`${redactText(request.action.line)}\` was running when the bot stopped. Whether it finished is unknown, and it was not run again; check the stack (for example \`/acgs status\`) before asking again.`,
  ];
}

/** A store error's sentence, to go on with "; nothing was ...". */
const withoutFullStop = (message: string) => message.replace(/\.\s*$/, '');

function unavailable(text: string): ApprovalClickOutcome {
  return { code: 'unavailable', changed: false, request: undefined, sentence: [text] };
}

/** The clicking person's roles, as the command gate resolves them (config file and Slack user groups). */
async function rolesOf(deps: ExecutionDeps, actor: Actor, command: CommandDefinition | undefined, request: ApprovalRequest): Promise<string[]> {
  if (!command || !deps.services.authorization) return [];
  const subject = authorizationSubjectOf(command, request.action.args, deps.services);
  const gated = await deps.services.authorization.decide({ actor, command, args: request.action.args, ...(subject ? { subject } : {}) });
  return [...gated.input.user.roles];
}

function trailCommon(request: ApprovalRequest, actor: string, origin: 'button' | 'approval' | 'system', channel: string | null): Omit<TrailRecordInput, 'kind'> {
  return { actor, origin, channel, command: request.action.command, args: request.action.args, level: request.level };
}

/** Records the vote (and how the request ended); the sentence saying why, when one of them could not be stored. */
async function recordClick(deps: ExecutionDeps, click: ApprovalClick, request: ApprovalRequest): Promise<string | undefined> {
  const common = trailCommon(request, click.actor.id, 'button', click.channelId ?? null);
  const details = { request_id: request.id, choice: click.choice, state: request.state, approved_by: request.approvedBy };
  const records: TrailRecordInput[] = click.choice === 'cancel' ? [] : [{ ...common, kind: 'vote', key: `vote:${request.id}:${click.actor.id}`, details }];
  if (request.state !== 'pending') records.push({ ...common, kind: 'approval_resolved', key: `approval_resolved:${request.id}:${request.state}`, outcome: request.state, details });
  let notRecorded: string | undefined;
  for (const record of records) {
    const failure = await appendQuietly(deps, record, click.actor);
    notRecorded ??= failure;
  }
  return notRecorded;
}

/** A failure goes to the log and comes back as a sentence (a full disk while PostgreSQL is away). */
async function appendQuietly(deps: ExecutionDeps, record: TrailRecordInput, actor: Actor): Promise<string | undefined> {
  try {
    await deps.services.trail?.append(record);
    return undefined;
  } catch (error) {
    deps.logError?.(randomUUID().slice(0, 8), error, { line: record.command ?? '', actor, origin: 'approval' });
    return error instanceof Error && error.name === 'AuditTrailUnavailableError' ? error.message : `The bot's audit trail refused the record of this approval (${(error as Error)?.message ?? String(error)}).`;
  }
}

/**
 * The approval that completed the request: the policy and the state are checked again, one caller
 * claims the execution, the chain records it, and the command runs exactly as approved.
 */
async function runApproved(
  deps: ExecutionDeps,
  store: ApprovalStore,
  approved: ApprovalRequest,
  progress: ProgressReporter | undefined,
  /** Why the vote that approved it, or the approval itself, is not in the trail: then it does not run. */
  notRecorded?: string,
): Promise<Pick<ApprovalClickOutcome, 'code' | 'request' | 'sentence' | 'ran'>> {
  const requester: Actor = { id: approved.requester };
  // Where it was requested: the first message the Slack layer attached (none for the CLI).
  const channel = approved.messages[0]?.channel;
  // The stored arguments are the schema's output; the line is parsed again and must give the same
  // ones. Compared canonically: PostgreSQL's jsonb keeps keys in its own order, not the schema's.
  const resolved = deps.registry.resolve(approved.action.line);
  const command = resolved.ok && resolved.command.name === approved.action.command ? resolved.command : undefined;
  const parsed = resolved.ok && canonicalJson(resolved.args ?? {}) === canonicalJson(approved.action.args) ? { success: true as const, data: resolved.args } : undefined;
  const askAgain = async (reason: string) => {
    const superseded = await store.supersede(approved.id, reason);
    if (superseded.changed) {
      await appendQuietly(deps, { ...trailCommon(approved, approved.requester, 'approval', channel ?? null), kind: 'approval_resolved', key: `approval_resolved:${approved.id}:superseded`, outcome: 'superseded', details: { request_id: approved.id, reason } }, requester);
    }
    return { code: 'superseded', request: superseded.request, sentence: superseded.request ? supersededSentence(superseded.request) : superseded.sentence };
  };
  if (!command || !parsed?.success) return askAgain(`the command \`${approved.action.command}\` no longer takes these arguments`);

  const gate = deps.services.authorization ?? closedGate(NO_POLICY_PROBLEM);
  // The same subject as at the request: a runbook whose level changed since asks again below.
  const subject = authorizationSubjectOf(command, parsed.data, deps.services);
  const gated = await gate.decide({ actor: requester, command, args: parsed.data, ...(channel ? { channelId: channel } : {}), ...(subject ? { subject } : {}) });
  const { decision } = gated;
  if (!decision.allow || decision.level !== approved.level || decision.approvals_required > approved.approvalsRequired || !sameRoles(decision.approver_roles, approved.approverRoles)) {
    return askAgain(`the policy's decision changed since the request (now: ${decision.reason})`);
  }
  const context: CommandContext = {
    actor: requester,
    origin: 'approval',
    roles: gated.input.user.roles,
    services: deps.services,
    authorization: gate,
    registry: deps.registry,
    signal: new AbortController().signal,
    progress: quietProgress(progress, (error) => deps.logError?.(randomUUID().slice(0, 8), error, { line: approved.action.line, actor: requester, origin: 'approval' })),
    ...(channel ? { channelId: channel } : {}),
    approvalId: approved.id,
    approvedBy: approved.approvedBy,
    // One execution per approved request (claimExecution): the request is the identity.
    requestId: `approval:${approved.id}`,
  };
  let plan: ApprovalPlan;
  try {
    plan = await planOf(command, context, parsed.data, approved.action.line);
  } catch (error) {
    return askAgain(`the state could not be read again (${error instanceof Error ? error.message : String(error)})`);
  }
  // A plan that can say what changed says it; the claim below still compares the fingerprints itself.
  const changed = plan.fingerprint !== approved.action.stateFingerprint ? plan.explainChange?.(approved.action.stateFingerprint) : undefined;
  if (changed) return askAgain(`the plan changed since the request: ${changed}`);
  const claim = await store.claimExecution(approved.id, { stateFingerprint: plan.fingerprint });
  if (claim.code === 'superseded') {
    await appendQuietly(deps, { ...trailCommon(approved, approved.requester, 'approval', channel ?? null), kind: 'approval_resolved', key: `approval_resolved:${approved.id}:superseded`, outcome: 'superseded', details: { request_id: approved.id, was: approved.action.stateFingerprint, now: plan.fingerprint } }, requester);
    return { code: 'superseded', request: claim.request, sentence: claim.request ? supersededSentence(claim.request) : claim.sentence };
  }
  if (claim.code !== 'claimed') return { code: claim.code, request: claim.request, sentence: claim.sentence };

  const executionId = randomUUID();
  const common = { ...trailCommon(approved, approved.requester, 'approval', channel ?? null), decision: trailDecision(decision) };
  const refusal =
    notRecorded ?? (await gateOnTrail(deps.services.trail, { ...common, kind: 'execution', key: `execution:${executionId}`, details: { execution_id: executionId, request_id: approved.id, approved_by: approved.approvedBy } }));
  if (refusal) {
    const finished = await store.finish(approved.id, false, { refused: refusal });
    const document = commandErrorDocument(new CommandError(refusal, 'Nothing was run; ask again once the trail is back.', 'unavailable'), command.name);
    return { code: 'refused', request: finished.request, sentence: [refusal], ran: { outcome: 'rejected', document } };
  }
  const started = performance.now();
  context.approvedPlan = plan.fingerprint;
  const ran = await runCommand(deps, { line: approved.action.line, actor: requester, origin: 'approval', ...(channel ? { channelId: channel } : {}) }, command, parsed.data, context);
  await appendQuietly(
    deps,
    { ...common, kind: 'result', key: `result:${executionId}`, outcome: ran.outcome === 'rejected' ? (ran.rejection ?? 'rejected') : ran.outcome, details: { execution_id: executionId, request_id: approved.id, duration_ms: Math.round(performance.now() - started), title: ran.document.title } },
    requester,
  );
  if (ran.rejection === 'superseded') {
    // The command found, where it takes effect, that what would run is not what was approved; it ran nothing.
    const reason = `the plan changed since the request: ${withoutFullStop(ran.document.summary ?? ran.document.title)}`;
    const superseded = await store.supersedeClaimed(approved.id, reason);
    if (superseded.changed) {
      await appendQuietly(deps, { ...trailCommon(approved, approved.requester, 'approval', channel ?? null), kind: 'approval_resolved', key: `approval_resolved:${approved.id}:superseded`, outcome: 'superseded', details: { request_id: approved.id, reason } }, requester);
    }
    return { code: 'superseded', request: superseded.request, sentence: superseded.request ? supersededSentence(superseded.request) : superseded.sentence, ran: { outcome: ran.outcome, document: ran.document } };
  }
  const ok = ran.outcome === 'ok' || ran.outcome === 'info' || ran.outcome === 'warn';
  try {
    const finished = await store.finish(approved.id, ok, { outcome: ran.outcome, title: ran.document.title, summary: ran.document.summary ?? null });
    return { code: 'executed', request: finished.request, sentence: finished.sentence, ran: { outcome: ran.outcome, document: ran.document } };
  } catch (error) {
    if (!(error instanceof ApprovalStoreUnavailableError)) throw error;
    // It ran: saying "nothing was run" here would have someone run it a second time. The row
    // stays `executing` (reported at the next start); the messages show what the run did.
    const shown: ApprovalRequest = { ...(claim.request ?? approved), state: ok ? 'executed' : 'failed', stateChangedAt: new Date() };
    return {
      code: 'executed',
      request: shown,
      sentence: [`It ran (${ran.outcome}), but the approval store could not record its end: ${withoutFullStop(error.message)}`],
      ran: { outcome: ran.outcome, document: ran.document },
    };
  }
}

function sameRoles(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().every((role, index) => role === [...b].sort()[index]);
}

function supersededSentence(request: ApprovalRequest): Sentence {
  // Posted in the channel: a secret typed into the line is not echoed (the requester still has it).
  return ['Not run: ', request.endedReason ?? 'the situation changed after it was requested', '. ', { user: request.requester }, `, please ask again: \`${redactText(request.action.line)}\``];
}

/** The sentence as plain text, for logs and the CLI. */
export const sentenceText = (sentence: Sentence) => plainText(sentence);
