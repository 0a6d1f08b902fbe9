/**
 * What the command path runs with: everything commands may talk to (commands/dependencies.ts), with
 * the bot's own implementations of their ports (the audit trail behind the audit-log reader) and
 * what only the path uses: the command gate and the approval store.
 */
import { createCommandDependencies, type CommandDependencies, type CommandDependenciesOptions } from '../../commands/dependencies.js';
import type { ApprovalStore } from '../approvals/index.js';
import type { AuditTrail } from '../audit-trail/index.js';
import type { CommandGate } from './command-gate.js';
import type { Actor, CommandContext, CommandError, CommandOrigin } from '../../commands/command.js';
import type { ResultDocument } from '../../commands/result.js';

/**
 * What ran, for whoever keeps a record of it beside the trail (the incident timeline); a line
 * typed wrong never ran and is not told.
 */
export interface CommandRan {
  command: string;
  line: string;
  actor: Actor;
  origin: CommandOrigin;
  /** When the handler started: the time the command happened. */
  startedAt: Date;
  /** Its channel, request id and committed execution record are in here. */
  context: CommandContext;
  outcome: ResultDocument['tone'] | 'rejected' | 'error';
  document: ResultDocument;
  rejection?: CommandError['kind'];
}

export interface CommandPathDependencies extends CommandDependencies {
  /**
   * Who may run what (the acgs.chatops policy with roles and the stack's modes). Without it every
   * decision is the policy's fallback: read-only commands run, everything else is refused.
   */
  authorization?: CommandGate;
  /**
   * The bot's own audit trail. Without it nothing is recorded and commands that change the stack
   * are refused (they never run unrecorded); `audit` says it is not set up.
   */
  trail?: AuditTrail;
  /**
   * Where escalated commands wait for approvers (PostgreSQL, shared by replicas). Without it a
   * command that needs approvals is refused: it can be neither requested nor run.
   */
  approvals?: ApprovalStore;
  /**
   * Told of every command that ran, after its handler (run-command.ts): the incident timeline
   * (bot/incidents/command-timeline.ts). A failure here is logged and changes nothing of the answer.
   */
  afterCommand?: (ran: CommandRan) => Promise<void>;
}

export interface CommandPathDependenciesOptions extends CommandDependenciesOptions {
  authorization?: CommandGate;
  trail?: AuditTrail;
  approvals?: ApprovalStore;
}

export function createCommandPathDependencies(options: CommandPathDependenciesOptions): CommandPathDependencies {
  return {
    ...createCommandDependencies(options),
    ...(options.authorization ? { authorization: options.authorization } : {}),
    ...(options.trail ? { trail: options.trail } : {}),
    ...(options.approvals ? { approvals: options.approvals } : {}),
  };
}
