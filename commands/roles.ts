/**
 * INTERIM role check: replaced by issue 5's authorization policy (Rego, approvals, audit). Until
 * then the rule is one table: read-only commands are open to everyone who can reach the bot,
 * Level 1 (restart, cache warm, sandbox prune) needs the `oncall` or `admins` role, Level 2 and
 * above (scale) needs `admins`. Roles come from the bot's config file (`roles.<role>: [user IDs]`)
 * or, for the CLI, from ACGS_CLI_ROLES. Kept this small on purpose: issue 5 deletes this file.
 */
import { CommandError, type CommandDefinition, type CommandLevel, type CommandOrigin } from './command.js';

export const ROLES = { oncall: 'oncall', admins: 'admins' } as const;

/** Who holds which role. */
export interface RoleDirectory {
  rolesOf(actorId: string): readonly string[];
}

/** The `roles` section of the bot's config file (bot/config.ts): role name -> user IDs. */
export function roleDirectoryFromConfig(roles: Readonly<Record<string, readonly string[]>>): RoleDirectory {
  const byUser = new Map<string, string[]>();
  for (const [role, users] of Object.entries(roles)) {
    for (const user of users) byUser.set(user, [...(byUser.get(user) ?? []), role]);
  }
  return { rolesOf: (actorId) => byUser.get(actorId) ?? [] };
}

/** Everyone who reaches this directory holds the same roles: the CLI, which acts as the local operator. */
export function fixedRoleDirectory(roles: readonly string[]): RoleDirectory {
  const frozen = Object.freeze([...roles]);
  return { rolesOf: () => frozen };
}

export const CLI_ROLES_VARIABLE = 'ACGS_CLI_ROLES';
export const DEFAULT_CLI_ROLES: readonly string[] = [ROLES.oncall];
const ROLE_NAME = /^[a-z][a-z0-9_-]{0,30}$/;

/** ACGS_CLI_ROLES: a comma list of role names (`oncall,admins`); unset means `oncall`; empty means none. */
export function parseCliRoles(value: string | undefined): string[] {
  if (value === undefined) return [...DEFAULT_CLI_ROLES];
  const roles = value
    .split(',')
    .map((role) => role.trim())
    .filter(Boolean);
  const bad = roles.filter((role) => !ROLE_NAME.test(role));
  if (bad.length > 0) {
    throw new Error(
      `${CLI_ROLES_VARIABLE} must be a comma list of role names such as oncall,admins (lowercase words); not role names: ${bad.map((role) => JSON.stringify(role.slice(0, 40))).join(', ')}`,
    );
  }
  return [...new Set(roles)];
}

/** The roles that may run each escalation level without approval, until issue 5. */
export const INTERIM_LEVEL_ROLES: Readonly<Record<Exclude<CommandLevel, 'read'>, readonly string[]>> = {
  1: [ROLES.oncall, ROLES.admins],
  2: [ROLES.admins],
  3: [ROLES.admins],
  4: [ROLES.admins],
};

const LEVEL_WORDS: Record<Exclude<CommandLevel, 'read'>, string> = {
  1: 'a Level 1 action (automatic resolution)',
  2: 'a Level 2 action (a human decision such as scaling)',
  3: 'a Level 3 action (critical incident)',
  4: 'a Level 4 action (emergency response)',
};

export function mayRunInterim(command: Pick<CommandDefinition, 'level'>, roles: readonly string[]): boolean {
  if (command.level === 'read') return true;
  return INTERIM_LEVEL_ROLES[command.level].some((role) => roles.includes(role));
}

/** The refusal for an actor without the roles the command's level needs, or undefined when they may run it. */
export function interimRefusal(
  command: Pick<CommandDefinition, 'name' | 'level'>,
  roles: readonly string[],
  origin: CommandOrigin,
): CommandError | undefined {
  if (mayRunInterim(command, roles)) return undefined;
  const level = command.level as Exclude<CommandLevel, 'read'>;
  const needed = INTERIM_LEVEL_ROLES[level].map((role) => `\`${role}\``).join(' or ');
  const held = roles.length > 0 ? roles.map((role) => `\`${role}\``).join(', ') : 'no role';
  const approvals = level >= 2 ? ' Until approvals exist (issue 5),' : '';
  const hint =
    origin === 'cli'
      ? `The CLI acts with the roles in ${CLI_ROLES_VARIABLE} (a comma list; unset means \`oncall\`), for example ${CLI_ROLES_VARIABLE}=${INTERIM_LEVEL_ROLES[level][0]}.`
      : `Ask someone with the ${needed} role, or have your user ID added under \`roles.${INTERIM_LEVEL_ROLES[level][0]}\` in the bot's config file (ACGS_CONFIG).`;
  return new CommandError(
    `\`${command.name}\` is ${LEVEL_WORDS[level]}.${approvals}${approvals ? ' only' : ' Only'} the ${needed} role may run it; you hold ${held}. Nothing was done.`,
    hint,
    'refused',
  );
}
