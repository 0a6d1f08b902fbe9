import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadBotConfig, parseBotConfig } from './config.js';

describe('bot config', () => {
  it('accepts roles and channels with Slack IDs', () => {
    const config = parseBotConfig({ roles: { oncall: ['U012ABCDEF'], approvers: ['U0APPROVE1', 'W0APPROVE2'] }, channels: { ops: 'C0OPS' } });
    expect(config.roles.approvers).toEqual(['U0APPROVE1', 'W0APPROVE2']);
    expect(config.channels.ops).toBe('C0OPS');
  });

  it('defaults to no roles and no channels when no file is given', () => {
    expect(loadBotConfig(undefined)).toEqual({ roles: {}, channels: {} });
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
    const good = join(dir, 'good.yml');
    writeFileSync(good, 'roles:\n  admins: [U0ADMIN1]\nchannels:\n  approvals: C0APPROVE\n');
    expect(loadBotConfig(good).roles.admins).toEqual(['U0ADMIN1']);
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'roles: [unclosed\n');
    expect(() => loadBotConfig(bad)).toThrow(new RegExp(`${bad}: not valid YAML`));
    expect(() => loadBotConfig(join(dir, 'missing.yml'))).toThrow(ConfigError);
  });
});
