/**
 * Who the CLI acts as, and with which roles. The CLI has no Slack user, and anything in its
 * environment is chosen by whoever runs it, so its identity comes from the operating system
 * (os.userInfo(): the process's real uid, not $USER or $LOGNAME) and its roles only from the
 * bot's config file: `cli_users: { <os user>: <Slack user ID> }` lends that Slack user's
 * `roles.<role>` entries to the local operator. An unmapped user holds no roles (read-only
 * commands only). ACGS_CLI_ROLES, which used to declare roles, grants nothing and is called out.
 * Break-glass is never taken from the CLI (refuseBreakGlass).
 */
import { userInfo } from 'node:os';
import type { CommandGate } from './command-path/index.js';
import type { BotConfig } from './config.js';

/** The variable that once declared the CLI's roles; now only named to say that it is ignored. */
export const IGNORED_ROLES_VARIABLE = 'ACGS_CLI_ROLES';

export interface CliIdentity {
  /** `cli:<os user>`: the actor in the trail and the policy. */
  actor: string;
  osUser: string;
  /** The Slack user `cli_users` maps the OS user to, when it does. */
  slackUser?: string;
  /** The roles `roles.<role>` gives that Slack user by its ID. */
  roles: string[];
  /** Roles listing only Slack user groups, which the CLI cannot ask Slack about: not held here. */
  groupOnlyRoles: string[];
}

/**
 * The operating-system user this process runs as. When the uid has no passwd entry (a container
 * with an arbitrary uid) it is named by its uid, which no `cli_users` key matches.
 */
export function operatingSystemUser(): string {
  try {
    const name = userInfo().username;
    if (name) return name;
  } catch {
    // no passwd entry for this uid
  }
  return `uid-${process.getuid?.() ?? 'unknown'}`;
}

export function cliIdentity(config: Pick<BotConfig, 'roles' | 'cli_users'>, osUser: string = operatingSystemUser()): CliIdentity {
  const actor = `cli:${osUser}`;
  const slackUser = Object.hasOwn(config.cli_users, osUser) ? config.cli_users[osUser] : undefined;
  if (!slackUser) return { actor, osUser, roles: [], groupOnlyRoles: [] };
  const roles = Object.entries(config.roles)
    .filter(([, members]) => members.includes(slackUser))
    .map(([role]) => role);
  const groupOnlyRoles = Object.entries(config.roles)
    .filter(([role, members]) => !roles.includes(role) && members.some((member) => member.startsWith('S')))
    .map(([role]) => role);
  return { actor, osUser, slackUser, roles, groupOnlyRoles };
}

/** The warning for a set ACGS_CLI_ROLES; undefined when it is not set. */
export function ignoredRolesWarning(env: Record<string, string | undefined>): string | undefined {
  if (env[IGNORED_ROLES_VARIABLE] === undefined) return undefined;
  return `${IGNORED_ROLES_VARIABLE} is ignored: it grants no roles. The CLI's roles come from the bot's config file (ACGS_CONFIG): add \`cli_users: { <your operating-system user>: <your Slack user ID> }\` and you act with that Slack user's roles.`;
}

/** How to get roles, said where the CLI has none or is refused. */
function howToGetRoles(identity: CliIdentity, configPath: string | undefined): string {
  const file = configPath ? `the config file ${configPath}` : 'the bot\'s config file (set ACGS_CONFIG to it)';
  return `To act with roles, add \`cli_users: { ${identity.osUser}: <your Slack user ID> }\` to ${file}.`;
}

/** Said under `acgs help` and every refusal: who the CLI acts as and where its roles come from. */
export function rolesNote(identity: CliIdentity, configPath: string | undefined): string {
  if (!identity.slackUser) {
    return `The CLI acts as ${identity.actor} (this machine's user ${identity.osUser}) with no roles, since the config file's cli_users does not map that user to a Slack user: read-only commands only. ${howToGetRoles(identity, configPath)}`;
  }
  const groups = identity.groupOnlyRoles.length > 0 ? ` Roles given only through Slack user groups (${identity.groupOnlyRoles.join(', ')}) do not apply: the CLI cannot ask Slack; list ${identity.slackUser} under them by ID.` : '';
  return `The CLI acts as ${identity.actor} with the roles of ${identity.slackUser} (cli_users in the config file): ${identity.roles.length > 0 ? identity.roles.join(', ') : 'none'}.${groups} The authorization policy decides what they allow; \`acgs can <command>\` explains it.`;
}

export const CLI_BREAK_GLASS_REFUSAL =
  'Break-glass is not taken from the CLI: whoever runs it declares it in a terminal, out of sight. Break glass in Slack or the local console, where it is flagged in the channel for everyone to see and review. Nothing was run.';

/**
 * The CLI's gate: the policy's decision, except that a break-glass is refused whatever the roles
 * (code `break_glass_origin`). The command path then records it as a refused command.
 */
export function refuseBreakGlass(gate: CommandGate): CommandGate {
  return {
    async decide(request) {
      const gated = await gate.decide(request);
      if (request.breakGlassReason === undefined) return gated;
      return {
        ...gated,
        decision: {
          allow: false,
          code: 'break_glass_origin',
          reason: CLI_BREAK_GLASS_REFUSAL,
          level: gated.decision.level,
          approvals_required: 0,
          approver_roles: [],
          distinct_approvers: false,
          break_glass: false,
        },
      };
    },
  };
}
