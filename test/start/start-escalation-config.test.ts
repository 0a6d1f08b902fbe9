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

  it('refuses a webhook contact whose secret variable is unset, and e-mail contacts without SMTP_URL, naming the key', async () => {
    const webhook = configFile('pager.yml', 'contacts:\n  pager:\n    webhook:\n      url: https://paging.example.com/hooks/acgs\n      secret_env: ACGS_TEST_PAGER_SECRET\n');
    const unset = await start({ ACGS_CONFIG: webhook });
    expect(unset.code).toBe(1);
    expect(unset.stderr).toContain('[acgs] could not start: contacts.pager.webhook.secret_env: the environment variable ACGS_TEST_PAGER_SECRET is not set');
    expect(unset.stdout).not.toContain('stack:');

    const mailed = configFile('mailed.yml', 'contacts:\n  security-team:\n    email: [security@example.com]\n');
    const noSmtp = await start({ ACGS_CONFIG: mailed });
    expect(noSmtp.code).toBe(1);
    expect(noSmtp.stderr).toContain('[acgs] could not start: contacts.security-team.email: contacts with e-mail (security-team) need SMTP_URL');
    expect(noSmtp.stdout).not.toContain('stack:');
  }, 90_000);
});
