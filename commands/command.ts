/**
 * What a command is: a name, its arguments as data and a zod schema, words for help, and a plain
 * async handler. Nothing here knows Slack, the terminal or Docker.
 */
import type { z } from 'zod';
import type { AuthorizationSubject, CommandAuthorization } from './ports.js';

export type { AuthorizationSubject } from './ports.js';
import type { ProgressStep } from './progress.js';
import type { ResultDocument } from './result.js';
import type { CommandDependencies } from './dependencies.js';

/**
 * Where a command came from; recorded in the audit trail and shown in replies (`approval`: run once
 * approved; `auto`: the bot acting on its own, Level 1 auto-resolution of an alert).
 */
export type CommandOrigin = 'slash' | 'mention' | 'button' | 'home' | 'cli' | 'schedule' | 'alert' | 'approval' | 'auto';

export interface Actor {
  /** Slack user ID, or `cli:<os user>` for the CLI. */
  id: string;
  /** Display name when known; never trusted for decisions. */
  name?: string;
}

export interface CommandContext {
  actor: Actor;
  /** Slack channel ID the command was typed in, when there is one. */
  channelId?: string;
  origin: CommandOrigin;
  /**
   * The actor's roles as the authorization step resolved them (`roles.<role>` of the bot's config
   * file and Slack user groups; the CLI's from the config file's `cli_users`). The policy has already decided.
   */
  roles: readonly string[];
  /** What the command talks to: service clients, the Stack port, the stack's database and Redis, the bot's audit log. */
  services: CommandDependencies;
  /**
   * The authorization gate this line was decided by, for commands that explain decisions (`can`):
   * without a policy in the process it is the fail-closed fallback (read-only runs, nothing else).
   */
  authorization: CommandAuthorization;
  /** The registry, for commands that describe other commands (help, can). */
  registry: CommandCatalog;
  /** Aborted when the caller gives up (CLI Ctrl-C, bot shutdown). */
  signal: AbortSignal;
  /**
   * Tells a step of a multi-step command as it happens (commands/progress.ts): in Slack the first
   * step is the reply and the next ones go in a thread under it; the CLI prints them. Never throws.
   */
  progress(step: ProgressStep): Promise<void>;
  /**
   * The `execution` record the command path committed to the trail before this escalated command
   * ran (absent for read-only commands): a stack owned by another process asks for it as proof
   * that the action is recorded (RestartOptions.executionRecord).
   */
  execution?: CommittedExecution;
  /**
   * The fingerprint of the plan an approval bound this command to (origin `approval`), made again
   * just before it ran: a command whose action could still change before it takes effect (a run
   * submitted on the runbook's current code) checks it there and throws a `superseded` CommandError.
   */
  approvedPlan?: string;
  /**
   * The approval request this line is asked as (an id its caller reserved: a gate step's own
   * `run pass`) or runs under (the approved request). Absent for a line typed by a person.
   */
  approvalId?: string;
  /** Who approved it, for a command run once approved (origin `approval`): the request's approvers. */
  approvedBy?: readonly string[];
  /**
   * The identity of the request this line came in, the same when it is delivered again (Slack's
   * trigger id; an approved run's request), else this execution's own id: what a command records
   * once per request keys its writes with (the incident store's request keys).
   */
  requestId?: string;
}

export interface CommittedExecution {
  /** The record's key in the chain (`execution:<id>`, or `cli:execution:<id>` when relayed). */
  key: string;
  sequence: number;
}

export type FlagSpec = { type: 'string' | 'boolean'; short?: string; description: string };

/**
 * The runbook's escalation levels; `read` changes nothing. The authorization policy reads this as
 * the registry's claim; its data (bot/authorization/defaults.json) decides.
 */
export type CommandLevel = 'read' | 1 | 2 | 3 | 4;

export interface CommandDefinition<S extends z.ZodType = z.ZodType> {
  /** One or two words, for example `health` or `audit verify`. */
  name: string;
  aliases?: readonly string[];
  /** One line for `/acgs help`. */
  summary: string;
  /** Argument synopsis after the name, for example `<service> [--tail N]`. */
  usage?: string;
  /** Complete example lines without the `/acgs` prefix. */
  examples: readonly string[];
  level: CommandLevel;
  /** Positional argument names in order; they become keys of the object the schema parses. */
  positionals?: readonly string[];
  flags?: Readonly<Record<string, FlagSpec>>;
  /**
   * The arguments are another command line (`can <command ...>`): the rest of the line, quoted
   * again where a word has spaces, is given to the schema as `{ line }` without parsing flags.
   */
  rawArguments?: boolean;
  /** It works on the Stack port: processes that build the stack lazily (the CLI) build it only for these. */
  usesStack?: boolean;
  /** Validates `{ ...positionals, ...flags }`; its messages are shown to the user as they are. */
  args: S;
  run(context: CommandContext, args: z.infer<S>): Promise<ResultDocument>;
  /**
   * What an approval is bound to, for commands that wait for approvers: the plan in words, its
   * target, and a fingerprint of the state it was made from (readable: it is shown as "state when
   * requested"). Asked again just before the approved command runs; a different fingerprint means
   * the state changed and the request asks again. Without it the fingerprint is the line itself.
   */
  plan?(context: CommandContext, args: z.infer<S>): Promise<ApprovalPlan>;
  /**
   * What the authorization decision is about when it is more than the command: `run restore`
   * starts runbook "restore", decided at that runbook's level. Given the parsed arguments and the
   * process's services (the runbook registry), never anything the user typed as a level; undefined
   * when the arguments name nothing the bot knows (the command's own rule decides then). The
   * command path, the approval re-check and `can` all ask it.
   */
  authorizationSubject?(args: z.infer<S>, services: CommandDependencies): AuthorizationSubject | undefined;
}


/** The command's authorization subject for these arguments; undefined when it has no hook or the hook finds nothing. */
export function authorizationSubjectOf(command: Pick<CommandDefinition, 'authorizationSubject'>, args: unknown, services: CommandDependencies): AuthorizationSubject | undefined {
  return command.authorizationSubject?.(args, services);
}

export interface ApprovalPlan {
  summary: string;
  target?: string;
  fingerprint: string;
  /** The plan step by step, shown on the approval request (Slack and the console) and stored with it. */
  details?: string[];
  /**
   * Which part of the plan differs from the one with `earlier` as its fingerprint, as a clause
   * ("its arguments changed"); the request is superseded with it instead of the generic reason.
   */
  explainChange?(earlier: string): string | undefined;
}

/** Keeps the handler's argument type tied to the schema without repeating it. */
export function defineCommand<S extends z.ZodType>(definition: CommandDefinition<S>): CommandDefinition<S> {
  return definition;
}

/** The read-only view of the registry that commands may use. */
export interface CommandCatalog {
  list(): readonly CommandDefinition[];
  find(name: string): CommandDefinition | undefined;
  /** Resolves another command line (for `can`), exactly as the command path would. */
  resolve(line: string): { ok: true; command: CommandDefinition; args: unknown; line: string } | { ok: false; error: CommandError };
}

/**
 * A failure whose message is safe and useful to show as it is: bad arguments, an unknown
 * service, a dependency that is down. Anything else is an internal error and is shown only as a
 * reference number.
 */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    /** `superseded`: what was approved is not what would run now (nothing ran; the approval asks again). */
    readonly kind: 'usage' | 'unavailable' | 'refused' | 'superseded' = 'usage',
  ) {
    super(message);
    this.name = 'CommandError';
  }
}
