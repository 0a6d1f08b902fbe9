/**
 * `npm start` with an escalation section that does not parse: the start stops before anything is
 * started, with a sentence naming the key.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { refusedStarts } from '../testing/npm-start.js';

const { start, cleanup } = refusedStarts('acgs-escalation-refusal-');
const configDir = mkdtempSync(join(tmpdir(), 'acgs-escalation-config-'));
afterAll(() => {
  cleanup();
  rmSync(configDir, { recursive: true, force: true });
});

function configFile(name: string, yaml: string): string {
  const path = join(configDir, name);
  writeFileSync(path, yaml);
  return path;
}

describe('npm start with an escalation section', () => {
  it('refuses a bad wait time, naming the key, before starting anything', async () => {
    const config = configFile('bad-wait.yml', 'escalation:\n  levels:\n    "2":\n      wait_minutes: -5\n');
    const result = await start({ ACGS_CONFIG: config });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`[acgs] could not start: ${config}: escalation.levels.2.wait_minutes: must be more than 0 minutes`);
    expect(result.stdout).not.toContain('stack:');
  }, 60_000);

  it('refuses a role the config does not have, naming where', async () => {
    const config = configFile('bad-role.yml', 'roles:\n  oncall: [U0ONCALL]\nescalation:\n  levels:\n    "3":\n      notify: [primary, approver]\n');
    const result = await start({ ACGS_CONFIG: config });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('escalation.levels.3.notify[1]: "approver" is not a role or contact of the config');
    expect(result.stdout).not.toContain('stack:');
  }, 60_000);
});
