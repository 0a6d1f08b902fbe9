import { userInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { CLI_BREAK_GLASS_REFUSAL, cliIdentity, ignoredRolesWarning, operatingSystemUser, refuseBreakGlass, rolesNote } from './cli-identity.js';
import type { CommandGate } from './command-path/index.js';
import { parseBotConfig } from './config.js';

const config = parseBotConfig({
  roles: { oncall: ['U0ALICE', 'U0BOB'], admins: ['U0ALICE'], approvers: ['S0APPROVERS'] },
  cli_users: { alice: 'U0ALICE', 'svc.ops-1': 'U0BOB' },
});

describe('the CLI identity', () => {
  it('lends a mapped operating-system user the roles its Slack user holds by ID', () => {
    expect(cliIdentity(config, 'alice')).toEqual({ actor: 'cli:alice', osUser: 'alice', slackUser: 'U0ALICE', roles: ['oncall', 'admins'], groupOnlyRoles: ['approvers'] });
    expect(cliIdentity(config, 'svc.ops-1').roles).toEqual(['oncall']);
  });

  it('gives an unmapped user no roles, and the note says how to get them', () => {
    const identity = cliIdentity(config, 'mallory');
    expect(identity).toEqual({ actor: 'cli:mallory', osUser: 'mallory', roles: [], groupOnlyRoles: [] });
    expect(rolesNote(identity, '/etc/acgs/chatops.yml')).toBe(
      "The CLI acts as cli:mallory (this machine's user mallory) with no roles, since the config file's cli_users does not map that user to a Slack user: read-only commands only. To act with roles, add `cli_users: { mallory: <your Slack user ID> }` to the config file /etc/acgs/chatops.yml.",
    );
    expect(rolesNote(identity, undefined)).toContain("to the bot's config file (set ACGS_CONFIG to it).");
  });

  it('never reads an inherited name as a mapped user', () => {
    expect(cliIdentity(config, 'constructor').roles).toEqual([]);
    expect(cliIdentity(config, '__proto__').slackUser).toBeUndefined();
  });

  it('names the Slack user and its roles, and says that user groups are not looked up from the CLI', () => {
    expect(rolesNote(cliIdentity(config, 'alice'), undefined)).toBe(
      'The CLI acts as cli:alice with the roles of U0ALICE (cli_users in the config file): oncall, admins. Roles given only through Slack user groups (approvers) do not apply: the CLI cannot ask Slack; list U0ALICE under them by ID. The authorization policy decides what they allow; `acgs can <command>` explains it.',
    );
  });

  it('takes the user from the operating system, not from $USER', () => {
    const saved = process.env.USER;
    process.env.USER = 'alice';
    try {
      expect(operatingSystemUser()).toBe(userInfo().username);
    } finally {
      if (saved === undefined) delete process.env.USER;
      else process.env.USER = saved;
    }
  });

  it('says that ACGS_CLI_ROLES is ignored and what to do instead, whenever it is set', () => {
    expect(ignoredRolesWarning({})).toBeUndefined();
    for (const value of ['admins', '']) {
      expect(ignoredRolesWarning({ ACGS_CLI_ROLES: value })).toBe(
        "ACGS_CLI_ROLES is ignored: it grants no roles. The CLI's roles come from the bot's config file (ACGS_CONFIG): add `cli_users: { <your operating-system user>: <your Slack user ID> }` and you act with that Slack user's roles.",
      );
    }
  });

  it('refuses a break-glass whatever the policy said, and passes every other decision through', async () => {
    const allowAll: CommandGate = {
      decide: async (request) => ({
        decision: { allow: true, code: request.breakGlassReason ? 'break_glass' : 'allowed', reason: 'ok', level: 4, approvals_required: 0, approver_roles: [], distinct_approvers: false, break_glass: Boolean(request.breakGlassReason) },
        input: {} as never,
        modes: { known: true, strict: false, lockdown: false },
      }),
    };
    const gate = refuseBreakGlass(allowAll);
    const command = { name: 'lockdown', level: 4 as const };
    expect((await gate.decide({ actor: { id: 'cli:alice' }, command, args: {} })).decision.allow).toBe(true);
    const glass = await gate.decide({ actor: { id: 'cli:alice' }, command, args: {}, breakGlassReason: 'policy engine serving bad decisions' });
    expect(glass.decision).toEqual({ allow: false, code: 'break_glass_origin', reason: CLI_BREAK_GLASS_REFUSAL, level: 4, approvals_required: 0, approver_roles: [], distinct_approvers: false, break_glass: false });
  });
});
