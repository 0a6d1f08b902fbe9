import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthCheckData } from '../../commands/health.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { EVERY_HEALTH_CHECK } from '../testing/stack.js';
import { realStackForSuite } from '../testing/suite.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** Variables of the developer's shell that would point the CLI at another stack. */
const STACK_VARIABLES = /^(POLICY_ENGINE_URL|AUDIT_ENGINE_URL|EVOLUTION_OVERSIGHT_URL|SANDBOX_CONTROLLER_URL|DATABASE_URL|REDIS_URL|ACGS_ADMIN_TOKEN|ACGS_STATE_DIR|ACGS_CHECK_TIMEOUT_MS|ACGS_CALL_TIMEOUT_MS|NO_COLOR)$/;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

let stateDir: string;

/** `npx acgs ...` as a user would type it, in the repository, with only the given stack settings. */
function acgs(args: string[], env: Record<string, string>): Promise<Run> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !STACK_VARIABLES.test(key) && !key.startsWith('VITEST')));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['--no-install', 'acgs', ...args], {
      cwd: REPO,
      env: { ...inherited, ACGS_STATE_DIR: stateDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

const suite = realStackForSuite();

beforeAll(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'acgs-cli-state-'));
});
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

describe('npx acgs against the real stack', () => {
  it('prints health as JSON and exits 0 when everything is up', async () => {
    const run = await acgs(['health', '--json'], suite.stack.cliEnv());
    expect(run.stderr).toBe('');
    expect(run.code, run.stdout).toBe(0);
    const body = JSON.parse(run.stdout) as { verdict: string; checks: HealthCheckData[] };
    expect(body.verdict).toBe('ok');
    expect(body.checks.map((check) => [check.name, check.tone])).toEqual(EVERY_HEALTH_CHECK.map((name) => [name, 'ok']));
  });

  it('prints readable text with a mark per check', async () => {
    const run = await acgs(['health'], suite.stack.cliEnv());
    // On a busy machine a check can pass its timeout: the output says which.
    expect(run.code, run.stdout).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe('✓ Stack health  OK');
    expect(lines[1]).toBe('All 7 checks pass.');
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}✓ policy-engine {9}healthy · [\d.]+ m?s · v\d/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}✓ redis {17}reachable · [\d.]+ m?s · Redis \d/));
    expect(run.stdout).not.toContain('\u001b[');
  });

  it('exits 1 and marks a hung service failed after the check timeout, without hanging', async () => {
    const run = await acgs(['health', '--json'], suite.stack.cliEnv({ endpoints: { 'audit-engine': suite.hung.url }, checkTimeoutMs: 1500 }));
    expect(run.code).toBe(1);
    const body = JSON.parse(run.stdout) as { verdict: string; checks: HealthCheckData[] };
    expect(body.verdict).toBe('fail');
    expect(body.checks.find((check) => check.name === 'audit-engine')).toMatchObject({ tone: 'fail', status: 'unreachable', detail: 'no answer within 1500 ms' });
    expect(run.ms).toBeLessThan(15_000);
  });

  it('exits 1 with what is down and what to try when a service does not answer', async () => {
    const url = await unusedLoopbackUrl();
    const run = await acgs(['metrics'], suite.stack.cliEnv({ endpoints: { 'policy-engine': url } }));
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('✗ metrics: not available right now  FAILED');
    expect(run.stdout).toContain(`The Policy Engine at ${url} does not answer`);
    expect(run.stdout).toContain('docker-compose restart policy-engine');
  });

  it('shows information such as "not configured" with exit 0', async () => {
    const run = await acgs(['redis', 'status'], suite.stack.cliEnv({ redisUrl: null }));
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe('· Redis status  INFO');
  });

  it('reads the admin token from $ACGS_STATE_DIR/admin-token when ACGS_ADMIN_TOKEN is not set', async () => {
    const withoutToken = await acgs(['sandbox', 'status', '--json'], suite.stack.cliEnv({ adminToken: null }));
    expect(withoutToken.code).toBe(1);
    expect(JSON.parse(withoutToken.stdout).resource_usage.error).toContain('needs the admin token');

    const tokenDir = mkdtempSync(join(tmpdir(), 'acgs-cli-token-'));
    try {
      writeFileSync(join(tokenDir, 'admin-token'), `${suite.stack.adminToken}\n`, { mode: 0o600 });
      const run = await acgs(['sandbox', 'status', '--json'], { ...suite.stack.cliEnv({ adminToken: null }), ACGS_STATE_DIR: tokenDir });
      expect(run.code).toBe(0);
      // Read with the token: usage is there. Other suites' sandboxes on the shared engine count in `active`, not in `active_own`.
      expect(JSON.parse(run.stdout).resource_usage.totals).toMatchObject({ active_own: 0 });
    } finally {
      rmSync(tokenDir, { recursive: true, force: true });
    }
  });

  it('refuses a token file that others may read, or a token shorter than 32 characters, saying what to do and calling nothing', async () => {
    const tokenDir = mkdtempSync(join(tmpdir(), 'acgs-cli-token-'));
    const before = suite.hung.connections;
    const everythingHung = { 'policy-engine': suite.hung.url, 'audit-engine': suite.hung.url, 'evolution-oversight': suite.hung.url, 'sandbox-controller': suite.hung.url };
    try {
      for (const file of ['admin-token', 'service-token']) {
        const path = join(tokenDir, file);
        writeFileSync(path, `${suite.stack.adminToken}\n`, { mode: 0o644 });
        chmodSync(path, 0o644);
        const run = await acgs(['health'], { ...suite.stack.cliEnv({ adminToken: null, serviceToken: null, endpoints: everythingHung }), ACGS_STATE_DIR: tokenDir });
        expect(run.code, file).toBe(2);
        expect(run.stderr, file).toContain(`acgs: ${path} may be read or written by group or others (mode 0644)`);
        expect(run.stderr, file).toContain(`chmod 600 ${path}`);
        expect(run.stderr + run.stdout, file).not.toContain(suite.stack.adminToken);
        rmSync(path);
      }
      const short = await acgs(['health'], { ...suite.stack.cliEnv({ endpoints: everythingHung }), ACGS_SERVICE_TOKEN: 'too-short-to-guess-safely' });
      expect(short.code).toBe(2);
      expect(short.stderr).toContain('ACGS_SERVICE_TOKEN: must be at least 32 characters');
      expect(short.stderr).not.toContain('too-short-to-guess-safely');
    } finally {
      rmSync(tokenDir, { recursive: true, force: true });
    }
    expect(suite.hung.connections).toBe(before);
  });
});

describe('npx acgs with bad input', () => {
  it('exits 2 for an unknown command and suggests the closest', async () => {
    const run = await acgs(['helth'], suite.stack.cliEnv());
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('`helth` is not a command.');
    expect(run.stdout).toContain('Did you mean `health`');
  });

  // One CLI process per case: five process starts in one test outgrew its timeout on a loaded machine.
  it.each([['violations', '0'], ['violations', '-5'], ['violations', '500'], ['health', '--verbose'], ['metrics', 'extra']])(
    'exits 2 for a bad argument (%s %s), with the allowed range, and calls nothing',
    async (...args) => {
      const before = suite.hung.connections;
      const everythingHung = { 'policy-engine': suite.hung.url, 'audit-engine': suite.hung.url, 'evolution-oversight': suite.hung.url, 'sandbox-controller': suite.hung.url };
      const run = await acgs(args, suite.stack.cliEnv({ endpoints: everythingHung }));
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stdout.split('\n')[0]).toBe('✗ Cannot run that  FAILED');
      expect(suite.hung.connections).toBe(before);
    },
  );

  it('exits 2 naming every bad setting, never echoing the admin token', async () => {
    const run = await acgs(['health'], { ...suite.stack.cliEnv(), POLICY_ENGINE_URL: 'ftp://example', ACGS_CHECK_TIMEOUT_MS: 'soon' });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('acgs: Invalid acgs configuration:');
    expect(run.stderr).toContain('POLICY_ENGINE_URL: must be an http(s) URL');
    expect(run.stderr).toContain('ACGS_CHECK_TIMEOUT_MS: must be a whole number from 100 to 60000');
    expect(run.stderr).not.toContain(suite.stack.adminToken);
  });

  it('shows help without arguments, and for a quoted two-word command', async () => {
    const bare = await acgs([], suite.stack.cliEnv());
    expect(bare.code).toBe(0);
    expect(bare.stdout).toContain('ACGS ChatOps commands');
    expect(bare.stdout).toMatch(/violations \[limit\] +Recent safety violations/);
    const quoted = await acgs(['help', 'audit verify', '--json'], suite.stack.cliEnv());
    expect(quoted.code).toBe(0);
    expect(JSON.parse(quoted.stdout).title).toBe('/acgs audit verify [--full]');
  });
});
