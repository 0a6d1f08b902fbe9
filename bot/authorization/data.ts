/**
 * The authorization rules as data: which command has which level, runbooks' own settings, who may request each level,
 * how many approvals from which roles, break-glass, lockdown, strict mode, channels and change
 * freezes. The policy (acgs.chatops) reads this document as data.authorization; the defaults
 * are bot/authorization/defaults.json and the config file's `authorization:` section overrides
 * them (merged by mergeAuthorizationData, then validated as a whole).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const LEVEL_KEYS = ['0', '1', '2', '3', '4'] as const;
export type LevelKey = (typeof LEVEL_KEYS)[number];

const LEVEL_MESSAGE = 'must be an escalation level: 0 (read-only), 1, 2, 3 or 4';
const Level = z.int({ error: LEVEL_MESSAGE }).min(0, LEVEL_MESSAGE).max(4, LEVEL_MESSAGE);
const ESCALATED_MESSAGE = 'must be an escalation level from 1 to 4 (read-only commands change nothing)';
const EscalatedLevel = z.int({ error: ESCALATED_MESSAGE }).min(1, ESCALATED_MESSAGE).max(4, ESCALATED_MESSAGE);

export const RoleName = z.string().regex(/^[a-z][a-z0-9_-]{0,30}$/, 'role names are lowercase words such as oncall');
export const CommandName = z
  .string()
  .regex(/^[a-z][a-z0-9-]*( [a-z][a-z0-9-]*)?$/, 'command names are one or two lowercase words such as "cache clear"');
const ChannelPurpose = z.string().regex(/^[a-z]+$/, 'must be a channel purpose such as ops');
const Approvals = z.int({ error: 'must be a whole number of approvals' }).min(0, 'cannot be negative').max(10, 'more than 10 approvals is not a workable rule');

const levelRuleShape = {
  /** Anyone who reaches the bot may request it, with or without a role. */
  everyone: z.boolean(),
  requesters: z.array(RoleName),
  approvals: Approvals,
  approver_roles: z.array(RoleName),
  distinct_approvers: z.boolean(),
};
export const LevelRule = z.strictObject(levelRuleShape);
export type LevelRule = z.infer<typeof LevelRule>;
const LevelPatch = z.strictObject(levelRuleShape).partial();

/**
 * A command's level and, optionally, its own values for any of its level's settings, and a note
 * the policy adds to its reason (why the command's rule differs from its level's).
 */
export const CommandRule = z
  .strictObject({ level: Level, note: z.string().trim().min(1, 'say why, or leave the note out').max(300, 'keep the note under 300 characters'), ...levelRuleShape })
  .partial()
  .required({ level: true });
export type CommandRule = z.infer<typeof CommandRule>;

/**
 * A runbook's own values for its level's settings (a run is decided at the runbook's level, the
 * registry's unless `level` is given here), and a note for its reasons: like a command entry,
 * but the level is optional since the runbook's code declares one.
 */
export const RunbookRule = z
  .strictObject({
    level: Level,
    note: z.string().trim().min(1, 'say why, or leave the note out').max(300, 'keep the note under 300 characters'),
    /** Admins may break glass for this runbook whatever its level (break_glass.roles, a reason, flagged for review): an emergency hotfix. */
    break_glass: z.boolean(),
    /** It may be started while the stack is in lockdown (an emergency procedure); what it asks for on the way is still decided in lockdown. */
    in_lockdown: z.boolean(),
    ...levelRuleShape,
  })
  .partial();
export type RunbookRule = z.infer<typeof RunbookRule>;
export const RunbookName = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'runbook names are lower-case words joined by "-", such as restore');

const Rfc3339 = z.iso.datetime({ offset: true, error: 'must be an RFC 3339 time such as 2026-03-01T18:00:00Z' });

export const Freeze = z.strictObject({
  from: Rfc3339,
  to: Rfc3339,
  reason: z.string().trim().min(1, 'say why changes are frozen').max(200, 'keep the reason under 200 characters'),
  levels: z.array(EscalatedLevel).min(1, 'name the levels the freeze stops, for example [2, 3, 4]'),
});

const Count = (what: string, max: number) => z.int({ error: `must be a whole number of ${what}` }).min(1, `at least 1 ${what.replace(/s$/, '')}`).max(max, `at most ${max} ${what}`);

/**
 * Level 1 auto-resolution's guard rails (bot/alerts/level-one*.ts): the roles the bot acts with,
 * how often it may act on one service, its backoff, its circuit breaker and how long it verifies.
 */
export const LevelOneRules = z.strictObject({
  /** The roles the bot's automatic actor holds when its actions are decided (at least one, so the policy can say yes). */
  actor_roles: z.array(RoleName).min(1, 'name the role the bot acts with, such as oncall'),
  max_actions_per_service_per_hour: Count('actions', 60),
  backoff_seconds: Count('seconds', 3600),
  backoff_max_seconds: Count('seconds', 86_400),
  /** Failed actions on one service in a row that open its breaker (and escalate). */
  breaker_failures: Count('failures', 20),
  breaker_open_minutes: Count('minutes', 1440),
  verify_seconds: Count('seconds', 600),
});
export type LevelOneRules = z.infer<typeof LevelOneRules>;

/**
 * The scheduler's role (`scheduler`, held by the bot's scheduler actor, bot/schedules/): exactly the
 * commands its jobs run, which it may run whatever their requesters. Taking one out of the list
 * makes that job's runs refused.
 */
export const SchedulerRules = z.strictObject({ commands: z.array(CommandName) });
export type SchedulerRules = z.infer<typeof SchedulerRules>;

const sections = {
  commands: z.record(CommandName, CommandRule, {
    error: (issue) => (issue.code === 'invalid_key' ? 'not a command name: command names are one or two lowercase words such as "cache clear"' : undefined),
  }),
  runbooks: z.record(RunbookName, RunbookRule, {
    error: (issue) => (issue.code === 'invalid_key' ? 'not a runbook name: runbook names are lower-case words joined by "-", such as restore' : undefined),
  }),
  levels: z.strictObject({ '0': LevelRule, '1': LevelRule, '2': LevelRule, '3': LevelRule, '4': LevelRule }),
  break_glass: z.strictObject({
    roles: z.array(RoleName),
    levels: z.array(EscalatedLevel),
    min_reason_length: z.int({ error: 'must be a whole number of characters' }).min(1, 'a break-glass always needs a reason').max(500, 'at most 500'),
  }),
  lockdown: z.strictObject({ allowed_commands: z.array(CommandName) }),
  strict: z.strictObject({ levels: z.partialRecord(z.enum(LEVEL_KEYS), LevelPatch) }),
  channels: z.strictObject({ changes_only_in: z.array(ChannelPurpose) }),
  freezes: z.array(Freeze),
  level_one: LevelOneRules,
  scheduler: SchedulerRules,
};

/** The whole document the policy reads, after merging; cross-field rules are checked here. */
export const AuthorizationData = z.strictObject(sections).superRefine((data, context) => {
  const problem = (path: (string | number)[], message: string) => context.addIssue({ code: 'custom', path, message });
  if (data.levels['0']?.approvals !== undefined && data.levels['0'].approvals !== 0) problem(['levels', '0', 'approvals'], 'read-only commands change nothing and never wait for approvals: use 0');
  for (const key of LEVEL_KEYS) {
    const level = data.levels[key];
    if (!level) continue;
    if (level.approvals > 0 && level.approver_roles.length === 0) {
      problem(['levels', key, 'approver_roles'], `Level ${key} needs ${level.approvals} approval(s): name the roles that may approve`);
    }
  }
  for (const [name, rule] of Object.entries(data.commands ?? {})) {
    // Zod runs this refinement even when a field failed, so values may be out of range here.
    const levelRule = data.levels[String(rule.level) as LevelKey] as LevelRule | undefined;
    if (!levelRule) continue;
    const approvals = rule.approvals ?? levelRule.approvals;
    const approverRoles = rule.approver_roles ?? levelRule.approver_roles;
    if (rule.level === 0 && approvals !== 0) problem(['commands', name, 'approvals'], 'a read-only command never waits for approvals: use 0');
    if (approvals > 0 && approverRoles.length === 0) problem(['commands', name, 'approver_roles'], `"${name}" needs ${approvals} approval(s): name the roles that may approve`);
  }
  for (const [name, rule] of Object.entries(data.runbooks ?? {})) {
    const levelRule = rule.level === undefined ? undefined : (data.levels[String(rule.level) as LevelKey] as LevelRule | undefined);
    const approvals = rule.approvals ?? levelRule?.approvals ?? 0;
    if (rule.level === 0 && approvals !== 0) problem(['runbooks', name, 'approvals'], 'a read-only runbook never waits for approvals: use 0');
    // Without a level here the runbook's code decides it (a Level 1 has no approvers), so the roles come with the approvals.
    if (approvals > 0 && (rule.approver_roles ?? levelRule?.approver_roles ?? []).length === 0) {
      problem(['runbooks', name, 'approver_roles'], `"${name}" needs ${approvals} approval(s): name the roles that may approve, or the level whose approvers apply`);
    }
  }
  data.lockdown?.allowed_commands?.forEach((name, index) => {
    if (!data.commands?.[name]) problem(['lockdown', 'allowed_commands', index], `"${name}" is not a command under commands`);
  });
  for (const [key, patch] of Object.entries(data.strict?.levels ?? {})) {
    const level = { ...data.levels[key as LevelKey], ...patch };
    if (key === '0' && level.approvals !== 0) problem(['strict', 'levels', key, 'approvals'], 'read-only commands never wait for approvals, even in strict mode');
    if (level.approvals > 0 && level.approver_roles.length === 0) problem(['strict', 'levels', key, 'approver_roles'], `in strict mode Level ${key} needs approvals: name the roles that may approve`);
  }
  if (data.level_one && data.level_one.backoff_max_seconds < data.level_one.backoff_seconds) problem(['level_one', 'backoff_max_seconds'], 'must be at least backoff_seconds');
  data.scheduler?.commands?.forEach((name, index) => {
    if (!data.commands?.[name]) problem(['scheduler', 'commands', index], `"${name}" is not a command under commands`);
  });
  data.freezes?.forEach((freeze, index) => {
    if (Date.parse(freeze.from) >= Date.parse(freeze.to)) problem(['freezes', index, 'to'], 'must be later than from');
  });
});
export type AuthorizationData = z.infer<typeof AuthorizationData>;

/**
 * The config file's `authorization:` section: any part of the document. Commands and levels
 * merge entry by entry (a level's settings field by field); the other sections' fields
 * replace the defaults' fields; freezes and strict.levels replace the defaults as a whole.
 */
export const AuthorizationOverrides = z.strictObject({
  commands: sections.commands.optional(),
  runbooks: sections.runbooks.optional(),
  levels: z.strictObject({ '0': LevelPatch, '1': LevelPatch, '2': LevelPatch, '3': LevelPatch, '4': LevelPatch }).partial().optional(),
  break_glass: sections.break_glass.partial().optional(),
  lockdown: sections.lockdown.partial().optional(),
  strict: sections.strict.optional(),
  channels: sections.channels.partial().optional(),
  freezes: sections.freezes.optional(),
  level_one: sections.level_one.partial().optional(),
  scheduler: sections.scheduler.partial().optional(),
});
export type AuthorizationOverrides = z.infer<typeof AuthorizationOverrides>;

export const DEFAULTS_PATH = new URL('./defaults.json', import.meta.url);

let defaults: AuthorizationData | undefined;

/** The committed defaults, read once; a broken defaults file is a bug, so this throws with the reason. */
export function defaultAuthorizationData(): AuthorizationData {
  if (!defaults) {
    const parsed = AuthorizationData.safeParse(JSON.parse(readFileSync(DEFAULTS_PATH, 'utf8')));
    if (!parsed.success) throw new Error(`bot/authorization/defaults.json is invalid: ${describeIssues(parsed.error.issues)}`);
    defaults = parsed.data;
  }
  return structuredClone(defaults);
}

/** The defaults with the config file's `authorization:` section applied; throws naming the key when the result is invalid. */
export function authorizationDataFor(overrides: AuthorizationOverrides | undefined): AuthorizationData {
  const parsed = AuthorizationData.safeParse(mergeAuthorizationData(defaultAuthorizationData(), overrides));
  if (!parsed.success) throw new Error(`the authorization rules are invalid: ${describeIssues(parsed.error.issues, 'authorization')}`);
  return parsed.data;
}

export function mergeAuthorizationData(base: AuthorizationData, overrides: AuthorizationOverrides | undefined): unknown {
  if (!overrides) return base;
  return {
    commands: { ...base.commands, ...overrides.commands },
    runbooks: { ...base.runbooks, ...overrides.runbooks },
    levels: Object.fromEntries(LEVEL_KEYS.map((key) => [key, { ...base.levels[key], ...overrides.levels?.[key] }])),
    break_glass: { ...base.break_glass, ...overrides.break_glass },
    lockdown: { ...base.lockdown, ...overrides.lockdown },
    strict: overrides.strict ?? base.strict,
    channels: { ...base.channels, ...overrides.channels },
    freezes: overrides.freezes ?? base.freezes,
    level_one: { ...base.level_one, ...overrides.level_one },
    scheduler: { ...base.scheduler, ...overrides.scheduler },
  };
}

/** Zod issues as `path: message`, paths written like config keys (`levels.2.approver_roles`). */
export function describeIssues(issues: readonly z.core.$ZodIssue[], prefix = ''): string {
  return issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : /^[\w-]+$/.test(String(part)) ? String(part) : `[${JSON.stringify(String(part))}]`))]
        .filter(Boolean)
        .join('.')
        .replace(/\.\[/g, '[');
      if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `unknown key ${path ? `${path}.${key}` : key}`).join('; ');
      return `${path || '(top level)'}: ${issue.message}`;
    })
    .join('; ');
}
