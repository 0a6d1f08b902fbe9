/**
 * What an approval request is, as plain data shared by Slack, the console and the CLI. Nothing
 * here knows Slack: channel and message references are opaque strings the Slack layer fills in.
 */
import { z } from 'zod';

export const APPROVAL_STATES = [
  'pending',
  'approved',
  'denied',
  'cancelled',
  'expired',
  'executing',
  'executed',
  'failed',
  /** The policy or the stack's state changed between the request and its execution: ask again. */
  'superseded',
  /** It was running when its process stopped (a crash): whether it finished is unknown; never run again. */
  'outcome_unknown',
] as const;
export type ApprovalState = (typeof APPROVAL_STATES)[number];

/** States from which nothing moves any more. */
export const FINAL_STATES: ReadonlySet<ApprovalState> = new Set(['denied', 'cancelled', 'expired', 'executed', 'failed', 'superseded', 'outcome_unknown']);

export type VoteChoice = 'approve' | 'deny';

/** The exact action an approval is bound to; a changed fingerprint at execution time supersedes it. */
export interface ApprovalAction {
  /** The registry's command name, for example `scale`. */
  command: string;
  /** The parsed arguments, as the command's schema produced them. */
  args: Record<string, unknown>;
  /** The command line as typed, for showing and for re-running. */
  line: string;
  /** What it acts on, for example `policy-engine`; undefined when the command has no single target. */
  target?: string;
  /** A digest of the stack state the plan was made from; compared again just before executing. */
  stateFingerprint: string;
  /** The plan step by step as people read it (a runbook run's steps); absent when the summary is all. */
  plan?: string[];
}

/** Where the Slack layer posted (or updated) the request; opaque to this module. */
export interface ApprovalMessageRef {
  channel: string;
  ts?: string;
  thread?: string;
}

export interface ApprovalVote {
  voter: string;
  /** The voter's roles when they voted, kept for the record. */
  roles: string[];
  vote: VoteChoice;
  at: Date;
}

export interface ApprovalRequest {
  id: string;
  action: ApprovalAction;
  requester: string;
  messages: ApprovalMessageRef[];
  /** The runbook's escalation level: 1 automatic, 2 human decision, 3 critical, 4 emergency. */
  level: 1 | 2 | 3 | 4;
  approvalsRequired: number;
  /** Holding any one of these roles lets a person vote. */
  approverRoles: string[];
  /**
   * The policy's `distinct_approvers`, recorded as given. Each person counts once whatever it says:
   * the store never lets one person's second click count.
   */
  distinctApprovers: boolean;
  /** The people whose approval counted, in the order they were counted. */
  approvedBy: string[];
  reason?: string;
  /** An admin ran it at once with a mandatory reason: created approved, flagged for review. */
  breakGlass: boolean;
  createdAt: Date;
  expiresAt: Date;
  state: ApprovalState;
  stateChangedAt: Date;
  /** Who ended it: the person who denied or cancelled it. */
  endedBy?: string;
  /** Why it ended when a check ended it (superseded), in words. */
  endedReason?: string;
  votes: ApprovalVote[];
  /** What the execution reported (finish), as plain JSON data. */
  result?: unknown;
}

/** The runbook's default: a request nobody decided on within 15 minutes expires. */
export const DEFAULT_APPROVAL_TTL_MS = 15 * 60 * 1000;
/** No request waits longer than a day: an approval given tomorrow was not given for today's state. */
export const MAX_APPROVAL_TTL_MS = 24 * 60 * 60 * 1000;

const ROLE_NAME = /^[a-z][a-z0-9_-]{0,30}$/;
const PersonId = z
  .string()
  .trim()
  .min(1, 'must name a person')
  .max(128, 'must be at most 128 characters');
const RoleName = z.string().regex(ROLE_NAME, 'must be a role name such as approvers (lowercase word)');

const MessageRef = z.strictObject({
  channel: z.string().min(1, 'must name a channel').max(128),
  ts: z.string().min(1).max(64).optional(),
  thread: z.string().min(1).max(64).optional(),
});

export const ApprovalInput = z
  .strictObject({
    /**
     * An id the caller reserved and kept before asking (a gate step keeps it in runbook_gates
     * first): creating with it again answers the request already made, so a caller that died
     * between keeping the id and creating the request, or two callers racing, ask exactly once.
     */
    id: z.string().refine((value) => isApprovalId(value), 'must be a request id (a UUID)').optional(),
    action: z.strictObject({
      command: z.string().trim().min(1, 'must name the command').max(100),
      args: z.record(z.string(), z.unknown()),
      line: z.string().trim().min(1, 'must be the command line as typed').max(4000),
      target: z.string().trim().min(1).max(200).optional(),
      stateFingerprint: z.string().min(1, 'must fingerprint the state the plan was made from').max(200),
      // A line fits one Slack section whole (commands/runbook-plan.ts keeps to these numbers).
      plan: z.array(z.string().min(1).max(2900)).min(1, 'leave the plan out rather than empty').max(100, 'at most 100 lines of plan').optional(),
    }),
    requester: PersonId,
    messages: z.array(MessageRef).max(10).default([]),
    level: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)], { error: 'must be an escalation level from 1 to 4' }),
    approvalsRequired: z
      .number({ error: 'must be a number of approvals' })
      .int('must be a whole number of approvals')
      .min(0, 'must not be negative')
      .max(10, 'must be at most 10'),
    approverRoles: z.array(RoleName).max(10),
    distinctApprovers: z.boolean().default(true),
    reason: z.string().trim().min(1, 'must not be blank when given').max(1000).optional(),
    breakGlass: z.boolean().default(false),
    /** Overrides the store's default time to live; at most a day. */
    expiresInMs: z
      .number()
      .int('must be whole milliseconds')
      .positive('must be more than 0 ms')
      .max(MAX_APPROVAL_TTL_MS, 'must be at most a day (86400000 ms)')
      .optional(),
  })
  .superRefine((input, context) => {
    if (input.breakGlass) {
      if (input.reason === undefined) {
        context.addIssue({ code: 'custom', path: ['reason'], message: 'is mandatory for break-glass: say why this cannot wait for approvers' });
      }
      return;
    }
    // Break-glass needs nobody (the policy says 0 approvals and no roles); everything else waits for someone.
    if (input.approvalsRequired < 1) {
      context.addIssue({ code: 'custom', path: ['approvalsRequired'], message: 'must be at least 1: a request that needs no approval should run at once, not wait' });
    }
    if (input.approverRoles.length === 0) {
      context.addIssue({ code: 'custom', path: ['approverRoles'], message: 'must name at least one role whose holders may approve' });
    }
  });
export type ApprovalInput = z.input<typeof ApprovalInput>;
type ParsedApprovalInput = z.output<typeof ApprovalInput>;

export const VoterInput = z.strictObject({
  voter: PersonId,
  voterRoles: z.array(z.string().max(64)).max(50),
  vote: z.enum(['approve', 'deny'], { error: 'must be approve or deny' }),
});

/** Refused input, with one message naming every bad field; nothing was written. */
export class ApprovalInputError extends Error {
  override readonly name = 'ApprovalInputError';
}

function describeIssues(error: z.ZodError, what: string): string {
  const problems = error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return path ? `${path} ${issue.message}` : issue.message;
  });
  return `${what}: ${problems.join('; ')}`;
}

export function parseApprovalInput(input: unknown): ParsedApprovalInput {
  const parsed = ApprovalInput.safeParse(input);
  if (!parsed.success) throw new ApprovalInputError(describeIssues(parsed.error, 'Cannot create this approval request'));
  return parsed.data;
}

export function parseVoterInput(input: unknown): z.output<typeof VoterInput> {
  const parsed = VoterInput.safeParse(input);
  if (!parsed.success) throw new ApprovalInputError(describeIssues(parsed.error, 'Cannot count this vote'));
  return parsed.data;
}

export function parseMessageRef(input: unknown): ApprovalMessageRef {
  const parsed = MessageRef.safeParse(input);
  if (!parsed.success) throw new ApprovalInputError(describeIssues(parsed.error, 'Cannot attach this message'));
  return parsed.data;
}

/** A time every caller passes in (tests pin it); an invalid Date would silently compare false. */
export function requireTime(value: Date, what: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new ApprovalInputError(`${what} must be a valid time`);
  return value;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Request ids are UUIDs; anything else cannot name a request (and must not reach the uuid column). */
export function isApprovalId(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}
