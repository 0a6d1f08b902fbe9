/**
 * What the policy decides on (its input) and what it answers (its decision), as plain data.
 * buildAuthorizationInput is the pure step that turns a command about to run into the input.
 */
import type { AuthorizationSubject, CommandLevel } from '../../commands/command.js';
import type { EngineModes } from '../../services/policy-engine/contract.js';

/** 0 read-only, 1 automatic, 2 human decision, 3 critical, 4 emergency (the runbook's levels). */
export type AuthorizationLevel = 0 | 1 | 2 | 3 | 4;

export interface AuthorizationInput {
  user: { id: string; roles: readonly string[] };
  command: { name: string; args: unknown; /** The registry's level; the policy's data decides. */ level: AuthorizationLevel };
  /** Absent for the CLI. `purpose` is the config's name for the channel (ops, approvals, ...). */
  channel?: { id: string; purpose?: string };
  modes: EngineModes;
  /** RFC 3339 text or nanoseconds since the epoch. */
  time: string | number;
  /** Present when an admin asks to run a Level 4 action at once; the reason is mandatory. */
  break_glass?: { reason: string };
  /** The runbook a run starts: its name and level from the bot's runbook registry; the policy decides at that level. */
  runbook?: { name: string; level: AuthorizationLevel; dry_run: boolean; approvals?: number };
}

export const DECISION_CODES = [
  'allowed',
  'approval_required',
  'break_glass',
  'bad_input',
  'unknown_command',
  'lockdown',
  'break_glass_role',
  'break_glass_level',
  'break_glass_reason',
  'role',
  'channel',
  'time_unknown',
  'change_freeze',
  /** Not from the policy: the fallback when the policy cannot load or evaluate. */
  'policy_unavailable',
  /** Not from the policy: a break-glass typed in the CLI, refused whatever the roles (bot/cli-identity.ts). */
  'break_glass_origin',
] as const;
export type DecisionCode = (typeof DECISION_CODES)[number];

export interface AuthorizationDecision {
  /** With approvals_required > 0: the user may request it, and it waits for approvals. */
  allow: boolean;
  code: DecisionCode;
  /** A sentence a person understands; may quote configured text, so escape it before Slack. */
  reason: string;
  level: AuthorizationLevel;
  approvals_required: number;
  approver_roles: string[];
  distinct_approvers: boolean;
  break_glass: boolean;
}

export function authorizationLevelOf(level: CommandLevel): AuthorizationLevel {
  return level === 'read' ? 0 : level;
}

export interface CommandRequest {
  userId: string;
  roles: readonly string[];
  command: { name: string; level: CommandLevel };
  args: unknown;
  /** Where it was typed; undefined for the CLI. */
  channelId?: string;
  /** The config's `channels` section, to name the channel's purpose. */
  channels?: Readonly<Partial<Record<string, string>>>;
  modes: EngineModes;
  now: Date;
  breakGlassReason?: string;
  /** What the command's authorizationSubject hook gave (commands/command.ts). */
  subject?: AuthorizationSubject;
}

export function buildAuthorizationInput(request: CommandRequest): AuthorizationInput {
  const purpose = request.channelId === undefined ? undefined : Object.entries(request.channels ?? {}).find(([, id]) => id === request.channelId)?.[0];
  return {
    user: { id: request.userId, roles: [...request.roles] },
    command: { name: request.command.name, args: request.args ?? {}, level: authorizationLevelOf(request.command.level) },
    ...(request.channelId === undefined ? {} : { channel: { id: request.channelId, ...(purpose ? { purpose } : {}) } }),
    modes: { strict: request.modes.strict, lockdown: request.modes.lockdown },
    // Nanoseconds as a number: no parsing in the policy on the hot path.
    time: request.now.getTime() * 1e6,
    ...(request.breakGlassReason === undefined ? {} : { break_glass: { reason: request.breakGlassReason } }),
    ...(request.subject
      ? {
          runbook: {
            name: request.subject.runbook.name,
            level: request.subject.runbook.level,
            dry_run: request.subject.runbook.dryRun,
            ...(request.subject.runbook.approvals === undefined ? {} : { approvals: request.subject.runbook.approvals }),
          },
        }
      : {}),
  };
}
