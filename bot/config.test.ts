import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCommandRegistry } from '../commands/index.js';
import { defaultAuthorizationData } from './authorization/data.js';
import { ConfigError, loadBotConfig, parseBotConfig } from './config.js';
import { updateReminderIntervals } from './incidents/update-reminders.js';
import { nextRunAfter } from './schedules/cron-times.js';
import { BUILT_IN_JOBS, jobSchedules } from './schedules/scheduled-jobs.js';

describe('bot config', () => {
  it('accepts roles and channels with Slack IDs', () => {
    const config = parseBotConfig({ roles: { oncall: ['U012ABCDEF'], approvers: ['U0APPROVE1', 'W0APPROVE2'] }, channels: { ops: 'C0OPS' } });
    expect(config.roles.approvers).toEqual(['U0APPROVE1', 'W0APPROVE2']);
    expect(config.channels.ops).toBe('C0OPS');
  });

  it('defaults to no roles and no channels when no file is given', () => {
    expect(loadBotConfig(undefined)).toEqual({ roles: {}, channels: {}, cli_users: {}, timezone: 'UTC' });
  });

  it('takes the timezone as an IANA name and names one the runtime does not know', () => {
    expect(parseBotConfig({ timezone: 'Europe/Berlin' }).timezone).toBe('Europe/Berlin');
    expect(() => parseBotConfig({ timezone: 'Mars/Olympus' })).toThrow('timezone: must be an IANA timezone such as UTC or Europe/Berlin');
    expect(() => parseBotConfig({ timezone: 42 })).toThrow(/^config: timezone: /);
  });

  it('maps operating-system users to Slack user IDs under cli_users', () => {
    expect(parseBotConfig({ cli_users: { alice: 'U012ABCDEF', 'svc.ops-1': 'W0BOB' } }).cli_users).toEqual({ alice: 'U012ABCDEF', 'svc.ops-1': 'W0BOB' });
  });

  it('names a cli_users entry whose user is not an operating-system user name or whose value is not a Slack user ID', () => {
    expect(() => parseBotConfig({ cli_users: { 'alice smith': 'U012ABCDEF' } })).toThrow(
      "config: cli_users.alice smith: not a valid key: must be an operating-system user name such as alice (letters, digits, '.', '_' and '-')",
    );
    expect(() => parseBotConfig({ cli_users: { alice: 'admins' } })).toThrow('config: cli_users.alice: must be a Slack user ID such as U012ABCDEF');
    expect(() => parseBotConfig({ cli_users: { alice: 'S0ADMINS' } })).toThrow('cli_users.alice: must be a Slack user ID');
    expect(() => parseBotConfig({ cli_users: ['alice'] })).toThrow(/^config: cli_users: /);
  });

  it('names an unknown top-level key', () => {
    expect(() => parseBotConfig({ role: {} })).toThrow(/unknown key role/);
  });

  it('names an unknown channel purpose', () => {
    expect(() => parseBotConfig({ channels: { opps: 'C0OPS' } })).toThrow(/unknown key channels\.opps/);
  });

  it('names the position of a malformed user ID', () => {
    expect(() => parseBotConfig({ roles: { oncall: ['U012ABCDEF', 'alice'] } })).toThrow(/roles\.oncall\[1\]: must be a Slack user ID/);
  });

  it('rejects a channel name where a channel ID belongs', () => {
    expect(() => parseBotConfig({ channels: { alerts: '#acgs-alerts' } })).toThrow(/channels\.alerts: must be a Slack channel ID/);
  });

  it('reads YAML from ACGS_CONFIG and reports YAML syntax errors with the path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'acgs-config-'));
    try {
      const good = join(dir, 'good.yml');
      writeFileSync(good, 'roles:\n  admins: [U0ADMIN1]\nchannels:\n  approvals: C0APPROVE\n');
      expect(loadBotConfig(good).roles.admins).toEqual(['U0ADMIN1']);
      const bad = join(dir, 'bad.yml');
      writeFileSync(bad, 'roles: [unclosed\n');
      expect(() => loadBotConfig(bad)).toThrow(new RegExp(`${bad}: not valid YAML`));
      expect(() => loadBotConfig(join(dir, 'missing.yml'))).toThrow(ConfigError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bot config: user groups and the authorization section', () => {
  it('accepts Slack user group IDs in role lists beside user IDs', () => {
    const config = parseBotConfig({ roles: { approvers: ['U0APPROVE1', 'S0APPROVERS'] } });
    expect(config.roles.approvers).toEqual(['U0APPROVE1', 'S0APPROVERS']);
  });

  it('names a role entry that is neither a user nor a user group ID', () => {
    expect(() => parseBotConfig({ roles: { admins: ['C0CHANNEL'] } })).toThrow(/roles\.admins\[0\]: must be a Slack user ID such as U012ABCDEF or a user group ID such as S012ABCDEF/);
  });

  it('accepts changes to the authorization defaults', () => {
    const config = parseBotConfig({
      authorization: {
        commands: { restart: { level: 2 } },
        levels: { '2': { approvals: 2 } },
        break_glass: { min_reason_length: 20 },
        channels: { changes_only_in: ['ops'] },
        freezes: [{ from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z', reason: 'release', levels: [2, 3, 4] }],
      },
    });
    expect(config.authorization?.levels?.['2']).toEqual({ approvals: 2 });
  });

  it('names an unknown key inside the authorization section', () => {
    expect(() => parseBotConfig({ authorization: { level: {} } })).toThrow(/unknown key authorization\.level\b/);
    expect(() => parseBotConfig({ authorization: { levels: { '2': { approval: 1 } } } })).toThrow(/unknown key authorization\.levels\.2\.approval\b/);
    expect(() => parseBotConfig({ authorization: { levels: { '5': { approvals: 1 } } } })).toThrow(/unknown key authorization\.levels\.5\b/);
    expect(() => parseBotConfig({ authorization: { commands: { scale: { level: 2, approver: ['admins'] } } } })).toThrow(/unknown key authorization\.commands\.scale\.approver\b/);
  });

  it('names bad values in the authorization section', () => {
    expect(() => parseBotConfig({ authorization: { commands: { scale: { level: 7 } } } })).toThrow(/authorization\.commands\.scale\.level: must be an escalation level/);
    expect(() => parseBotConfig({ authorization: { commands: { 'Scale!': { level: 2 } } } })).toThrow(/command names are one or two lowercase words/);
    expect(() => parseBotConfig({ authorization: { levels: { '3': { approvals: -1 } } } })).toThrow(/authorization\.levels\.3\.approvals: cannot be negative/);
    expect(() => parseBotConfig({ authorization: { channels: { changes_only_in: ['war-room'] } } })).toThrow(/authorization\.channels\.changes_only_in\[0\]: must be/);
    expect(() => parseBotConfig({ authorization: { channels: { changes_only_in: ['warroom'] } } })).toThrow(/authorization\.channels\.changes_only_in\[0\]: must be one of ops, alerts, deploys, approvals, reports/);
    expect(() => parseBotConfig({ authorization: { freezes: [{ from: 'monday', to: '2026-03-02T00:00:00Z', reason: 'x', levels: [2] }] } })).toThrow(/authorization\.freezes\[0\]\.from: must be an RFC 3339 time/);
  });

  it('names a change that makes the merged rules inconsistent', () => {
    expect(() => parseBotConfig({ authorization: { levels: { '1': { approvals: 1 } } } })).toThrow(/authorization\.levels\.1\.approver_roles: Level 1 needs 1 approval\(s\): name the roles that may approve/);
    expect(() => parseBotConfig({ authorization: { commands: { health: { level: 0, approvals: 1 } } } })).toThrow(/authorization\.commands\.health\.approvals: a read-only command never waits for approvals/);
    expect(() => parseBotConfig({ authorization: { lockdown: { allowed_commands: ['lockdown lfit'] } } })).toThrow(/authorization\.lockdown\.allowed_commands\.0: "lockdown lfit" is not a command under commands|authorization\.lockdown\.allowed_commands\[0\]: "lockdown lfit" is not a command/);
    expect(() => parseBotConfig({ authorization: { freezes: [{ from: '2026-03-02T00:00:00Z', to: '2026-03-01T00:00:00Z', reason: 'x', levels: [2] }] } })).toThrow(/authorization\.freezes\[0\]\.to: must be later than from/);
  });
});

describe('schedules:', () => {
  it("moves a job's time and turns one off", () => {
    expect(parseBotConfig({ schedules: { backup: { cron: '30 1 * * *' }, cleanup: { enabled: false } } }).schedules).toEqual({ backup: { cron: '30 1 * * *' }, cleanup: { enabled: false } });
  });

  it('schedules the monthly capacity report on the 1st at 07:00 by default, and takes another time or turns it off', () => {
    const monthly = jobSchedules(undefined).find((job) => job.name === 'monthly-capacity-report');
    expect(monthly).toMatchObject({ cron: '0 7 1 * *', missed: 'run-once', enabled: true });
    expect(nextRunAfter({ cron: monthly!.cron, timezone: 'Europe/Berlin' }, new Date('2026-12-07T12:00:00Z'))).toEqual(new Date('2027-01-01T06:00:00Z'));
    const moved = parseBotConfig({ schedules: { 'monthly-capacity-report': { cron: '0 6 2 * *' } } }).schedules;
    expect(jobSchedules(moved).find((job) => job.name === 'monthly-capacity-report')).toMatchObject({ cron: '0 6 2 * *', enabled: true });
    expect(jobSchedules({ 'monthly-capacity-report': { enabled: false } }).find((job) => job.name === 'monthly-capacity-report')?.enabled).toBe(false);
    expect(() => parseBotConfig({ schedules: { 'monthly-capacity-report': { cron: '0 7 32 * *' } } })).toThrow(/schedules\.monthly-capacity-report\.cron: not a five-field cron expression/);
  });

  it('schedules the weekly performance report on Mondays at 06:00 by default', () => {
    const weekly = jobSchedules(undefined).find((job) => job.name === 'weekly-performance-report');
    expect(weekly).toMatchObject({ cron: '0 6 * * 1', missed: 'run-once', enabled: true });
    expect(nextRunAfter({ cron: weekly!.cron, timezone: 'Europe/Berlin' }, new Date('2026-12-09T12:00:00Z'))).toEqual(new Date('2026-12-14T05:00:00Z'));
  });

  it("lets the scheduler's role run every built-in job's command by default: a new job is never refused as shipped", () => {
    const registry = createCommandRegistry();
    const allowed = defaultAuthorizationData().scheduler.commands;
    for (const job of BUILT_IN_JOBS) {
      if (job.command === null) continue;
      const resolved = registry.resolve(job.command);
      expect(resolved.ok && resolved.command.name, `${job.name} runs a command`).toBe(job.command);
      expect(allowed, `${job.name}'s ${job.command} in scheduler.commands (bot/authorization/defaults.json)`).toContain(job.command);
    }
    // Only the scheduler's own housekeeping runs no command.
    expect(BUILT_IN_JOBS.filter((job) => job.command === null).map((job) => job.name)).toEqual(['cleanup']);
  });

  it("refuses to start with a job on whose command the scheduler's role no longer holds, and names both keys", () => {
    const without = defaultAuthorizationData().scheduler.commands.filter((command) => command !== 'report weekly');
    expect(() => parseBotConfig({ authorization: { scheduler: { commands: without } } })).toThrow(
      /authorization\.scheduler\.commands: does not list "report weekly", which the scheduled job weekly-performance-report runs as the scheduler: add it back, or turn the job off \(schedules\.weekly-performance-report\.enabled: false\)/,
    );
    // Turned off, the job needs nothing: the narrower role is accepted.
    expect(() => parseBotConfig({ authorization: { scheduler: { commands: without } }, schedules: { 'weekly-performance-report': { enabled: false } } })).not.toThrow();
    // Every job that is on and lost its command is named, not only the first.
    const neither = without.filter((command) => command !== 'backup');
    expect(() => parseBotConfig({ authorization: { scheduler: { commands: neither } } })).toThrow(/"backup", which the scheduled job backup runs[\s\S]*"report weekly", which the scheduled job weekly-performance-report runs/);
  });

  it('names the key of a malformed cron expression, an unknown job or key, and a bad timezone', () => {
    expect(() => parseBotConfig({ schedules: { backup: { cron: '61 2 * * *' } } })).toThrow(/^config: schedules\.backup\.cron: not a five-field cron expression .*minute: 61/);
    expect(() => parseBotConfig({ schedules: { backup: { cron: '0 2 * *' } } })).toThrow(/schedules\.backup\.cron: not a five-field cron expression/);
    expect(() => parseBotConfig({ schedules: { backup: { cron: 2 } } })).toThrow(/schedules\.backup\.cron: /);
    expect(() => parseBotConfig({ schedules: { bakup: { cron: '0 2 * * *' } } })).toThrow(/unknown key schedules\.bakup/);
    expect(() => parseBotConfig({ schedules: { backup: { at: '02:00' } } })).toThrow(/unknown key schedules\.backup\.at/);
    expect(() => parseBotConfig({ schedules: { cleanup: { enabled: 'no' } } })).toThrow(/schedules\.cleanup\.enabled: /);
    expect(() => parseBotConfig({ schedules: { 'weekly-performance-report': { cron: '0 6 * * 8' } } })).toThrow(/schedules\.weekly-performance-report\.cron: not a five-field cron expression/);
    expect(() => parseBotConfig({ timezone: 'Europe/Berln', schedules: { backup: { cron: '0 2 * * *' } } })).toThrow(/^config: timezone: must be an IANA timezone/);
  });

  it("keeps the DR test's standing approval, and names what is wrong with a bad one", () => {
    const standing = { approved_by: 'U0HEAD', reason: 'monthly DR test, change CR-42' };
    expect(parseBotConfig({ schedules: { 'dr-test': { cron: '0 3 1 * *', standing_approval: standing } } }).schedules).toEqual({ 'dr-test': { cron: '0 3 1 * *', standing_approval: standing } });
    expect(() => parseBotConfig({ schedules: { 'dr-test': { standing_approval: { approved_by: '', reason: 'monthly DR test' } } } })).toThrow(/schedules\.dr-test\.standing_approval\.approved_by: approved_by names who approved/);
    expect(() => parseBotConfig({ schedules: { 'dr-test': { standing_approval: { approved_by: 'U0HEAD', reason: 'ok' } } } })).toThrow(/schedules\.dr-test\.standing_approval\.reason: reason says why the approval stands/);
    expect(() => parseBotConfig({ schedules: { 'dr-test': { standing_approval: { approved_by: 'U0HEAD', reason: 'monthly DR test', until: 'never' } } } })).toThrow(/unknown key schedules\.dr-test\.standing_approval\.until/);
    // Only the DR test has one: a standing approval elsewhere would pass a gate nobody meant.
    expect(() => parseBotConfig({ schedules: { backup: { standing_approval: standing } } })).toThrow(/unknown key schedules\.backup\.standing_approval/);
  });
});

describe('incidents:', () => {
  it('takes the update reminder interval per severity and keeps 30 minutes for the others', () => {
    const config = parseBotConfig({ incidents: { update_reminder_minutes: { sev1: 15, sev4: 120 } } });
    expect(updateReminderIntervals(config.incidents)).toEqual({ sev1: 15 * 60_000, sev2: 30 * 60_000, sev3: 30 * 60_000, sev4: 120 * 60_000 });
    expect(updateReminderIntervals(parseBotConfig({}).incidents)).toEqual({ sev1: 30 * 60_000, sev2: 30 * 60_000, sev3: 30 * 60_000, sev4: 30 * 60_000 });
  });

  it('refuses to start with an interval out of range, an unknown severity or key, naming the key', () => {
    expect(() => parseBotConfig({ incidents: { update_reminder_minutes: { sev2: 2 } } })).toThrow(/incidents\.update_reminder_minutes\.sev2: must be whole minutes from 5 to 1440/);
    expect(() => parseBotConfig({ incidents: { update_reminder_minutes: { sev2: 7.5 } } })).toThrow(/incidents\.update_reminder_minutes\.sev2: must be whole minutes/);
    expect(() => parseBotConfig({ incidents: { update_reminder_minutes: { sev5: 10 } } })).toThrow(/incidents\.update_reminder_minutes.*sev5/);
    expect(() => parseBotConfig({ incidents: { reminder: 10 } })).toThrow(/incidents.*reminder/);
  });
});
