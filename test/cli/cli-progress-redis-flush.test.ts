/**
 * A real multi-step command from the CLI: `acgs redis flush` against the real Redis (database 14,
 * used by no other test file), the real Policy Engine (in-process, for the modes and the cache
 * warm) and the bot's trail on a fresh database of the real PostgreSQL (DATABASE_URL). A config
 * file maps the test's operating-system user to an on-call Slack user (cli_users) and lets oncall
 * flush without approvals, since the CLI cannot collect them. The flush is told
 * on stderr before the answer; `--json` keeps stdout one document; through the `acgs` entry with
 * its stderr closed by the reader, the flush still runs and answers.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bot/cli.js';
import { openStackRedis } from '../../services/stack/stack-connections.js';
import { startPolicyEngine, type RunningPolicyEngine } from '../testing/policy-engine.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** Used by no other test file. */
const FLUSHED_DB = 14;
const REDIS_URL = `redis://127.0.0.1:6379/${FLUSHED_DB}`;
const FLUSH_STEP = (keys: string) => new RegExp(`^✓ Flushed ${keys} from 127\\.0\\.0\\.1:6379 db ${FLUSHED_DB}; warming the Policy Engine's cache next\\.  \\([\\d.]+ m?s\\)$`);

let engine: RunningPolicyEngine;
let db: TestDatabase;
let redis: Redis;
let scratch: string;
let env: Record<string, string>;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'acgs-cli-flush-'));
  const config = join(scratch, 'config.yaml');
  // cli_users: the test's operating-system user acts with the on-call roles of U0CLIOPS.
  writeFileSync(
    config,
    `roles:\n  oncall: [U0CLIOPS]\ncli_users:\n  ${JSON.stringify(userInfo().username)}: U0CLIOPS\nauthorization:\n  commands:\n    redis flush: { level: 3, requesters: [oncall], approvals: 0, approver_roles: [] }\n`,
  );
  engine = await startPolicyEngine();
  db = await createTestDatabase('acgs_cli_flush');
  redis = openStackRedis(REDIS_URL);
  await redis.connect();
  env = { POLICY_ENGINE_URL: engine.url, REDIS_URL, DATABASE_URL: db.url, ACGS_CONFIG: config, ACGS_STATE_DIR: scratch };
}, 30_000);

afterAll(async () => {
  redis?.disconnect();
  await engine?.close();
  await db?.drop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function seed(count: number): Promise<void> {
  for (let n = 0; n < count; n += 1) await redis.set(`cli-progress-test:${n}`, String(n));
}

async function acgs(args: string[]): Promise<{ code: number; stdout: string; stderr: string; order: string[] }> {
  let stdout = '';
  let stderr = '';
  const order: string[] = [];
  const code = await runCli(args, {
    env,
    cwd: process.cwd(),
    stdout: (text) => {
      stdout += text;
      order.push('stdout');
    },
    stderr: (text) => {
      stderr += text;
      order.push('stderr');
    },
  });
  return { code, stdout, stderr, order };
}

describe('acgs redis flush prints its step', () => {
  it('tells the flush on stderr, then answers about the warm on stdout', async () => {
    await seed(3);
    const run = await acgs(['redis', 'flush']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.order).toEqual(['stderr', 'stdout']);
    expect(run.stderr.split('\n').filter(Boolean)).toEqual([expect.stringMatching(FLUSH_STEP('3 keys'))]);
    expect(run.stdout.split('\n')[0]).toBe('✓ Redis flushed, Policy Engine cache warmed  OK');
    expect(await redis.dbsize()).toBe(0);
  });

  it('with --json prints the step on stderr and one JSON document on stdout', async () => {
    await seed(1);
    const run = await acgs(['redis', 'flush', '--json']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^✓ Flushed 1 key from /);
    expect(JSON.parse(run.stdout)).toMatchObject({ database: `127.0.0.1:6379 db ${FLUSHED_DB}`, keys_flushed: 1, warm: { warmed: expect.any(Number) } });
  });

  it('through the acgs entry, a reader that closed stderr does not stop the flush nor its answer', async () => {
    await seed(2);
    const child = spawn(process.execPath, ['bot/cli-entry.js', 'redis', 'flush', '--json'], {
      cwd: REPO,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Closed before the CLI writes anything: its step (and anything else on stderr) meets EPIPE.
    child.stderr.destroy();
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    }).finally(() => clearTimeout(timer));
    expect(code, stdout).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ keys_flushed: 2 });
    expect(await redis.dbsize()).toBe(0);
  }, 60_000);
});
