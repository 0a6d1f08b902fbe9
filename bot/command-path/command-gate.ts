/**
 * The authorization step of the command path: who is asking (roles from the config file and
 * Slack user groups), what (the resolved command and its parsed arguments), where (the channel),
 * the stack's modes (strict, lockdown) and the time, decided by the acgs.chatops policy
 * (bot/authorization). Slack, the console, the CLI and `/acgs can` all ask through a CommandGate.
 *
 * Fail closed: without a policy every decision is the policy's fallback (read-only commands run,
 * everything else is refused); when the stack's modes cannot be read, a command the rules call
 * read-only still runs and any other is refused, because a lockdown we cannot see must not be
 * walked through.
 */
import {
  type AuthorizationDecision,
  type AuthorizationInput,
  type AuthorizeCommand,
  type Authorizer,
  buildAuthorizationInput,
  createCommandAuthorization,
  fallbackDecision,
  type RoleResolver,
} from '../authorization/index.js';
import type { Actor, AuthorizationSubject, CommandDefinition } from '../../commands/command.js';
import type { EngineModes } from '../../services/policy-engine/contract.js';

/** The Policy Engine's modes, as its contract defines them; re-exported for the command path's users. */
export type { EngineModes };

/**
 * `stale`: the Policy Engine does not answer now, and these are the modes it last reported, at
 * most `DEFAULT_MODES_MAX_STALE_MS` ago. After that they are unknown: another replica of the
 * engine, or one restarted from another state, may have changed them meanwhile.
 */
export type ModesReading = ({ known: true; stale?: string } & EngineModes) | { known: false; problem: string };

/** The stack's modes as the Policy Engine reports them. */
export interface StackModes {
  read(): Promise<ModesReading>;
}

export const DEFAULT_MODES_TTL_MS = 3000;
export const DEFAULT_MODES_TIMEOUT_MS = 2000;
/** How long the modes last read stand in for a Policy Engine that does not answer. */
export const DEFAULT_MODES_MAX_STALE_MS = 60_000;

/**
 * Modes read from the Policy Engine (its /v1/metrics `mode`), cached for `ttlMs` so a burst of
 * commands asks once; concurrent reads share one call. A failure is not cached: the next command
 * asks again. While the engine does not answer, the modes last read are used for up to
 * `maxStaleMs` after they were read, then they are unknown (and escalated commands fail closed).
 */
export function policyEngineModes(
  read: () => Promise<EngineModes>,
  options: { ttlMs?: number; timeoutMs?: number; maxStaleMs?: number; clock?: () => number } = {},
): StackModes {
  const ttlMs = options.ttlMs ?? DEFAULT_MODES_TTL_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_MODES_TIMEOUT_MS;
  const maxStaleMs = options.maxStaleMs ?? DEFAULT_MODES_MAX_STALE_MS;
  const clock = options.clock ?? (() => Date.now());
  let cached: { modes: EngineModes; at: number } | undefined;
  let pending: Promise<ModesReading> | undefined;
  const ask = async (): Promise<ModesReading> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const modes = await Promise.race([
        read(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      cached = { modes: { strict: modes.strict, lockdown: modes.lockdown }, at: clock() };
      return { known: true, ...cached.modes };
    } catch (error) {
      const problem = (error as Error)?.message || String(error);
      if (!cached) return { known: false, problem };
      const ageMs = clock() - cached.at;
      if (ageMs <= maxStaleMs) return { known: true, ...cached.modes, stale: problem };
      return {
        known: false,
        problem: `${problem}; the modes it last reported were read ${Math.round(ageMs / 1000)} s ago, more than the ${Math.round(maxStaleMs / 1000)} s they are trusted for`,
      };
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    async read() {
      if (cached && clock() - cached.at < ttlMs) return { known: true, ...cached.modes };
      pending ??= ask().finally(() => (pending = undefined));
      return pending;
    },
  };
}

/** Modes that never change: the tests, and processes that are told the modes. */
export function fixedModes(modes: EngineModes): StackModes {
  return { read: async () => ({ known: true, ...modes }) };
}

export interface GateRequest {
  actor: Actor;
  command: Pick<CommandDefinition, 'name' | 'level'>;
  args: unknown;
  channelId?: string;
  now?: Date;
  /** `break-glass "<reason>" <command>`: an admin runs a Level 4 action at once; the policy checks role, level and reason. */
  breakGlassReason?: string;
  /** The runbook a run starts (the command's authorizationSubject hook): decided at its level. */
  subject?: AuthorizationSubject;
}

export interface GateDecision {
  decision: AuthorizationDecision;
  /** What the policy saw (for the audit trail, and to re-check before an approved action runs). */
  input: AuthorizationInput;
  modes: ModesReading;
}

export interface CommandGate {
  decide(request: GateRequest): Promise<GateDecision>;
}

export interface CommandGateOptions {
  authorizer: Authorizer;
  roles: RoleResolver;
  modes: StackModes;
  /** The config file's `channels` section, so the policy knows a channel's purpose. */
  channels?: Readonly<Partial<Record<string, string>>>;
}

export function createCommandGate(options: CommandGateOptions): CommandGate {
  const authorize: AuthorizeCommand = createCommandAuthorization(options.authorizer, options.roles);
  return {
    async decide(request) {
      const modes = await options.modes.read();
      const decideWith = (assumed: { strict: boolean; lockdown: boolean }) =>
        authorize({
          userId: request.actor.id,
          command: request.command,
          args: request.args,
          ...(request.channelId ? { channelId: request.channelId } : {}),
          ...(options.channels ? { channels: options.channels } : {}),
          modes: assumed,
          now: request.now ?? new Date(),
          ...(request.breakGlassReason === undefined ? {} : { breakGlassReason: request.breakGlassReason }),
          ...(request.subject ? { subject: request.subject } : {}),
        });
      const { decision, input } = await decideWith(modes.known ? { strict: modes.strict, lockdown: modes.lockdown } : { strict: false, lockdown: false });
      if (modes.known && modes.stale) return { decision: withStaleModes(decision, modes.stale), input, modes };
      if (modes.known) return { decision, input, modes };
      // A command the policy allows in strict mode and lockdown alike (acknowledging an alert) is
      // allowed whatever the modes are: not knowing them is no reason to refuse it.
      if (decision.allow && decision.level > 0) {
        const strictest = await decideWith({ strict: true, lockdown: true });
        if (strictest.decision.allow) return { decision: withModesIrrelevant(strictest.decision, modes.problem), input: strictest.input, modes };
      }
      return { decision: withUnknownModes(decision, request.command.name, request.args, modes.problem), input, modes };
    },
  };
}

function withStaleModes(decision: AuthorizationDecision, problem: string): AuthorizationDecision {
  return {
    ...decision,
    reason: `${decision.reason} Note: the Policy Engine does not answer (${problem}); the modes it last reported were used, as they are for a limited time after they were read; after that they count as unknown.`,
  };
}

function withModesIrrelevant(decision: AuthorizationDecision, problem: string): AuthorizationDecision {
  return {
    ...decision,
    reason: `${decision.reason} Note: the stack's modes could not be read from the Policy Engine (${problem}); this command is allowed in strict mode and lockdown alike, so it runs.`,
  };
}

/**
 * The rules' level decides what "read-only" means; other commands wait until the modes are known,
 * except the one recovery step that makes them known: a Level 1 restart of the Policy Engine
 * itself. Refusing it would leave on-call unable to bring back the service that reports the
 * modes, and a restart cannot lift a lockdown (the engine restores its modes from its state).
 */
function withUnknownModes(decision: AuthorizationDecision, name: string, args: unknown, problem: string): AuthorizationDecision {
  const unknown = `the stack's modes (strict mode, lockdown) could not be read from the Policy Engine (${problem})`;
  if (decision.level === 0) return { ...decision, reason: `${decision.reason} Note: ${unknown}; read-only commands still run.` };
  if (!decision.allow) return decision;
  const service = (args as { service?: unknown } | undefined)?.service;
  if (name === 'restart' && service === 'policy-engine' && decision.level === 1 && decision.approvals_required === 0) {
    return { ...decision, reason: `${decision.reason} Note: ${unknown}; restarting the Policy Engine is allowed as the step that brings them back.` };
  }
  return {
    allow: false,
    code: 'policy_unavailable',
    reason: `"${name}" is refused because ${unknown}: a lockdown cannot be ruled out, so commands that change the stack fail closed until the Policy Engine answers. Read-only commands still run.`,
    level: decision.level,
    approvals_required: 0,
    approver_roles: [],
    distinct_approvers: false,
    break_glass: false,
  };
}

/**
 * A process without the policy (or one whose set-up failed): every decision is the fallback,
 * so read-only commands run and everything else is refused with `problem`.
 */
export function closedGate(problem: string): CommandGate {
  return {
    async decide(request) {
      const input = buildAuthorizationInput({
        userId: request.actor.id,
        roles: [],
        command: request.command,
        args: request.args,
        ...(request.channelId ? { channelId: request.channelId } : {}),
        modes: { strict: false, lockdown: false },
        now: request.now ?? new Date(),
        ...(request.breakGlassReason === undefined ? {} : { breakGlassReason: request.breakGlassReason }),
        ...(request.subject ? { subject: request.subject } : {}),
      });
      return { decision: fallbackDecision(input, problem, undefined), input, modes: { known: false, problem } };
    },
  };
}

export const NO_POLICY_PROBLEM = 'no authorization policy is set up in this process';
