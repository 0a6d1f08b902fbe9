/**
 * The escalation matrix (the config file's `escalation:` section): how long an unacknowledged
 * alert waits at each level of the runbook's "Escalation Procedures" before it goes up, who is
 * told at each level, and the runbook's "Escalation Matrix" of issue types with their primary,
 * secondary and escalation contacts. Every part is optional and falls back to the defaults
 * below, which follow the runbook; a bad entry stops the start, naming its key.
 */
import { z } from 'zod';
import { ALERT_RULE_NAMES, ALERT_RULES, isAlertRuleName, type AlertRuleName } from './alert-rules.js';

export const ESCALATION_LEVELS = [1, 2, 3, 4] as const;
export type EscalationLevel = (typeof ESCALATION_LEVELS)[number];

/** What each level of the runbook's "Escalation Procedures" is called, in messages and pages. */
export const ESCALATION_LEVEL_NAMES: Record<2 | 3 | 4, string> = { 2: 'human intervention required', 3: 'critical incident', 4: 'emergency response' };

/** The runbook's "Escalation Matrix" rows. */
export const ISSUE_TYPES = ['performance', 'security', 'constitutional', 'infrastructure'] as const;
export type IssueType = (typeof ISSUE_TYPES)[number];

/** The matrix's columns: who an issue type's alert reaches first, next, and last. */
export const CONTACT_COLUMNS = ['primary', 'secondary', 'escalation'] as const;
export type ContactColumn = (typeof CONTACT_COLUMNS)[number];

const SLACK_ID = /^[UWS][A-Z0-9]{2,20}$/;
const ROLE_NAME = /^[a-z][a-z0-9_-]{0,30}$/;

/** Someone to tell: a Slack user or user group ID, a role name of the config's `roles` or a name of its `contacts`. */
const Contact = z
  .string()
  .refine((entry) => SLACK_ID.test(entry) || ROLE_NAME.test(entry), 'must be a role or contact name such as oncall, a Slack user ID such as U012ABCDEF or a user group ID such as S012ABCDEF');

/** At a level: a contact, or a column of the alert's issue type (`primary`, `secondary`, `escalation`). */
const LevelContact = Contact;

const Minutes = z.number({ message: 'must be a number of minutes' }).positive('must be more than 0 minutes').max(7 * 24 * 60, 'must be at most a week (10080 minutes)');

export const EscalationSection = z.strictObject({
  /** Per level: minutes an unacknowledged alert waits there before going up, and who is told on reaching it. */
  levels: z
    .strictObject({
      '1': z.strictObject({ wait_minutes: Minutes.optional() }).optional(),
      '2': z.strictObject({ wait_minutes: Minutes.optional(), notify: z.array(LevelContact).optional() }).optional(),
      '3': z.strictObject({ wait_minutes: Minutes.optional(), notify: z.array(LevelContact).optional() }).optional(),
      // Level 4 is the top: nothing to wait for.
      '4': z.strictObject({ notify: z.array(LevelContact).optional() }).optional(),
    })
    .optional(),
  /** The runbook's matrix: per issue type, its contacts by column. */
  issue_types: z
    .strictObject(
      Object.fromEntries(ISSUE_TYPES.map((type) => [type, z.strictObject(Object.fromEntries(CONTACT_COLUMNS.map((column) => [column, z.array(Contact).optional()])) as Record<ContactColumn, z.ZodOptional<z.ZodArray<typeof Contact>>>).optional()])) as Record<
        IssueType,
        z.ZodOptional<z.ZodObject<Record<ContactColumn, z.ZodOptional<z.ZodArray<typeof Contact>>>>>
      >,
    )
    .optional(),
  /** Which issue type each of the runbook's alert rules is. */
  rules: z.strictObject(Object.fromEntries(ALERT_RULE_NAMES.map((rule) => [rule, z.enum(ISSUE_TYPES, { message: `must be one of ${ISSUE_TYPES.join(', ')}` }).optional()])) as Record<AlertRuleName, z.ZodOptional<z.ZodEnum<{ [K in IssueType]: K }>>>).optional(),
  /** How often the leading replica looks for alerts to escalate. */
  check_seconds: z.number({ message: 'must be a number of seconds' }).int('must be a whole number of seconds').min(1, 'must be at least 1 second').max(600, 'must be at most 600 seconds').optional(),
});
export type EscalationSection = z.infer<typeof EscalationSection>;

export interface EscalationMatrix {
  /** Milliseconds an unacknowledged alert waits at levels 1 to 3 before going to the next. */
  waitMs: Record<1 | 2 | 3, number>;
  /** Who is told on reaching levels 2 to 4: role names, Slack IDs and contact columns. */
  notify: Record<2 | 3 | 4, readonly string[]>;
  issueTypes: Record<IssueType, Record<ContactColumn, readonly string[]>>;
  rules: Record<AlertRuleName, IssueType>;
  checkMs: number;
}

/**
 * The runbook's matrix names teams, not Slack IDs; by default its columns are the config's roles:
 * on-call first, then the approvers, then the admins. Level 2 tells the primary contacts, Level 3
 * the secondary too, Level 4 everyone in the row.
 */
export const DEFAULT_ESCALATION: Readonly<EscalationMatrix> = {
  waitMs: { 1: 5 * 60_000, 2: 15 * 60_000, 3: 30 * 60_000 },
  notify: { 2: ['primary'], 3: ['primary', 'secondary'], 4: ['primary', 'secondary', 'escalation'] },
  issueTypes: Object.fromEntries(ISSUE_TYPES.map((type) => [type, { primary: ['oncall'], secondary: ['approvers'], escalation: ['admins'] }])) as unknown as EscalationMatrix['issueTypes'],
  rules: {
    ServiceDown: 'infrastructure',
    HighP99Latency: 'performance',
    ConstitutionalViolations: 'constitutional',
    HighErrorRate: 'performance',
    LowCacheHitRate: 'performance',
    HighCpu: 'infrastructure',
    HighMemory: 'infrastructure',
    // Sandboxes isolate untrusted code: their failing is the security team's first.
    SandboxFailures: 'security',
    ServiceRestarted: 'infrastructure',
    ServiceCrashLooping: 'infrastructure',
    // A job the scheduler did not run (the daily backup above all): the stack's keepers.
    ScheduledJobOverdue: 'infrastructure',
  },
  checkMs: 15_000,
};

/** The matrix the bot runs with: the defaults with the section's entries over them. */
export function escalationMatrix(section: EscalationSection | undefined): EscalationMatrix {
  const levels = section?.levels ?? {};
  const minutes = (value: number | undefined, fallback: number) => (value === undefined ? fallback : value * 60_000);
  const issueTypes = Object.fromEntries(
    ISSUE_TYPES.map((type) => [type, { ...DEFAULT_ESCALATION.issueTypes[type], ...definedOnly(section?.issue_types?.[type] ?? {}) }]),
  ) as EscalationMatrix['issueTypes'];
  return {
    waitMs: {
      1: minutes(levels['1']?.wait_minutes, DEFAULT_ESCALATION.waitMs[1]),
      2: minutes(levels['2']?.wait_minutes, DEFAULT_ESCALATION.waitMs[2]),
      3: minutes(levels['3']?.wait_minutes, DEFAULT_ESCALATION.waitMs[3]),
    },
    notify: {
      2: levels['2']?.notify ?? DEFAULT_ESCALATION.notify[2],
      3: levels['3']?.notify ?? DEFAULT_ESCALATION.notify[3],
      4: levels['4']?.notify ?? DEFAULT_ESCALATION.notify[4],
    },
    issueTypes,
    rules: { ...DEFAULT_ESCALATION.rules, ...definedOnly(section?.rules ?? {}) },
    checkMs: section?.check_seconds === undefined ? DEFAULT_ESCALATION.checkMs : section.check_seconds * 1000,
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}

/** Alertmanager may send rules the runbook does not name: people decide those (Level 2), as infrastructure. */
export function startLevelOf(rule: string): EscalationLevel {
  return isAlertRuleName(rule) ? ALERT_RULES[rule].level : 2;
}

export function issueTypeOf(matrix: EscalationMatrix, rule: string): IssueType {
  return isAlertRuleName(rule) ? matrix.rules[rule] : 'infrastructure';
}

/** Who a level's message mentions: people and user groups, and the roles nobody holds (said, not dropped). */
export interface EscalationRecipients {
  /** Slack user (U…, W…) and user group (S…) IDs, each once, in the order the matrix names them. */
  ids: string[];
  /** Roles the matrix names that the config gives nobody. */
  emptyRoles: string[];
  /** People whose contact asks for a DM, told by DM at whichever level names the contact; present when there are any. */
  directMessages?: string[];
  /** The config's `contacts` the level names, whose e-mail and webhooks are paged (bot/paging/); present when there are any. */
  contacts?: string[];
}

/** A contact's Slack part, as the matrix resolves it (the whole contact is bot/paging/contacts.ts's). */
export interface ContactSlackReach {
  slack: { mention: readonly string[]; dm: readonly string[] };
}

/**
 * Resolves a level's `notify` entries for an issue type: a column becomes the issue type's
 * contacts, a role its members in `roles`, a contact its Slack mentions and DMs (and its name, for
 * paging), an ID itself.
 */
export function recipientsOf(
  matrix: EscalationMatrix,
  level: 2 | 3 | 4,
  issueType: IssueType,
  roles: Readonly<Record<string, readonly string[]>>,
  contacts: ReadonlyMap<string, ContactSlackReach> = new Map(),
): EscalationRecipients {
  const ids: string[] = [];
  const emptyRoles: string[] = [];
  const directMessages: string[] = [];
  const named: string[] = [];
  const once = (list: string[], value: string) => {
    if (!list.includes(value)) list.push(value);
  };
  const add = (entry: string) => {
    if (SLACK_ID.test(entry)) {
      once(ids, entry);
      return;
    }
    const contact = contacts.get(entry);
    if (contact) {
      once(named, entry);
      contact.slack.mention.forEach((id) => once(ids, id));
      contact.slack.dm.forEach((id) => once(directMessages, id));
      return;
    }
    const members = roles[entry] ?? [];
    if (members.length === 0 && !emptyRoles.includes(entry)) emptyRoles.push(entry);
    for (const member of members) if (!ids.includes(member)) ids.push(member);
  };
  for (const entry of matrix.notify[level]) {
    if ((CONTACT_COLUMNS as readonly string[]).includes(entry)) matrix.issueTypes[issueType][entry as ContactColumn].forEach(add);
    else add(entry);
  }
  return { ids, emptyRoles, ...(directMessages.length > 0 ? { directMessages } : {}), ...(named.length > 0 ? { contacts: named } : {}) };
}
