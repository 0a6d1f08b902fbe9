/**
 * `npx acgs run ...` with DATABASE_URL: the CLI records runs in the run store on a real PostgreSQL,
 * a runner in this test process (the bot's engine, with the shipped runbooks) claims them, and the
 * CLI follows each run step by step on stderr while stdout gets the final document. The
 * `health-check` runbook asks four health documents on loopback; the real Policy Engine decides
 * the CLI's authorization. Exit codes, --json, --no-follow, a decision, an abort, Ctrl-C, a run no
 * runner claims, and every bad input (nothing recorded).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCommandPathDependencies } from '../../bot/command-path/index.js';
import { runCli } from '../../bot/cli.js';
import { startRunbookEngine, type RunbookEngine } from '../../bot/runbook-runs/index.js';
import { migrateRunStore } from '../../runbooks/engine/run-store.js';
import { allRunbooks } from '../../runbooks/index.js';
import { createPool } from '../../services/kit/postgres.js';
import { SERVICE_NAMES } from '../../services/kit/service-ports.js';
import { openTestTrail, type TestTrail } from '../testing/command-access.js';
import { startPolicyEngine, type RunningPolicyEngine } from '../testing/policy-engine.js';
import { createTestDatabase } from '../testing/postgres.js';
import { startHealthStandIn, type HealthStandIn } from '../runbooks/testing/health-stand-in.js';
import { runTables, waitForRunState } from '../runbooks/testing/run-records.js';

const OPERATOR = 'U0CLIRUNS';
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

let policy: RunningPolicyEngine;
let health: HealthStandIn;
let trail: TestTrail;
let runner: RunbookEngine | undefined;
let scratch: string;
let env: Record<string, string>;

async function startRunner(): Promise<void> {
  runner = await startRunbookEngine({
    pool: trail.pool,
    trail: trail.trail,
    runbooks: allRunbooks,
    ports: { commands: createCommandPathDependencies({ endpoints: health.endpoints, checkTimeoutMs: 2000 }) },
    executor: { leaseMs: 2000, renewEveryMs: 200, scanEveryMs: 100 },
  });
}

async function stopRunner(): Promise<void> {
  await runner?.stop();
  runner = undefined;
}

beforeAll(async () => {
  [policy, health, trail] = await Promise.all([startPolicyEngine(), startHealthStandIn(), openTestTrail({ prefix: 'acgs_cli_runs' })]);
  scratch = mkdtempSync(join(tmpdir(), 'acgs-cli-runs-'));
  const config = join(scratch, 'chatops.yml');
  writeFileSync(config, `roles:\n  oncall: [${OPERATOR}]\ncli_users:\n  ${JSON.stringify(userInfo().username)}: ${OPERATOR}\n`);
  env = {
    DATABASE_URL: trail.db.url,
    ACGS_STATE_DIR: scratch,
    ACGS_CONFIG: config,
    ACGS_BACKUP_DIR: join(scratch, 'backups'),
    POLICY_ENGINE_URL: policy.url,
    AUDIT_ENGINE_URL: health.endpoints['audit-engine'],
    EVOLUTION_OVERSIGHT_URL: health.endpoints['evolution-oversight'],
    SANDBOX_CONTROLLER_URL: health.endpoints['sandbox-controller'],
    ACGS_CHECK_TIMEOUT_MS: '2000',
  };
  await startRunner();
}, 60_000);

afterAll(async () => {
  await stopRunner();
  await Promise.all([policy?.close(), health?.close(), trail?.close()]);
  rmSync(scratch, { recursive: true, force: true });
}, 60_000);

beforeEach(() => {
  for (const name of SERVICE_NAMES) health.status[name] = 'healthy';
});

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stderr's lines, without the elapsed time the step lines end with. */
  lines: string[];
}

async function acgs(args: string[], options: { signal?: AbortSignal; onStderr?: (text: string) => void; env?: Record<string, string>; unclaimedMs?: number } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    args,
    {
      env: { ...env, ...options.env },
      cwd: process.cwd(),
      stdout: (text) => (stdout += text),
      stderr: (text) => {
        stderr += text;
        options.onStderr?.(text);
      },
      ...(options.signal ? { signal: options.signal } : {}),
    },
    { follow: { pollMs: 50, unclaimedMs: options.unclaimedMs ?? 10_000 } },
  );
  const lines = stderr
    .split('\n')
    .filter(Boolean)
    .map((line) => line.replace(/ {2}\([\d.]+ m?s\)$/, ''));
  return { code, stdout, stderr, lines };
}

const runIdIn = (text: string) => UUID.exec(text)?.[0];

describe('npx acgs run <runbook> follows the run', () => {
  it('prints each step as it starts and ends on stderr, in order, and the final status on stdout; exit 0', async () => {
    const run = await acgs(['run', 'health-check']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const id = runIdIn(run.stdout)!;
    expect(run.lines[0]).toBe(`· Run ${id.slice(0, 8)} recorded; following its steps (Ctrl-C stops following, not the run; --no-follow returns at once)`);
    expect(run.lines.slice(1).map((line) => line.replace(/ in [\d.]+ m?s$/, ' in T'))).toEqual([
      "· Step 1/2 Ask each service's /health: started",
      "✓ Step 1/2 Ask each service's /health: done in T",
      expect.stringMatching(/^ {4}\{.*"policy-engine".*healthy/),
      '· Step 2/2 Verify that every service says healthy: started',
      '✓ Step 2/2 Verify that every service says healthy: done in T',
      expect.stringMatching(/^ {4}\S/),
    ]);
    expect(run.stdout).toMatch(/^✓ Run [0-9a-f]{8}: health-check {2}OK\nhealth-check has succeeded\./);
    expect(run.stdout).not.toContain('started');
    const stored = await runner!.store.get(id);
    expect(stored).toMatchObject({ state: 'succeeded', requester: `cli:${userInfo().username}`, origin: 'cli' });
  });

  it('--json: stdout is the run with its attempts, one JSON document; the steps still go to stderr', async () => {
    const run = await acgs(['run', 'health-check', 'service=policy-engine', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const document = JSON.parse(run.stdout) as { run: { state: string; args: unknown }; attempts: { stepId: string; outcome: string; output?: unknown }[] };
    expect(document.run).toMatchObject({ state: 'succeeded', args: { service: 'policy-engine' } });
    expect(document.attempts.map((attempt) => `${attempt.stepId} ${attempt.outcome}`)).toEqual(['probe-services done', 'verify-healthy done']);
    expect(run.lines.filter((line) => line.includes('Step'))).toHaveLength(4);
  });

  it('stops at a decision with exit 1 and the line to type; run decide retry follows it until it waits again, skip until it ends', async () => {
    health.status['audit-engine'] = 'degraded';
    const run = await acgs(['run', 'health-check']);
    expect(run.code).toBe(1);
    const id = runIdIn(run.stdout)!;
    expect(run.lines).toContainEqual(expect.stringMatching(/^✗ Step 2\/2 Verify that every service says healthy: failed in [\d.]+ m?s$/));
    expect(run.lines).toContainEqual('    not healthy: audit-engine degraded');
    expect(run.stdout).toContain(`It waits for a decision: type \`npx acgs run decide ${id} retry|skip|abort\`.`);

    // Still degraded: the retried step fails again, and the follow ends where the run waits again.
    const retried = await acgs(['run', 'decide', id, 'retry']);
    expect(retried.code, retried.stdout + retried.stderr).toBe(1);
    const steps = (lines: string[]) => lines.filter((line) => line.includes('Step')).map((line) => line.replace(/ in [\d.]+ m?s$/, ' in T'));
    expect(retried.lines[0]).toBe(`· Decision on run ${id.slice(0, 8)} recorded; following its steps from here (Ctrl-C stops following, not the run; --no-follow returns at once)`);
    expect(steps(retried.lines), 'only what happened after the decision').toEqual([
      '· Step 2/2 Verify that every service says healthy (attempt 2): started',
      '✗ Step 2/2 Verify that every service says healthy (attempt 2): failed in T',
    ]);
    expect(retried.stdout).toContain(`It waits for a decision: type \`npx acgs run decide ${id} retry|skip|abort\`.`);

    const decided = await acgs(['run', 'decide', id, 'skip']);
    expect(decided.code, decided.stdout + decided.stderr).toBe(0);
    expect(steps(decided.lines)).toEqual([`· Step 2/2 Verify that every service says healthy: skipped by cli:${userInfo().username}`]);
    expect(decided.stdout).toContain(`Not done: step 2 (Verify that every service says healthy) skipped by cli:${userInfo().username}.`);
    expect(decided.stdout).toMatch(/^✓ Run [0-9a-f]{8}: health-check {2}OK/);
    expect((await runner!.store.get(id))?.state).toBe('succeeded');
  });

  it('run decide --no-follow answers with the decision at once', async () => {
    health.status['audit-engine'] = 'degraded';
    const id = runIdIn((await acgs(['run', 'health-check'])).stdout)!;
    health.status['audit-engine'] = 'healthy';
    const decided = await acgs(['run', 'decide', id, 'retry', '--no-follow']);
    expect(decided.code).toBe(0);
    expect(decided.stdout).toMatch(/^✓ Retry decided: health-check/);
    expect(decided.lines.filter((line) => line.includes('Step'))).toEqual([]);
    expect((await waitForRunState(runner!.store, id, ['succeeded'])).state).toBe('succeeded');
  });

  it('--no-follow returns as soon as the run is recorded, with no step lines', async () => {
    const run = await acgs(['run', 'health-check', '--no-follow']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^✓ Run started: health-check {2}OK/);
    expect(run.stderr).toBe('');
    await waitForRunState(runner!.store, runIdIn(run.stdout)!, ['succeeded']);
  });

  it('backup --dry-run shows the plan from here and records nothing (no follow)', async () => {
    const before = await runTables(trail.pool);
    const run = await acgs(['backup', '--dry-run']);
    expect(run.stdout).toMatch(/^. Dry run: backup/);
    expect(run.stderr).toBe('');
    expect(await runTables(trail.pool)).toEqual(before);
  });

  it('backups lists ACGS_BACKUP_DIR from the CLI', async () => {
    const run = await acgs(['backups', '--json']);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toContain(join(scratch, 'backups'));
  });
});

describe('without a runner', () => {
  beforeAll(stopRunner);
  afterAll(startRunner);

  it('a run nobody claims is reported after a while with what to do; it stays pending; exit 1', async () => {
    const run = await acgs(['run', 'health-check'], { unclaimedMs: 300 });
    expect(run.code).toBe(1);
    const id = runIdIn(run.stdout)!;
    expect(run.stdout).toContain(`No runner claimed it in 0 s: no bot is running on this database. It stays pending, and a bot started on this database runs it; \`npx acgs run abort ${id}\` drops it instead.`);
    expect((await trail.pool.query('SELECT state FROM runbook_runs WHERE id = $1', [id])).rows[0].state).toBe('pending');
    await acgs(['run', 'abort', id]);
  });

  it('Ctrl-C stops following, says the run goes on, and leaves it as it was', async () => {
    const controller = new AbortController();
    const run = await acgs(['run', 'health-check'], { signal: controller.signal, onStderr: (text) => text.includes('recorded;') && controller.abort() });
    expect(run.code).toBe(1);
    const id = runIdIn(run.stdout)!;
    expect(run.stdout).toContain(`Stopped following (Ctrl-C); the run goes on. \`npx acgs run status ${id}\` shows it`);
    expect((await trail.pool.query('SELECT state FROM runbook_runs WHERE id = $1', [id])).rows[0].state).toBe('pending');
    await acgs(['run', 'abort', id]);
  });

  it('an abort while the CLI follows: the runner that then claims the run aborts it, and the follow ends with exit 1', async () => {
    let recorded!: (short: string) => void;
    const short = new Promise<string>((resolve) => (recorded = resolve));
    let toldAbort!: () => void;
    const abortTold = new Promise<void>((resolve) => (toldAbort = resolve));
    const followed = acgs(['run', 'health-check'], {
      onStderr: (text) => {
        const match = /Run ([0-9a-f]{8}) recorded/.exec(text);
        if (match) recorded(match[1]!);
        if (text.includes('Abort requested')) toldAbort();
      },
    });
    const prefix = await short;
    const id = (await trail.pool.query<{ id: string }>('SELECT id FROM runbook_runs WHERE id::text LIKE $1', [`${prefix}%`])).rows[0]!.id;
    const abort = await acgs(['run', 'abort', id]);
    expect(abort.stdout).toMatch(/Abort requested: health-check/);
    // The follower sees the run aborting (nothing runs it yet), then a runner finishes the abort.
    await abortTold;
    await startRunner();
    const run = await followed;
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('health-check was aborted');
    expect(run.lines).toContainEqual(expect.stringMatching(/^! Abort requested \(cli:/));
    await stopRunner();
  });
});

describe('the run store goes away while the CLI follows', () => {
  it('stops following with what it knows and exit 1, instead of failing with a stack trace', async () => {
    const gone = await createTestDatabase('acgs_cli_runs_gone');
    try {
      const pool = createPool({ databaseUrl: gone.url, max: 1, applicationName: 'acgs-cli-runs-test' });
      await migrateRunStore(pool);
      await pool.end();
      let dropped: Promise<void> | undefined;
      const run = await acgs(['run', 'health-check'], { env: { DATABASE_URL: gone.url, ACGS_STATE_DIR: mkdtempSync(join(scratch, 'gone-')) }, onStderr: (text) => void (text.includes('recorded;') && (dropped ??= gone.drop())) });
      await dropped;
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/^✗ Run [0-9a-f]{8}: following stopped {2}FAILED\nThe run was recorded, but asking for it failed \(/);
      expect(run.stdout).toContain('`npx acgs run status ');
      expect(run.stderr).not.toContain('    at ');
    } finally {
      await gone.drop();
    }
  });
});

describe('bad input: a clear answer, nothing recorded, nothing followed', () => {
  const cases: [string, string[], number, RegExp][] = [
    ['an unknown runbook', ['run', 'helth-check'], 2, /There is no runbook "helth-check"\.[\s\S]*Did you mean `health-check`\?/],
    ['arguments the runbook refuses', ['run', 'health-check', 'service=nope'], 2, /The arguments for "health-check" are not valid: .*service must be one of/],
    ['an argument that is not key=value', ['run', 'health-check', 'policy-engine'], 2, /is not an argument; a runbook's arguments are key=value/],
    ['an unknown run id', ['run', 'status', '1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed'], 2, /There is no run "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed"/],
    ['a run id that is not one', ['run', 'abort', 'yesterday'], 2, /`yesterday` is not a run id/],
    ['a decision that is not one', ['run', 'decide', '1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed', 'maybe'], 2, /maybe/],
    ['backup verify of a backup that is not there', ['backup', 'verify', '20261206T152000Z-a1b2c3'], 2, /There is no backup "20261206T152000Z-a1b2c3"/],
  ];
  it.each(cases)('%s', async (_name, args, code, message) => {
    const before = await runTables(trail.pool);
    const run = await acgs(args);
    expect(run.code, run.stdout + run.stderr).toBe(code);
    expect(run.stdout).toMatch(message);
    expect(run.stderr).not.toContain('Step');
    expect(await runTables(trail.pool)).toEqual(before);
  });

  it('a database where no bot created the run store: says so, records nothing', async () => {
    const empty = await createTestDatabase('acgs_cli_no_runs');
    try {
      const run = await acgs(['runs'], { env: { DATABASE_URL: empty.url } });
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('The run store is not in the database DATABASE_URL names.');
      const pool = createPool({ databaseUrl: empty.url, max: 1, applicationName: 'acgs-cli-runs-test' });
      expect((await pool.query("SELECT to_regclass('runbook_runs') AS t")).rows[0].t).toBeNull();
      await pool.end();
    } finally {
      await empty.drop();
    }
  });
});
