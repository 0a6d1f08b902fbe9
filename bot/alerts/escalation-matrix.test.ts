import { describe, expect, it } from 'vitest';
import { parseBotConfig } from '../config.js';
import { DEFAULT_ESCALATION, escalationMatrix, issueTypeOf, recipientsOf } from './escalation-matrix.js';

describe('the escalation matrix', () => {
  it("defaults to the runbook's matrix when the config has no escalation section", () => {
    const config = parseBotConfig({});
    expect(config.escalation).toBeUndefined();
    const matrix = escalationMatrix(config.escalation);
    expect(matrix).toEqual(DEFAULT_ESCALATION);
    expect(matrix.waitMs).toEqual({ 1: 300_000, 2: 900_000, 3: 1_800_000 });
    expect(issueTypeOf(matrix, 'HighP99Latency')).toBe('performance');
    expect(issueTypeOf(matrix, 'ConstitutionalViolations')).toBe('constitutional');
    expect(issueTypeOf(matrix, 'ServiceDown')).toBe('infrastructure');
    expect(issueTypeOf(matrix, 'SandboxFailures')).toBe('security');
    expect(issueTypeOf(matrix, 'SomethingAlertmanagerSent')).toBe('infrastructure');
  });

  it('tells on-call at Level 2, the approvers too at Level 3 and the admins too at Level 4, by default', () => {
    const roles = { oncall: ['S0ACGSONCALL', 'U0ONCALL'], approvers: ['U0APPROVER1', 'U0APPROVER2', 'U0ONCALL'], admins: ['U0APPROVER1'] };
    expect(recipientsOf(DEFAULT_ESCALATION, 2, 'performance', roles)).toEqual({ ids: ['S0ACGSONCALL', 'U0ONCALL'], emptyRoles: [] });
    expect(recipientsOf(DEFAULT_ESCALATION, 3, 'performance', roles)).toEqual({ ids: ['S0ACGSONCALL', 'U0ONCALL', 'U0APPROVER1', 'U0APPROVER2'], emptyRoles: [] });
    expect(recipientsOf(DEFAULT_ESCALATION, 4, 'constitutional', roles).ids).toEqual(['S0ACGSONCALL', 'U0ONCALL', 'U0APPROVER1', 'U0APPROVER2']);
    // A role nobody holds is said, not silently dropped.
    expect(recipientsOf(DEFAULT_ESCALATION, 3, 'security', { oncall: ['U0ONCALL'] })).toEqual({ ids: ['U0ONCALL'], emptyRoles: ['approvers'] });
  });

  it("takes the config's times, people, issue types and contacts over the defaults, key by key", () => {
    const config = parseBotConfig({
      roles: { oncall: ['U0ONCALL'], security: ['S0SECURITY'] },
      escalation: {
        levels: { '1': { wait_minutes: 2 }, '3': { notify: ['primary', 'approvers', 'U0CTO'] } },
        issue_types: { security: { primary: ['security'], escalation: ['U0CISO'] } },
        rules: { HighCpu: 'performance' },
        check_seconds: 5,
      },
    });
    const matrix = escalationMatrix(config.escalation);
    expect(matrix.waitMs).toEqual({ 1: 120_000, 2: 900_000, 3: 1_800_000 });
    expect(matrix.notify[3]).toEqual(['primary', 'approvers', 'U0CTO']);
    expect(matrix.notify[2]).toEqual(['primary']);
    expect(matrix.issueTypes.security).toEqual({ primary: ['security'], secondary: ['approvers'], escalation: ['U0CISO'] });
    expect(matrix.rules.HighCpu).toBe('performance');
    expect(matrix.rules.ServiceDown).toBe('infrastructure');
    expect(matrix.checkMs).toBe(5000);
    expect(recipientsOf(matrix, 2, 'security', config.roles).ids).toEqual(['S0SECURITY']);
    expect(recipientsOf(matrix, 3, 'security', { ...config.roles, approvers: ['U0APPROVER1'] }).ids).toEqual(['S0SECURITY', 'U0APPROVER1', 'U0CTO']);
  });
});

describe('contacts in the escalation matrix', () => {
  it('resolves a named contact to its mentions, its DMs and its name for paging, each once', () => {
    const matrix = escalationMatrix({
      levels: { '2': { notify: ['primary', 'pager'] }, '4': { notify: ['primary', 'secondary', 'escalation', 'pager'] } },
      issue_types: { security: { primary: ['oncall', 'security-team'], escalation: ['security-team', 'U0CISO'] } },
    });
    const contacts = new Map([
      ['pager', { slack: { mention: [], dm: [] } }],
      ['security-team', { slack: { mention: ['S0SECURITY', 'U0ONCALL'], dm: ['U0SECLEAD'] } }],
    ]);
    const roles = { oncall: ['U0ONCALL'] };
    expect(recipientsOf(matrix, 2, 'security', roles, contacts)).toEqual({ ids: ['U0ONCALL', 'S0SECURITY'], emptyRoles: [], directMessages: ['U0SECLEAD'], contacts: ['security-team', 'pager'] });
    expect(recipientsOf(matrix, 4, 'security', roles, contacts)).toEqual({ ids: ['U0ONCALL', 'S0SECURITY', 'U0CISO'], emptyRoles: ['approvers'], directMessages: ['U0SECLEAD'], contacts: ['security-team', 'pager'] });
    // Without contacts configured, the same names are roles nobody holds (the config refuses such a matrix at start).
    expect(recipientsOf(matrix, 2, 'performance', roles)).toEqual({ ids: ['U0ONCALL'], emptyRoles: ['pager'] });
  });
});

describe('a bad escalation section stops the start, naming the key', () => {
  const refused = (escalation: unknown, roles: Record<string, string[]> = {}) => () => parseBotConfig({ roles, escalation });

  it('names an unknown key at every depth', () => {
    expect(refused({ level: {} })).toThrow(/^config: unknown key escalation\.level$/);
    expect(refused({ levels: { '5': { wait_minutes: 1 } } })).toThrow(/unknown key escalation\.levels\.5\b/);
    expect(refused({ levels: { '2': { wait: 5 } } })).toThrow(/unknown key escalation\.levels\.2\.wait\b/);
    expect(refused({ issue_types: { legal: { primary: ['U0LEGAL'] } } })).toThrow(/unknown key escalation\.issue_types\.legal\b/);
    expect(refused({ issue_types: { security: { tertiary: ['U0LEGAL'] } } })).toThrow(/unknown key escalation\.issue_types\.security\.tertiary\b/);
    expect(refused({ rules: { HighLatency: 'performance' } })).toThrow(/unknown key escalation\.rules\.HighLatency\b/);
  });

  it('names a wait that is not a positive number of minutes, and a wait at Level 4, which has nowhere to go', () => {
    expect(refused({ levels: { '2': { wait_minutes: 0 } } })).toThrow(/escalation\.levels\.2\.wait_minutes: must be more than 0 minutes/);
    expect(refused({ levels: { '1': { wait_minutes: '5m' } } })).toThrow(/escalation\.levels\.1\.wait_minutes: must be a number of minutes/);
    expect(refused({ levels: { '3': { wait_minutes: 20_000 } } })).toThrow(/escalation\.levels\.3\.wait_minutes: must be at most a week/);
    expect(refused({ levels: { '4': { wait_minutes: 10 } } })).toThrow(/unknown key escalation\.levels\.4\.wait_minutes\b/);
    // Level 1 is the bot's own: nobody to notify there.
    expect(refused({ levels: { '1': { notify: ['oncall'] } } })).toThrow(/unknown key escalation\.levels\.1\.notify\b/);
  });

  it('names a contact that is neither a role of the config nor a Slack user or user group ID', () => {
    expect(refused({ levels: { '2': { notify: ['oncal'] } } })).toThrow(/escalation\.levels\.2\.notify\[0\]: "oncal" is not a role or contact of the config \(nor a Slack user or user group ID\); use one of primary, secondary, escalation, oncall, approvers, admins, stakeholders/);
    expect(refused({ levels: { '3': { notify: ['primary', '#acgs-oncall'] } } })).toThrow(/escalation\.levels\.3\.notify\[1\]: must be a role or contact name such as oncall, a Slack user ID/);
    expect(refused({ issue_types: { security: { primary: ['sec-team'] } } })).toThrow(/escalation\.issue_types\.security\.primary\[0\]: "sec-team" is not a role or contact of the config/);
    // The columns are words of a level's notify list, not contacts of their own.
    expect(refused({ issue_types: { security: { secondary: ['primary'] } } })).toThrow(/escalation\.issue_types\.security\.secondary\[0\]: "primary" is not a role/);
    // A role the config defines is fine.
    expect(refused({ issue_types: { security: { primary: ['sec-team'] } } }, { 'sec-team': ['S0SECURITY'] })).not.toThrow();
  });

  it('names an issue type that is not one of the matrix and a bad check interval', () => {
    expect(refused({ rules: { HighCpu: 'legal' } })).toThrow(/escalation\.rules\.HighCpu: must be one of performance, security, constitutional, infrastructure/);
    expect(refused({ check_seconds: 0 })).toThrow(/escalation\.check_seconds: must be at least 1 second/);
    expect(refused({ check_seconds: 2.5 })).toThrow(/escalation\.check_seconds: must be a whole number of seconds/);
    expect(refused([])).toThrow(/^config: escalation: /);
  });
});
