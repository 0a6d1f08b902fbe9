/**
 * The bot's config file (ACGS_CONFIG, YAML): who holds which role and which channel is which,
 * and (optionally) changes to the authorization rules' defaults. Unknown keys and malformed
 * Slack IDs are errors that name the key, because a typo in a role list silently taking
 * someone's approval rights away is worse than a refusal to start.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AuthorizationData, AuthorizationOverrides, defaultAuthorizationData, mergeAuthorizationData } from './authorization/data.js';
import { CONTACT_COLUMNS, EscalationSection } from './alerts/escalation-matrix.js';
import { BUILT_IN_JOBS, jobSchedules, ScheduleSection } from './schedules/scheduled-jobs.js';
import { ContactsSection } from './paging/contacts.js';
import { IncidentsSection } from './incidents/update-reminders.js';

export const SlackUserId = z.string().regex(/^[UW][A-Z0-9]{2,20}$/, 'must be a Slack user ID such as U012ABCDEF');
export const SlackChannelId = z.string().regex(/^[CGD][A-Z0-9]{2,20}$/, 'must be a Slack channel ID such as C012ABCDEF');
export const SlackUserGroupId = z.string().regex(/^S[A-Z0-9]{2,20}$/, 'must be a Slack user group ID such as S012ABCDEF');
/** A Slack workspace (team) ID, as in a request's team_id. */
export const SlackTeamId = z.string().regex(/^T[A-Z0-9]{2,20}$/, 'must be a Slack team (workspace) ID such as T012ABCDEF');
/** A `roles.<role>` entry: a person, or a Slack user group whose members hold the role (bot/authorization/roles.ts). */
export const RoleMember = z
  .string()
  .regex(/^[UWS][A-Z0-9]{2,20}$/, 'must be a Slack user ID such as U012ABCDEF or a user group ID such as S012ABCDEF');

/**
 * An operating-system user name as os.userInfo() gives it (the key of `cli_users`): letters,
 * digits, '.', '_' and '-', as useradd allows, and a trailing '$' (machine accounts).
 */
export const OsUserName = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?$/, "must be an operating-system user name such as alice (letters, digits, '.', '_' and '-')");

/** The channels the bot posts to; each is optional and defaults to where a command was typed. */
export const CHANNEL_PURPOSES = ['ops', 'alerts', 'deploys', 'approvals', 'reports'] as const;
export type ChannelPurpose = (typeof CHANNEL_PURPOSES)[number];

/** An IANA timezone name the runtime knows (`Europe/Berlin`, `UTC`). */
export const TimeZoneName = z.string().refine(
  (name) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: name });
      return true;
    } catch {
      return false;
    }
  },
  { error: 'must be an IANA timezone such as UTC or Europe/Berlin' },
);

export const BotConfig = z
  .strictObject({
    roles: z
      .record(z.string().regex(/^[a-z][a-z0-9_-]{0,30}$/, 'role names are lowercase words'), z.array(RoleMember))
      .default({}),
    channels: z.strictObject(Object.fromEntries(CHANNEL_PURPOSES.map((purpose) => [purpose, SlackChannelId.optional()])) as Record<ChannelPurpose, z.ZodOptional<typeof SlackChannelId>>).default({}),
    /**
     * The CLI's operators: an operating-system user (os.userInfo(), never $USER) and the Slack
     * user whose `roles` entries they act with in `npx acgs`. Unmapped users hold no roles.
     */
    cli_users: z.record(OsUserName, SlackUserId).default({}),
    /**
     * The Slack workspaces whose requests the bot serves (bot/slack/team-allow-list.ts); without it,
     * only the workspace its bot token belongs to. Requests from any other are refused and recorded.
     */
    slack: z.strictObject({ team_ids: z.array(SlackTeamId).min(1, 'must list at least one team ID, or leave slack.team_ids out').optional() }).optional(),
    /** The bot's timezone: when "tomorrow" begins for a snoozed alert, and the schedules' (DESIGN.md). */
    timezone: TimeZoneName.default('UTC'),
    /** Changes to bot/authorization/defaults.json; see bot/authorization/README.md. */
    authorization: AuthorizationOverrides.optional(),
    /** The escalation matrix of unacknowledged alerts; see bot/alerts/README.md. */
    escalation: EscalationSection.optional(),
    /** Named contacts (Slack, e-mail, a paging webhook) the escalation matrix may name; see bot/paging/README.md. */
    contacts: ContactsSection.optional(),
    /** Changes to the scheduled jobs' times (cron, in `timezone:`) or turning one off; see bot/schedules/README.md. */
    schedules: ScheduleSection.optional(),
    /** Incidents: update reminder intervals per severity (default 30 minutes), the emoji that marks a message for the timeline; see bot/incidents/README.md. */
    incidents: IncidentsSection.optional(),
  })
  .superRefine((config, context) => {
    checkEscalationRoles(config, context);
    // Zod runs this even after a field failed; the merged rules are judged only once the section itself is valid.
    if (!config.authorization || !AuthorizationOverrides.safeParse(config.authorization).success) return;
    config.authorization.channels?.changes_only_in?.forEach((purpose, index) => {
      if (!(CHANNEL_PURPOSES as readonly string[]).includes(purpose)) {
        context.addIssue({ code: 'custom', path: ['authorization', 'channels', 'changes_only_in', index], message: `must be one of ${CHANNEL_PURPOSES.join(', ')}` });
      }
    });
    // The rules must still make sense once merged with the defaults (for example a level that
    // now needs approvals must name who approves).
    const merged = AuthorizationData.safeParse(mergeAuthorizationData(defaultAuthorizationData(), config.authorization));
    if (!merged.success) {
      for (const issue of merged.error.issues) context.addIssue({ code: 'custom', path: ['authorization', ...issue.path], message: issue.message });
      return;
    }
    checkSchedulerCommands(config.schedules, merged.data.scheduler.commands, context);
  });
export type BotConfig = z.infer<typeof BotConfig>;

/** The roles every deployment has, configured or not (DESIGN.md's config contract). */
const WELL_KNOWN_ROLES = ['oncall', 'approvers', 'admins', 'stakeholders'];

/**
 * A role or contact the escalation matrix names must exist: a typo there would silently leave a
 * level with nobody to tell. Contact columns (`primary`...) are words of a level's `notify` only.
 * A contact may not share its name with a role or a column, which would make the matrix ambiguous.
 */
function checkEscalationRoles(config: { roles?: Record<string, string[]>; escalation?: unknown; contacts?: unknown }, context: z.RefinementCtx): void {
  const roles = new Set([...WELL_KNOWN_ROLES, ...Object.keys(config.roles ?? {})]);
  const contacts = ContactsSection.safeParse(config.contacts ?? {});
  const contactNames = new Set(contacts.success ? Object.keys(contacts.data) : Object.keys((config.contacts as object | undefined) ?? {}));
  for (const name of contactNames) {
    if (roles.has(name)) context.addIssue({ code: 'custom', path: ['contacts', name], message: `"${name}" is a role's name too: give the contact another name, so that the escalation matrix says which it means` });
    else if ((CONTACT_COLUMNS as readonly string[]).includes(name)) context.addIssue({ code: 'custom', path: ['contacts', name], message: `"${name}" is a column of the escalation matrix: give the contact another name` });
  }
  const section = EscalationSection.safeParse(config.escalation);
  if (!config.escalation || !section.success) return;
  const check = (entry: string, path: Array<string | number>, columns: boolean) => {
    if (/^[UWS][A-Z0-9]{2,20}$/.test(entry) || roles.has(entry) || contactNames.has(entry) || (columns && (CONTACT_COLUMNS as readonly string[]).includes(entry))) return;
    const allowed = [...(columns ? CONTACT_COLUMNS : []), ...roles, ...contactNames].join(', ');
    context.addIssue({ code: 'custom', path: ['escalation', ...path], message: `"${entry}" is not a role or contact of the config (nor a Slack user or user group ID); use one of ${allowed}` });
  };
  for (const level of ['2', '3', '4'] as const) section.data.levels?.[level]?.notify?.forEach((entry, index) => check(entry, ['levels', level, 'notify', index], true));
  for (const [type, columns] of Object.entries(section.data.issue_types ?? {})) {
    for (const [column, entries] of Object.entries(columns ?? {})) (entries ?? []).forEach((entry, index) => check(entry, ['issue_types', type, column, index], false));
  }
}

/**
 * A job that is on must be able to run: the scheduler's role holds exactly `scheduler.commands`, so
 * a job whose command was taken out of it would be refused at 02:00 rather than at start.
 */
function checkSchedulerCommands(schedules: unknown, allowed: readonly string[], context: z.RefinementCtx): void {
  // No `schedules:` is every job on at its default time; a malformed one has its own message.
  const section = schedules === undefined ? undefined : ScheduleSection.safeParse(schedules);
  if (section && !section.success) return;
  for (const job of jobSchedules(section?.data)) {
    const command = BUILT_IN_JOBS.find((builtIn) => builtIn.name === job.name)?.command;
    if (!job.enabled || !command || allowed.includes(command)) continue;
    context.addIssue({
      code: 'custom',
      path: ['authorization', 'scheduler', 'commands'],
      message: `does not list "${command}", which the scheduled job ${job.name} runs as the scheduler: add it back, or turn the job off (schedules.${job.name}.enabled: false)`,
    });
  }
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Validates a parsed document; errors name the offending key, for example `roles.oncall[1]`. */
export function parseBotConfig(document: unknown, source = 'config'): BotConfig {
  const result = BotConfig.safeParse(document ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${String(part)}` : String(part)), '');
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((key) => (path ? `${path}.${key}` : key));
      return `unknown key${keys.length > 1 ? 's' : ''} ${keys.join(', ')}`;
    }
    // A bad record key (a role name, a cli_users user) says what the key must be, not "Invalid key in record".
    if (issue.code === 'invalid_key') return `${path}: not a valid key: ${issue.issues.map((inner) => inner.message).join('; ')}`;
    return `${path || '(top level)'}: ${issue.message}`;
  });
  throw new ConfigError(`${source}: ${problems.join('; ')}`);
}

export function loadBotConfig(path: string | undefined): BotConfig {
  if (!path) return parseBotConfig({});
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`ACGS_CONFIG=${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`${path}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  return parseBotConfig(document, path);
}
