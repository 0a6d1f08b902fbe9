/**
 * The rules as data: the committed defaults follow issue 5, the config file's section merges
 * into them as documented, and the time parser the wasm imports reads RFC 3339 like OPA does.
 */
import { describe, expect, it } from 'vitest';
import { authorizationDataFor, defaultAuthorizationData } from './data.js';
import { parseRfc3339Ns } from './rfc3339.js';

describe('the default rules', () => {
  it('give read-only commands to everyone, Level 1 to on-call, and approvals from Level 2 up', () => {
    const data = defaultAuthorizationData();
    expect(data.levels['0']).toMatchObject({ everyone: true, approvals: 0 });
    expect(data.levels['1']).toMatchObject({ everyone: false, requesters: ['oncall', 'admins'], approvals: 0 });
    expect(data.levels['2']).toMatchObject({ approvals: 1, approver_roles: ['approvers', 'admins'] });
    expect(data.levels['3']).toMatchObject({ approvals: 2, distinct_approvers: true });
    expect(data.levels['4']).toMatchObject({ approvals: 2, distinct_approvers: true });
    expect(data.break_glass).toEqual({ roles: ['admins'], levels: [4], min_reason_length: 10 });
    // Acting on the bot's own alert, incident and checklist records changes nothing in the stack: on-call must still be able to during a lockdown.
    expect(data.lockdown.allowed_commands).toEqual([
      'lockdown lift',
      'alerts ack',
      'alerts snooze',
      'alerts resolve',
      'incident declare',
      'incident update',
      'incident note',
      'incident commander',
      'incident role',
      'incident severity',
      'incident type',
      'incident resolve',
      'incident close',
      'incident action',
      'checklist tick',
      'checklist untick',
    ]);
    expect(data.freezes).toEqual([]);
  });

  it('hand out copies, so a caller cannot change the defaults for everyone', () => {
    const first = defaultAuthorizationData();
    first.levels['2'].approvals = 9;
    expect(defaultAuthorizationData().levels['2'].approvals).toBe(1);
  });
});

describe('merging the config file section', () => {
  it('without a section, the rules are the defaults', () => {
    expect(authorizationDataFor(undefined)).toEqual(defaultAuthorizationData());
  });

  it('merges commands by name, levels field by field, and replaces freezes and the strict patch whole', () => {
    const freeze = { from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z', reason: 'release', levels: [2] };
    const data = authorizationDataFor({
      commands: { restart: { level: 2 }, rollback: { level: 3 } },
      levels: { '2': { approvals: 2 } },
      break_glass: { min_reason_length: 25 },
      strict: { levels: { '1': { approvals: 1, approver_roles: ['approvers'] } } },
      freezes: [freeze],
    });
    expect(data.commands.restart).toEqual({ level: 2 });
    expect(data.commands.rollback).toEqual({ level: 3 });
    expect(data.commands.health).toEqual({ level: 0 });
    expect(data.levels['2']).toEqual({ everyone: false, requesters: ['oncall', 'admins'], approvals: 2, approver_roles: ['approvers', 'admins'], distinct_approvers: true });
    expect(data.break_glass).toEqual({ roles: ['admins'], levels: [4], min_reason_length: 25 });
    expect(data.strict.levels).toEqual({ '1': { approvals: 1, approver_roles: ['approvers'] } });
    expect(data.freezes).toEqual([freeze]);
  });

  it('merges Level 1 auto-resolution limits field by field, and refuses bad ones naming the key', () => {
    expect(authorizationDataFor({ level_one: { max_actions_per_service_per_hour: 5 } }).level_one).toEqual({
      actor_roles: ['oncall'],
      max_actions_per_service_per_hour: 5,
      backoff_seconds: 30,
      backoff_max_seconds: 600,
      breaker_failures: 3,
      breaker_open_minutes: 60,
      verify_seconds: 30,
    });
    expect(() => authorizationDataFor({ level_one: { breaker_failures: 0 } })).toThrow('authorization.level_one.breaker_failures: at least 1 failure');
    expect(() => authorizationDataFor({ level_one: { backoff_seconds: 900, backoff_max_seconds: 60 } })).toThrow('authorization.level_one.backoff_max_seconds: must be at least backoff_seconds');
    expect(() => authorizationDataFor({ level_one: { actor_roles: [] } })).toThrow('authorization.level_one.actor_roles: name the role the bot acts with, such as oncall');
    expect(() => authorizationDataFor({ level_one: { verify_second: 30 } } as never)).toThrow('unknown key authorization.level_one.verify_second');
  });

  it('refuses a merge that leaves a level needing approvals without approvers, naming the key', () => {
    expect(() => authorizationDataFor({ levels: { '3': { approver_roles: [] } } })).toThrow(
      'the authorization rules are invalid: authorization.levels.3.approver_roles: Level 3 needs 2 approval(s): name the roles that may approve',
    );
    expect(() => authorizationDataFor({ commands: { 'cache clear': { level: 2, approver_roles: [] } } })).toThrow(
      'authorization.commands["cache clear"].approver_roles: "cache clear" needs 1 approval(s): name the roles that may approve',
    );
  });

  it('takes a command note of up to 300 characters, and refuses an empty or longer one naming the key', () => {
    expect(authorizationDataFor({ commands: { restart: { level: 1, note: 'Restarts are logged.' } } }).commands.restart).toEqual({ level: 1, note: 'Restarts are logged.' });
    expect(defaultAuthorizationData().commands['evolution review']).toMatchObject({ level: 2, requesters: ['approvers', 'admins'], approvals: 0, note: expect.stringContaining('the one human decision of Level 2') });
    expect(() => authorizationDataFor({ commands: { restart: { level: 1, note: ' ' } } })).toThrow('authorization.commands.restart.note: say why, or leave the note out');
    expect(() => authorizationDataFor({ commands: { restart: { level: 1, note: 'x'.repeat(301) } } })).toThrow('authorization.commands.restart.note: keep the note under 300 characters');
  });
});

describe("runbooks' own settings", () => {
  it('hold the hotfix and emergency rules by default and merge by name like commands', () => {
    // Admins may break glass for the hotfix and the security breach at Level 2; the emergency procedures may start in lockdown.
    expect(defaultAuthorizationData().runbooks).toEqual({
      hotfix: { break_glass: true, note: expect.stringContaining('break glass') },
      'security-breach': { break_glass: true, in_lockdown: true, note: expect.stringContaining('break glass') },
      'constitutional-emergency': { in_lockdown: true, note: expect.stringContaining('lockdown') },
      outage: { in_lockdown: true, note: expect.stringContaining('lockdown') },
    });
    const data = authorizationDataFor({ runbooks: { restore: { approvals: 3, approver_roles: ['admins'], note: 'Replaces the database.' } } });
    expect(data.runbooks).toEqual({ ...defaultAuthorizationData().runbooks, restore: { approvals: 3, approver_roles: ['admins'], note: 'Replaces the database.' } });
    expect(authorizationDataFor({ runbooks: { restore: { level: 3, approvals: 3 } } }).runbooks.restore).toEqual({ level: 3, approvals: 3 });
    expect(authorizationDataFor({ runbooks: { backup: { level: 2 } } }).runbooks.backup).toEqual({ level: 2 });
  });

  it.each([
    [{ restore: { approvals: 2 } }, 'authorization.runbooks.restore.approver_roles: "restore" needs 2 approval(s): name the roles that may approve, or the level whose approvers apply'],
    [{ 'health-check': { level: 0, approvals: 1, approver_roles: ['approvers'] } }, 'authorization.runbooks.health-check.approvals: a read-only runbook never waits for approvals: use 0'],
    [{ Restore: { level: 3 } }, 'not a runbook name: runbook names are lower-case words joined by "-", such as restore'],
    [{ restore: { level: 5 } }, 'authorization.runbooks.restore.level: must be an escalation level: 0 (read-only), 1, 2, 3 or 4'],
    [{ restore: { approval: 2 } }, 'unknown key authorization.runbooks.restore.approval'],
    [{ hotfix: { break_glass: 'yes' } }, 'authorization.runbooks.hotfix.break_glass'],
    [{ outage: { in_lockdown: 'yes' } }, 'authorization.runbooks.outage.in_lockdown'],
  ])('refuses %j naming the key', (runbooks, message) => {
    expect(() => authorizationDataFor({ runbooks } as never)).toThrow(message);
  });
});

describe('time.parse_rfc3339_ns for the wasm', () => {
  it('reads UTC, offsets and fractions to the nanosecond scale', () => {
    expect(parseRfc3339Ns('2026-03-02T10:00:00Z')).toBe(Date.UTC(2026, 2, 2, 10) * 1e6);
    expect(parseRfc3339Ns('2026-03-02T12:00:00+02:00')).toBe(Date.UTC(2026, 2, 2, 10) * 1e6);
    expect(parseRfc3339Ns('2026-03-02t09:30:00-00:30')).toBe(Date.UTC(2026, 2, 2, 10) * 1e6);
    expect(parseRfc3339Ns('1970-01-01T00:00:01.5Z')).toBe(1_500_000_000);
    expect(parseRfc3339Ns('1970-01-01T00:00:00.000000123Z')).toBe(123);
  });

  it('gives null for anything that is not an RFC 3339 time, as OPA leaves it undefined', () => {
    for (const bad of ['2026-03-02', '2026-03-02 10:00:00Z', '2026-02-30T10:00:00Z', '2026-13-01T00:00:00Z', '2026-03-02T24:00:00Z', '2026-03-02T10:00:00', '2026-03-02T10:00:00.1234567890Z', 'tomorrow', '']) {
      expect(parseRfc3339Ns(bad), bad).toBeNull();
    }
    expect(parseRfc3339Ns(1_000)).toBeNull();
  });
});
