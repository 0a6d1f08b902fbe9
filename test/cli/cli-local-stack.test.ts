/**
 * The CLI against a local stack that another process supervises, as `npm start` does: a real
 * supervisor process (test/fixtures/stack/supervisor.ts: supervised children with pid and log
 * files, the control channel, a real audit trail on PostgreSQL lent over it) and the CLI
 * (`runCli`, and once the `npx acgs` entry) as a separate actor with only the state directory.
 * Loopback only; every process is stopped in afterAll.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditTrail } from '../../bot/audit-trail/index.js';
import { restartExecutionCheck } from '../../bot/audit-trail/restart-execution-check.js';
import { CLI_BREAK_GLASS_REFUSAL } from '../../bot/cli-identity.js';
import { runCli } from '../../bot/cli.js';
import { createPool } from '../../services/kit/postgres.js';
import { localStatePaths, processArgv, type PidRecord } from '../../services/stack/local/local-state.js';
import { startLocalControl } from '../../services/stack/local/local-control.js';
import type { SupervisorRecord } from '../../services/stack/local/local-control-protocol.js';
import { createLocalStack, localRefusals } from '../../services/stack/local/local-stack.js';
import { POLICY_ADMIN_TOKEN, startPolicyEngine, type RunningPolicyEngine } from '../testing/policy-engine.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';

interface Supervisor {
  child: ChildProcess;
  stateDir: string;
  urls: Record<string, string>;
  output: () => string;
}

const started: ChildProcess[] = [];
/** Children a killed fixture supervisor left running, by their pid files: ended in afterAll if a test could not. */
const orphans: PidRecord[] = [];
const scratch: string[] = [];
let engine: RunningPolicyEngine;
let db: TestDatabase;
let main: Supervisor;
/** The config file the CLI reads: cli_users maps this test's operating-system user to an on-call Slack user. */
let operatorConfig: string;
const OS_USER = userInfo().username;
const OPERATOR = 'U0CLIOPS';
const ADMIN = 'U0CLIADMIN';

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

/** A bot config file (YAML) in a scratch directory. */
function configFile(yaml: string): string {
  const file = join(tempDir('acgs-cli-config-'), 'chatops.yml');
  writeFileSync(file, yaml);
  return file;
}

/** Starts the fixture supervisor and waits for its `ready` line. */
async function startSupervisor(options: { trail: boolean; logFileBytes?: number }): Promise<Supervisor> {
  const stateDir = tempDir('acgs-cli-local-');
  const env: NodeJS.ProcessEnv = { ...process.env, ACGS_STATE_DIR: stateDir, ...(options.logFileBytes ? { LOG_FILE_BYTES: String(options.logFileBytes) } : {}) };
  delete env.TRAIL_DATABASE_URL;
  if (options.trail) env.TRAIL_DATABASE_URL = db.url;
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/stack/supervisor.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let output = '';
  child.stderr!.on('data', (chunk) => (output += chunk));
  const urls = await new Promise<Record<string, string>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the fixture supervisor did not start: ${output}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk;
      const match = /^ready (.*)$/m.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(JSON.parse(match[1]!) as Record<string, string>);
      }
    });
    child.once('exit', (code) => reject(new Error(`the fixture supervisor exited (${code}): ${output}`)));
  });
  return { child, stateDir, urls, output: () => output };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
}

/** `acgs <args> --json` in-process, with only the state directory and the Policy Engine (for the modes). */
async function acgs(args: string[], options: { stateDir?: string; env?: Record<string, string>; text?: boolean } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(options.text ? args : [...args, '--json'], {
    env: { ACGS_STATE_DIR: options.stateDir ?? main.stateDir, ACGS_STACK: 'local', POLICY_ENGINE_URL: engine.url, ACGS_CONFIG: operatorConfig, ...options.env },
    cwd: process.cwd(),
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  });
  let json: any;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  return { code, stdout, stderr, json };
}

function pidRecord(stateDir: string, service: string): PidRecord {
  return JSON.parse(readFileSync(localStatePaths(stateDir).pidFile(service), 'utf8')) as PidRecord;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A raw call on a supervisor's control channel (the main one by default), with its token: what any token holder can send. */
async function control(path: string, body: unknown, stateDir = main.stateDir): Promise<{ status: number; json: any }> {
  const record = JSON.parse(readFileSync(localStatePaths(stateDir).supervisorFile, 'utf8')) as SupervisorRecord;
  const response = await fetch(`${record.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${record.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

async function rowsWhere(sql: string, params: unknown[]): Promise<Array<Record<string, any>>> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function trailRows(command: string): Promise<Array<{ kind: string; actor: string; origin: string; outcome: string | null }>> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT kind, actor, origin, outcome FROM bot_audit_trail WHERE command = $1 ORDER BY sequence', [command]);
    return rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  engine = await startPolicyEngine();
  db = await createTestDatabase('acgs_cli_local');
  operatorConfig = configFile(`roles:\n  oncall: [${OPERATOR}]\ncli_users:\n  ${JSON.stringify(OS_USER)}: ${OPERATOR}\n`);
  main = await startSupervisor({ trail: true });
}, 60_000);

/** Ends the children a SIGKILLed supervisor left, only while /proc shows the very argv their pid file names. */
async function endOrphans(): Promise<void> {
  for (const record of orphans.splice(0)) {
    const argv = await processArgv(record.pid);
    if (argv && argv.join('\0') === record.argv.join('\0')) process.kill(record.pid, 'SIGKILL');
  }
}

afterAll(async () => {
  await endOrphans();
  await Promise.all(started.map(stopProcess));
  await engine?.close();
  await db?.drop();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('acgs status and restart on the local stack of another process', () => {
  it('shows every service with the pid its supervisor runs', async () => {
    const run = await acgs(['status']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1); // sick answers 503: something needs attention
    const services = run.json.services as Array<{ name: string; replicas: Array<{ pid: number; health: string; state: string }> }>;
    expect(services.map((service) => service.name)).toEqual(['alpha', 'beta', 'sick']);
    expect(services[0]!.replicas[0]).toMatchObject({ state: 'running', health: 'healthy', pid: pidRecord(main.stateDir, 'alpha').pid });
    expect(services[2]!.replicas[0]!.health).toBe('unhealthy');
  });

  it('has the supervisor restart a service: a new pid, healthy after, the time taken, recorded in the bot trail', async () => {
    const before = pidRecord(main.stateDir, 'alpha').pid;
    const run = await acgs(['restart', 'alpha']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const [replica] = run.json.replicas as Array<{ previousPid: number; pid: number; health: string }>;
    expect(replica!.previousPid).toBe(before);
    expect(replica!.pid).not.toBe(before);
    expect(replica!.health).toBe('healthy');
    expect(run.json.health).toBe('healthy');
    expect(run.json.durationMs).toBeGreaterThan(0);
    expect(isAlive(before)).toBe(false);
    // The pid file follows the new child; the service answers.
    expect(pidRecord(main.stateDir, 'alpha').pid).toBe(replica!.pid);
    expect((await fetch(`${main.urls.alpha}/health`)).status).toBe(200);
    const rows = await trailRows('restart');
    expect(rows.map((row) => row.kind)).toEqual(['command', 'execution', 'result']);
    expect(rows.every((row) => row.origin === 'cli' && row.actor.startsWith('cli:'))).toBe(true);
    expect(rows[2]!.outcome).toBe('ok');
  }, 30_000);

  it('prints the restart as text through the npx acgs entry, with the pids and the time taken', async () => {
    const before = pidRecord(main.stateDir, 'beta').pid;
    const child = spawn(process.execPath, ['bot/cli-entry.js', 'restart', 'beta'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ACGS_STATE_DIR: main.stateDir, ACGS_STACK: 'local', POLICY_ENGINE_URL: engine.url, ACGS_CONFIG: operatorConfig, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(child);
    let stdout = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    const after = pidRecord(main.stateDir, 'beta').pid;
    expect(after).not.toBe(before);
    expect(stdout).toContain(`pid ${before} → ${after}`);
    expect(stdout).toMatch(/beta was restarted \(1 replica\) in [\d.]+ m?s; it is healthy now\./);
  }, 30_000);

  it('records another Level 1 command (cache warm) through the relay before it runs', async () => {
    const run = await acgs(['cache', 'warm'], { env: { ACGS_ADMIN_TOKEN: POLICY_ADMIN_TOKEN } });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect((await trailRows('cache warm')).map((row) => `${row.kind} ${row.origin} ${row.outcome ?? ''}`.trim())).toEqual(['command cli', 'execution cli', 'result cli ok']);
  });

  it('refuses a service the stack does not have, naming the ones it has, and restarts nothing', async () => {
    const pids = ['alpha', 'beta', 'sick'].map((service) => pidRecord(main.stateDir, service).pid);
    const run = await acgs(['restart', 'gamma']);
    expect(run.code).not.toBe(0);
    expect(run.stdout).toContain('There is no service `gamma` in the local stack');
    expect(run.stdout).toContain('alpha, beta, sick');
    expect(['alpha', 'beta', 'sick'].map((service) => pidRecord(main.stateDir, service).pid)).toEqual(pids);
  });

  it('refuses to scale with the in-process driver’s words, nothing changed', async () => {
    const config = configFile(
      `roles:\n  admins: [${ADMIN}]\ncli_users:\n  ${JSON.stringify(OS_USER)}: ${ADMIN}\nauthorization:\n  commands:\n    scale: { level: 2, requesters: [admins], approvals: 0, approver_roles: [] }\n`,
    );
    const before = pidRecord(main.stateDir, 'alpha').pid;
    const run = await acgs(['scale', 'alpha', '2'], { env: { ACGS_CONFIG: config } });
    expect(run.code).toBe(1);
    expect(run.json.error).toMatchObject({ code: 'NOT_SUPPORTED', message: localRefusals.scale('alpha').reason });
    expect(pidRecord(main.stateDir, 'alpha').pid).toBe(before);
  });

  it('sends a command that needs approvals to Slack or the console, where approvers have buttons, and records it as waiting', async () => {
    const before = pidRecord(main.stateDir, 'alpha').pid;
    const run = await acgs(['scale', 'alpha', '2'], { text: true });
    expect(run.code).not.toBe(0);
    expect(run.stdout).toContain('Approvers confirm with buttons in a channel, so ask for it in Slack or the local console: `/acgs scale alpha 2`; nothing was run.');
    expect(pidRecord(main.stateDir, 'alpha').pid).toBe(before);
    expect((await trailRows('scale')).map((row) => `${row.kind} ${row.origin}`).at(-1)).toBe('command cli');
  });
});

describe('acgs logs and stats from the published files', () => {
  it('reads the log file with --tail and --grep, and the file is plain timed lines', async () => {
    for (const word of ['first', 'second', 'third']) await fetch(`${main.urls.alpha}/say/stdout/${encodeURIComponent(`cli-marker ${word}`)}`);
    await fetch(`${main.urls.alpha}/say/stderr/${encodeURIComponent('something else')}`);
    const run = await acgs(['logs', 'alpha', '--grep', 'CLI-MARKER', '--tail', '2']);
    expect(run.code).toBe(0);
    expect(run.json.lines.map((line: { text: string }) => line.text)).toEqual(['cli-marker second', 'cli-marker third']);
    expect(run.json.truncated).toBe(true);
    const file = readFileSync(localStatePaths(main.stateDir).logFile('alpha'), 'utf8');
    expect(file).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z stdout cli-marker first$/m);
    expect(file).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z stderr something else$/m);
  });

  it('keeps only the lines of the --since window', async () => {
    await fetch(`${main.urls.beta}/say/stdout/${encodeURIComponent('window old line')}`);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await fetch(`${main.urls.beta}/say/stdout/${encodeURIComponent('window new line')}`);
    const run = await acgs(['logs', 'beta', '--since', '2s', '--grep', 'window']);
    expect(run.code).toBe(0);
    expect(run.json.lines.map((line: { text: string }) => line.text)).toEqual(['window new line']);
  }, 15_000);

  it('measures CPU and memory of the published pids', async () => {
    const run = await acgs(['stats', 'alpha']);
    const alpha = run.json.samples as Array<{ service: string; cpuPercent: number; memory: { usedBytes: number } }>;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(alpha).toHaveLength(1);
    expect(alpha[0]!.service).toBe('alpha');
    expect(alpha[0]!.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(alpha[0]!.memory.usedBytes).toBeGreaterThan(1024 * 1024);
  });
});

describe('stale state is never trusted', () => {
  it('a pid file of a process that is gone: stats says so and measures nothing', async () => {
    const file = localStatePaths(main.stateDir).pidFile('sick');
    const original = readFileSync(file, 'utf8');
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.once('exit', resolve));
    writeFileSync(file, JSON.stringify({ ...JSON.parse(original), pid: gone.pid }));
    try {
      const run = await acgs(['stats', 'sick']);
      expect(run.code).toBe(1);
      expect(run.json.error.message).toBe(`Nothing was measured: pid ${gone.pid} of sick is not running (a stale pid file)`);
    } finally {
      writeFileSync(file, original);
    }
  });

  it('stats of every service names each service it left out and why, and measures the rest', async () => {
    const paths = localStatePaths(main.stateDir);
    const sickFile = paths.pidFile('sick');
    const betaFile = paths.pidFile('beta');
    const sickOriginal = readFileSync(sickFile, 'utf8');
    const betaOriginal = readFileSync(betaFile, 'utf8');
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.once('exit', resolve));
    writeFileSync(sickFile, JSON.stringify({ ...JSON.parse(sickOriginal), pid: gone.pid }));
    rmSync(betaFile);
    try {
      const run = await acgs(['stats']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(1); // a service not measured needs a look
      expect(run.json.samples.map((sample: { service: string }) => sample.service)).toEqual(['alpha']);
      expect(run.json.skipped).toEqual([
        { service: 'beta', reason: 'beta has no pid file, so it is not running (the supervisor may be waiting to restart it; `status beta` shows it)' },
        { service: 'sick', reason: `pid ${gone.pid} of sick is not running (a stale pid file)` },
      ]);
      const text = await acgs(['stats'], { text: true });
      expect(text.stdout).toContain('Not measured: beta, sick');
      expect(text.stdout).toContain(`not measured: pid ${gone.pid} of sick is not running (a stale pid file)`);
      expect(text.stdout).toContain('not measured: beta has no pid file');
    } finally {
      writeFileSync(sickFile, sickOriginal);
      writeFileSync(betaFile, betaOriginal);
    }
    // With the files back, nothing is left out.
    const again = await acgs(['stats']);
    expect(again.json.skipped).toEqual([]);
    expect(again.json.samples.map((sample: { service: string }) => sample.service)).toEqual(['alpha', 'beta', 'sick']);
  });

  it('a pid reused by another process: never measured as the service, never signalled; restart still goes through the supervisor', async () => {
    const stranger = spawn('sleep', ['300']);
    started.push(stranger);
    const file = localStatePaths(main.stateDir).pidFile('beta');
    const original = JSON.parse(readFileSync(file, 'utf8')) as PidRecord;
    writeFileSync(file, JSON.stringify({ ...original, pid: stranger.pid }));
    const stats = await acgs(['stats', 'beta']);
    expect(stats.code).toBe(1);
    expect(stats.json.error.message).toBe(`Nothing was measured: pid ${stranger.pid} is not beta any more: it runs \`sleep 300\` (the pid file is stale and the pid was reused)`);
    const restart = await acgs(['restart', 'beta']);
    expect(restart.code).toBe(0);
    expect(restart.json.replicas[0].previousPid).toBe(original.pid);
    expect(restart.json.replicas[0].pid).not.toBe(stranger.pid);
    expect(isAlive(stranger.pid!)).toBe(true);
    expect(stranger.exitCode).toBeNull();
    expect(stranger.signalCode).toBeNull();
    // The supervisor wrote the new child's pid over the forged one.
    expect(pidRecord(main.stateDir, 'beta').pid).toBe(restart.json.replicas[0].pid);
    await stopProcess(stranger);
  }, 30_000);

  it('a supervisor file naming a pid that is gone: not running, nothing done', async () => {
    const stateDir = tempDir('acgs-cli-stale-');
    const record = JSON.parse(readFileSync(localStatePaths(main.stateDir).supervisorFile, 'utf8')) as SupervisorRecord;
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.once('exit', resolve));
    const { mkdirSync } = await import('node:fs');
    mkdirSync(localStatePaths(stateDir).runDir, { recursive: true });
    writeFileSync(localStatePaths(stateDir).supervisorFile, JSON.stringify({ ...record, pid: gone.pid }));
    const run = await acgs(['status'], { stateDir });
    expect(run.code).toBe(1);
    expect(run.json.error.code).toBe('NOT_RUNNING');
    expect(run.json.error.message).toContain(`names supervisor pid ${gone.pid}, which is gone`);
  });

  it('a supervisor file whose pid now belongs to another process: the ping tells them apart', async () => {
    const stateDir = tempDir('acgs-cli-reused-');
    const record = JSON.parse(readFileSync(localStatePaths(main.stateDir).supervisorFile, 'utf8')) as SupervisorRecord;
    const { mkdirSync } = await import('node:fs');
    mkdirSync(localStatePaths(stateDir).runDir, { recursive: true });
    // Our own pid is alive but is not the supervisor behind that URL.
    writeFileSync(localStatePaths(stateDir).supervisorFile, JSON.stringify({ ...record, pid: process.pid }));
    const before = pidRecord(main.stateDir, 'alpha').pid;
    const run = await acgs(['restart', 'alpha'], { stateDir });
    expect(run.code).not.toBe(0);
    const status = await acgs(['status'], { stateDir });
    expect(status.json.error.code).toBe('NOT_RUNNING');
    expect(status.json.error.message).toContain(`is not the supervisor pid ${process.pid}`);
    expect(pidRecord(main.stateDir, 'alpha').pid).toBe(before);
  });
});

/** `acgs <args>` following runs quickly (50 ms polls); stderr's lines without their elapsed times. */
async function follow(args: string[], stateDir = main.stateDir): Promise<CliRun & { lines: string[] }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    args,
    {
      env: { ACGS_STATE_DIR: stateDir, ACGS_STACK: 'local', POLICY_ENGINE_URL: engine.url, ACGS_CONFIG: operatorConfig },
      cwd: process.cwd(),
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
    },
    { follow: { pollMs: 50 } },
  );
  let json: any;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  const lines = stderr
    .split('\n')
    .filter(Boolean)
    .map((line) => line.replace(/ {2}\([\d.]+ m?s\)$/, '').replace(/ in [\d.]+ m?s$/, ' in T'));
  return { code, stdout, stderr, json, lines };
}

const runCount = async () => Number((await rowsWhere('SELECT count(*) AS n FROM runbook_runs', []))[0]!.n);

describe('acgs run through the runbook engine npm start lends over its control channel', () => {
  it('runs a runbook on its runner, printing each step as it starts and ends, then the status; recorded in its trail', async () => {
    const run = await follow(['run', 'stack-check']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.lines).toEqual([
      expect.stringMatching(/^· Run [0-9a-f]{8} recorded; following its steps \(Ctrl-C stops following, not the run; --no-follow returns at once\)$/),
      "· Step 1/2 Ask alpha's health: started",
      "✓ Step 1/2 Ask alpha's health: done in T",
      '    {"alpha":"healthy"}',
      '· Step 2/2 Verify the answer: started',
      '✓ Step 2/2 Verify the answer: done in T',
      '    {"verified":true}',
    ]);
    expect(run.stdout).toMatch(/^✓ Run [0-9a-f]{8}: stack-check {2}OK\nstack-check has succeeded\./);
    const id = /Run: +([0-9a-f-]{36})/.exec(run.stdout)![1]!;
    expect(await rowsWhere('SELECT state, requester, origin FROM runbook_runs WHERE id = $1', [id])).toEqual([{ state: 'succeeded', requester: `cli:${OS_USER}`, origin: 'cli' }]);
    // The CLI's own records through the trail relay, then the runner's, in the one chain of npm start.
    expect((await trailRows('run')).filter((row) => row.origin === 'cli').map((row) => row.kind)).toEqual(expect.arrayContaining(['command', 'execution', 'result']));
    expect((await trailRows('run stack-check')).map((row) => `${row.kind} ${row.outcome}`)).toEqual(expect.arrayContaining(['run_step started', 'run_step done', 'run_state succeeded']));
  });

  it('--json, a run that waits for a decision: exit 1, the line to type; run decide abort over the relay ends it, followed to the end', async () => {
    const run = await follow(['run', 'stack-check', 'fail=yes', '--json']);
    expect(run.code).toBe(1);
    expect(run.json.run).toMatchObject({ state: 'needs_decision', reason: expect.stringContaining('told to fail (fail=yes)') });
    expect(run.lines).toContain('✗ Step 2/2 Verify the answer: failed in T');
    expect(run.lines).toContain('    told to fail (fail=yes)');
    const id = run.json.run.id as string;
    expect(run.json.followed).toEqual({ how: 'ended', next: `It waits for a decision: type \`npx acgs run decide ${id} retry|skip|abort\`.` });
    const decided = await follow(['run', 'decide', id, 'abort', '--json']);
    expect(decided.code).toBe(1);
    expect(decided.json.run).toMatchObject({ id, state: 'aborted', reason: expect.stringContaining('aborted'), decidedBy: `cli:${OS_USER}` });
    expect(decided.lines[0]).toMatch(/^· Decision on run [0-9a-f]{8} recorded; following its steps from here/);
    const runs = await follow(['runs', '--json']);
    expect(runs.code).toBe(0);
    expect(JSON.stringify(runs.json)).toContain(id);
  });

  it('runbooks lists what the npm start runs; --no-follow answers once the run is recorded', async () => {
    const listed = await follow(['runbooks', '--json']);
    expect(listed.json.runbooks.map((runbook: { name: string }) => runbook.name)).toEqual(['stack-check']);
    const run = await follow(['run', 'stack-check', '--no-follow']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^✓ Run started: stack-check/);
    expect(run.stderr).toBe('');
  });

  it('bad input over the relay: the engine refuses, the CLI says why, nothing is recorded', async () => {
    const before = await runCount();
    const badArgs = await follow(['run', 'stack-check', 'fail=maybe']);
    expect(badArgs.code).toBe(2);
    expect(badArgs.stdout).toContain('fail must be yes or no');
    const unknown = await follow(['run', 'stack-chek']);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toContain('There is no runbook "stack-chek".');
    const missing = await follow(['run', 'status', '1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed']);
    expect(missing.code).toBe(2);
    expect(missing.stdout).toContain('There is no run "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed".');
    expect(await runCount()).toBe(before);
  });

  it('the relay takes only what the CLI asks for: a run from another origin or requester is refused, nothing recorded', async () => {
    const before = await runCount();
    const slack = await control('/v1/runs/submit', { runbook: 'stack-check', args: {}, requester: 'U0SOMEONE', origin: 'slash' });
    expect(slack.status).toBe(400);
    expect(slack.json.error.code).toBe('RUN_INPUT');
    expect(slack.json.error.message).toContain('requester must be a cli:<user>');
    expect(slack.json.error.message).toContain('origin must be cli');
    const channel = await control('/v1/runs/submit', { runbook: 'stack-check', args: {}, requester: 'cli:x', origin: 'cli', channel: 'C0OPS' });
    expect(channel.status).toBe(400);
    const byOther = await control('/v1/runs/abort', { id: '1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed', by: 'U0SOMEONE' });
    expect(byOther.status).toBe(400);
    expect(await runCount()).toBe(before);
  });

  it('the token alone changes no run: a start, abort or decision needs the committed execution record of an allowed CLI command, once', async () => {
    const before = await runCount();
    const submit = (execution?: string) => control('/v1/runs/submit', { runbook: 'stack-check', args: {}, requester: `cli:${OS_USER}`, origin: 'cli', ...(execution ? { execution } : {}) });
    const bare = await submit();
    expect(bare.status).toBe(403);
    expect(bare.json.error).toMatchObject({ code: 'RUN_REFUSED' });
    expect(bare.json.error.message).toBe(
      'The run relay refused to start a run of stack-check: the request names no execution record; the relay changes runs only under the committed execution record of an allowed command (npx acgs writes it). Nothing was recorded.',
    );
    expect((await submit(`cli:execution:${randomUUID()}`)).json.error.message).toContain("the bot's audit trail holds no execution record");
    // The CLI's own record of an earlier run: its command already ran, so it starts nothing more.
    await follow(['run', 'stack-check']);
    const [used] = await rowsWhere("SELECT idempotency_key AS key FROM bot_audit_trail WHERE kind = 'execution' AND command = 'run' ORDER BY sequence DESC LIMIT 1", []);
    const afterRun = await runCount();
    expect((await submit(used!.key)).json.error.message).toContain('was already used');
    // A record of another command (a restart) cannot carry a run either.
    await acgs(['restart', 'beta']);
    const [restart] = await rowsWhere("SELECT idempotency_key AS key FROM bot_audit_trail WHERE kind = 'execution' AND command = 'restart' ORDER BY sequence DESC LIMIT 1", []);
    expect((await submit(restart!.key)).json.error.message).toContain('is of `restart`, not of `run` or `backup` or `backup verify`');
    const abort = await control('/v1/runs/abort', { id: '1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed', by: `cli:${OS_USER}` });
    expect(abort.status).toBe(403);
    expect(await runCount()).toBe(afterRun);
    expect(afterRun).toBe(before + 1);
  });
});

const checklistCount = async () => Number((await rowsWhere('SELECT count(*) AS n FROM checklists', []))[0]!.n);

describe('acgs checklist through the checklists npm start lends over its control channel', () => {
  it('starts one (its automatic check runs there), ticks the rest to completion, lists and shows it; recorded in its trail', async () => {
    const started = await follow(['checklist', 'stack-review', '--json']);
    expect(started.code, started.stdout + started.stderr).toBe(0);
    const id = started.json.checklist?.id ?? /[0-9a-f]{8}-[0-9a-f-]{27}/.exec(started.stdout)![0];
    const [row] = await rowsWhere('SELECT started_by, origin, channel, completed_at FROM checklists WHERE id = $1', [id]);
    expect(row).toEqual({ started_by: `cli:${OS_USER}`, origin: 'cli', channel: null, completed_at: null });
    expect(started.stdout).toContain('alpha says healthy.');

    const ticked = await follow(['checklist', 'tick', id, 'beta-reviewed']);
    expect(ticked.code, ticked.stdout).toBe(0);
    expect((await rowsWhere('SELECT completed_at FROM checklists WHERE id = $1', [id]))[0]!.completed_at).not.toBeNull();
    const listed = await follow(['checklists']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('stack-review');
    expect(listed.stdout).toContain(id.slice(0, 8));
    const shown = await follow(['checklist', 'show', id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('Beta reviewed by a person');
    expect(shown.stdout).toContain(`cli:${OS_USER}`);
    expect((await trailRows('checklist tick')).filter((record) => record.origin === 'cli').map((record) => record.kind)).toEqual(expect.arrayContaining(['command', 'execution', 'result']));
  });

  it('bad input over the relay: the checklists refuse, the CLI says why, nothing is recorded', async () => {
    const before = await checklistCount();
    const unknown = await follow(['checklist', 'stack-reveiw']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stdout).toMatch(/stack-reveiw/);
    expect(await checklistCount()).toBe(before);
    const missing = await follow(['checklist', 'tick', '1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed', 'beta-reviewed']);
    expect(missing.code).not.toBe(0);
    expect(missing.stdout).toContain('`checklists` lists the open and recent ones.');
  });

  it('the token alone changes no checklist: a start or a tick needs the committed execution record of that CLI command; other origins are refused', async () => {
    const before = await checklistCount();
    const bare = await control('/v1/checklists/start', { checklist: 'stack-review', startedBy: `cli:${OS_USER}`, origin: 'cli' });
    expect(bare.status).toBe(403);
    expect(bare.json.error).toMatchObject({ code: 'CHECKLIST_REFUSED' });
    expect(bare.json.error.message).toContain('The checklist relay refused to start the stack-review checklist: the request names no execution record');
    const slack = await control('/v1/checklists/start', { checklist: 'stack-review', startedBy: 'U0SOMEONE', origin: 'slash', execution: `cli:execution:${randomUUID()}` });
    expect(slack.status).toBe(400);
    expect(slack.json.error.message).toContain('startedBy must be a cli:<user>');
    // The record of a run cannot carry a tick.
    await follow(['run', 'stack-check', '--no-follow']);
    const [run] = await rowsWhere("SELECT idempotency_key AS key FROM bot_audit_trail WHERE kind = 'execution' AND command = 'run' ORDER BY sequence DESC LIMIT 1", []);
    const tick = await control('/v1/checklists/tick', { id: '1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed', item: 'beta-reviewed', by: `cli:${OS_USER}`, execution: run!.key });
    expect(tick.status).toBe(403);
    expect(tick.json.error.message).toContain('is of `run`, not of `checklist tick`');
    expect(await checklistCount()).toBe(before);
  });
});

describe('no supervisor, or one without the bot', () => {
  it('status without any supervisor: a clear message, exit 1', async () => {
    const stateDir = tempDir('acgs-cli-none-');
    const run = await acgs(['status'], { stateDir });
    expect(run.code).toBe(1);
    expect(run.json.error).toMatchObject({ code: 'NOT_RUNNING' });
    expect(run.json.error.message).toBe(
      `The local stack is not running: no supervisor has published ${localStatePaths(stateDir).supervisorFile}. Start it with npm start (or npm run start:stack for the services alone); nothing was done.`,
    );
    const text = await runCli(['status'], { env: { ACGS_STATE_DIR: stateDir, ACGS_STACK: 'local', POLICY_ENGINE_URL: engine.url, ACGS_CONFIG: operatorConfig }, cwd: process.cwd(), stdout: () => undefined, stderr: () => undefined });
    expect(text).toBe(1);
  });

  it('restart without any supervisor is refused before anything runs: no trail to record into', async () => {
    const stateDir = tempDir('acgs-cli-none-');
    const run = await acgs(['restart', 'alpha'], { stateDir });
    expect(run.code).toBe(1);
    expect(run.json.error.message).toBe(
      `The bot's audit trail is not set up in this process (without DATABASE_URL the CLI records into the trail of a running npm start, and none is running: no supervisor has published ${localStatePaths(stateDir).supervisorFile}; start it with npm start, or set DATABASE_URL to the bot's own database (the value the bot runs with), e.g. \`DATABASE_URL=postgres://<user>:<password>@<host>:5432/<database> npx acgs restart\`), so commands that change the stack are refused: they never run unrecorded.`,
    );
  });

  it('`can restart` without any supervisor says that it would be refused now, and why', async () => {
    const stateDir = tempDir('acgs-cli-none-');
    const run = await acgs(['can', 'restart', 'alpha'], { stateDir, text: true });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('But right now it would be refused: The bot');
    expect(run.stdout).toContain('none is running: no supervisor has published');
  });

  it('logs without any supervisor nor log files: not running and nothing to read, exit 1; stats: not running', async () => {
    const stateDir = tempDir('acgs-cli-none-');
    const paths = localStatePaths(stateDir);
    const logs = await acgs(['logs', 'alpha'], { stateDir });
    expect(logs.code).toBe(1);
    expect(logs.json.error).toMatchObject({
      code: 'NOT_RUNNING',
      message: `The local stack is not running: no supervisor has published ${paths.supervisorFile}, and there are no log files in ${paths.logDir} to read either (it never ran with this state directory, or they were removed). Start it with npm start (or npm run start:stack for the services alone); nothing was done.`,
    });
    // A folder with something else in it is no log of a service either.
    const { mkdirSync } = await import('node:fs');
    mkdirSync(paths.logDir, { recursive: true });
    writeFileSync(join(paths.logDir, 'notes.txt'), 'not a log\n');
    expect((await acgs(['logs', 'alpha'], { stateDir })).json.error.message).toContain(`there are no log files in ${paths.logDir}`);
    const stats = await acgs(['stats'], { stateDir });
    expect(stats.code).toBe(1);
    expect(stats.json.error.code).toBe('NOT_RUNNING');
  });

  it('run without any supervisor: the runbook engine cannot be reached, in the same words as the trail, exit 1', async () => {
    const stateDir = tempDir('acgs-cli-none-');
    const run = await follow(['runs'], stateDir);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('The runbook engine cannot be reached from here.');
    expect(run.stdout).toContain(`without DATABASE_URL the CLI records into the trail of a running npm start, and none is running: no supervisor has published ${localStatePaths(stateDir).supervisorFile}`);
    const checklists = await follow(['checklists'], stateDir);
    expect(checklists.code).toBe(1);
    expect(checklists.stdout).toContain('The checklists cannot be reached from here.');
    expect(checklists.stdout).toContain('without DATABASE_URL the CLI records into the trail of a running npm start, and none is running');
  });

  it('a stack without the bot (npm run start:stack): read-only works, restart is refused and nothing restarts', async () => {
    const bare = await startSupervisor({ trail: false });
    const before = pidRecord(bare.stateDir, 'alpha').pid;
    const logs = await acgs(['logs', 'alpha', '--tail', '5'], { stateDir: bare.stateDir });
    expect(logs.code).toBe(0);
    expect(logs.json.lines.map((line: { text: string }) => line.text)).toContain(`alpha listening on 127.0.0.1:${new URL(bare.urls.alpha!).port}`);
    const run = await acgs(['restart', 'alpha'], { stateDir: bare.stateDir });
    expect(run.code).toBe(1);
    expect(run.json.error.message).toContain('the local stack runs without the bot (npm run start:stack, pid ');
    expect(pidRecord(bare.stateDir, 'alpha').pid).toBe(before);
    // Asked directly, its channel refuses too: it has no trail to check an execution record against.
    const direct = await control('/v1/stack/restart', { service: 'alpha', execution: `cli:execution:${randomUUID()}` }, bare.stateDir);
    expect(direct.status).toBe(422);
    expect(direct.json.error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(direct.json.error.message).toBe(
      'The supervisor refused to restart alpha: this stack runs without the bot (npm run start:stack), so there is no audit trail to check the restart against; run npm start and restart through it. Nothing was restarted.',
    );
    expect(pidRecord(bare.stateDir, 'alpha').pid).toBe(before);
    // A read-only run command: the engine's absence is what it hits, not the trail's.
    const runs = await follow(['runs'], bare.stateDir);
    expect(runs.code).toBe(1);
    expect(runs.stdout).toContain("the local stack runs without the bot's runbook engine (pid ");
    const checklists = await follow(['checklists'], bare.stateDir);
    expect(checklists.code).toBe(1);
    expect(checklists.stdout).toContain("the local stack runs without the bot's checklists (pid ");
    await stopProcess(bare.child);
    // A clean stop takes its published state away.
    const paths = localStatePaths(bare.stateDir);
    const { existsSync } = await import('node:fs');
    expect(existsSync(paths.supervisorFile)).toBe(false);
    expect(existsSync(paths.pidFile('alpha'))).toBe(false);
  }, 60_000);
});

describe('logs of a local stack that is not running: the last lines it wrote', () => {
  /** The last write of a service's log file, as the answer must show it. */
  const lastWrite = (stateDir: string, service: string) => statSync(localStatePaths(stateDir).logFile(service)).mtime.toISOString();

  it('after a clean stop: the lines, --tail, --grep and --since as before, and that the stack is not running since when', async () => {
    const stack = await startSupervisor({ trail: false });
    const paths = localStatePaths(stack.stateDir);
    for (const word of ['one', 'two', 'three']) await fetch(`${stack.urls.alpha}/say/stdout/${encodeURIComponent(`before-stop ${word}`)}`);
    await stopProcess(stack.child);
    // A rotated file with a line from two hours ago: read first, and outside a --since window of 1h.
    const old = new Date(Date.now() - 2 * 3600_000).toISOString();
    writeFileSync(`${paths.logFile('alpha')}.1`, `${old} stderr before-stop zero (rotated)\n`);
    utimesSync(`${paths.logFile('alpha')}.1`, new Date(old), new Date(old));

    const run = await acgs(['logs', 'alpha', '--grep', 'BEFORE-STOP', '--tail', '2'], { stateDir: stack.stateDir });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1); // the stack being down needs attention
    expect(run.json.lines.map((line: { text: string }) => line.text)).toEqual(['before-stop two', 'before-stop three']);
    expect(run.json.truncated).toBe(true);
    expect(run.json.stack_stopped).toEqual({
      why: `no supervisor has published ${paths.supervisorFile}`,
      log_file: paths.logFile('alpha'),
      last_written_at: lastWrite(stack.stateDir, 'alpha'),
    });
    const all = await acgs(['logs', 'alpha', '--grep', 'before-stop'], { stateDir: stack.stateDir });
    expect(all.json.lines.map((line: { text: string }) => line.text)).toEqual(['before-stop zero (rotated)', 'before-stop one', 'before-stop two', 'before-stop three']);
    const recent = await acgs(['logs', 'alpha', '--grep', 'before-stop', '--since', '1h'], { stateDir: stack.stateDir });
    expect(recent.json.lines.map((line: { text: string }) => line.text)).toEqual(['before-stop one', 'before-stop two', 'before-stop three']);
    // The child's own last words, written as the supervisor stopped it.
    const tail = await acgs(['logs', 'alpha', '--tail', '5'], { stateDir: stack.stateDir });
    expect(tail.json.lines.map((line: { text: string }) => line.text)).toContain('alpha stopping');

    const text = await acgs(['logs', 'alpha', '--tail', '3'], { stateDir: stack.stateDir, text: true });
    expect(text.code).toBe(1);
    const written = `${lastWrite(stack.stateDir, 'alpha').slice(0, 19).replace('T', ' ')}Z`;
    expect(text.stdout).toContain(`The local stack is not running (no supervisor has published ${paths.supervisorFile}). These are the last lines it wrote; ${paths.logFile('alpha')} was last written ${written} (UTC).`);
    expect(text.stdout).toContain('alpha stopping');

    // Every other stack command still refuses, and does nothing.
    for (const args of [['status'], ['status', 'alpha'], ['stats'], ['stats', 'alpha'], ['restart', 'alpha']]) {
      const refused = await acgs(args, { stateDir: stack.stateDir });
      expect(refused.code, args.join(' ')).toBe(1);
      expect(refused.json.error.message, args.join(' ')).toContain(`no supervisor has published ${paths.supervisorFile}`);
      if (args[0] !== 'restart') expect(refused.json.error.code, args.join(' ')).toBe('NOT_RUNNING');
    }
  }, 60_000);

  it('after the supervisor was killed: the lines up to the crash, and that its supervisor is gone', async () => {
    const stack = await startSupervisor({ trail: false });
    const paths = localStatePaths(stack.stateDir);
    const children = ['alpha', 'beta', 'sick'].map((service) => pidRecord(stack.stateDir, service));
    orphans.push(...children);
    try {
      await fetch(`${stack.urls.beta}/say/stderr/${encodeURIComponent('beta last words before the crash')}`);
      // The line is on disk once the supervisor read it; wait for that rather than for a guess.
      for (let tries = 0; !readFileSync(paths.logFile('beta'), 'utf8').includes('beta last words') && tries < 100; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const supervisorPid = stack.child.pid!;
      const exited = new Promise((resolve) => stack.child.once('exit', resolve));
      stack.child.kill('SIGKILL');
      await exited;

      const run = await acgs(['logs', 'beta', '--tail', '1'], { stateDir: stack.stateDir });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(1);
      expect(run.json.lines).toEqual([{ replica: 'beta', stream: 'stderr', time: expect.any(String), text: 'beta last words before the crash' }]);
      expect(run.json.stack_stopped).toEqual({
        why: `${paths.supervisorFile} names supervisor pid ${supervisorPid}, which is gone (left by a stack that did not stop cleanly)`,
        log_file: paths.logFile('beta'),
        last_written_at: lastWrite(stack.stateDir, 'beta'),
      });
      for (const args of [['status'], ['stats'], ['stats', 'beta']]) {
        const refused = await acgs(args, { stateDir: stack.stateDir });
        expect(refused.json.error.code, args.join(' ')).toBe('NOT_RUNNING');
        expect(refused.json.error.message, args.join(' ')).toContain(`names supervisor pid ${supervisorPid}, which is gone`);
      }
    } finally {
      await endOrphans();
    }
  }, 60_000);

  it('a service the stopped stack left no log file of: refused, naming the ones it did', async () => {
    const stack = await startSupervisor({ trail: false });
    await stopProcess(stack.child);
    const paths = localStatePaths(stack.stateDir);
    const run = await acgs(['logs', 'gamma'], { stateDir: stack.stateDir });
    expect(run.code).toBe(1);
    expect(run.json.error).toMatchObject({
      code: 'SERVICE_UNKNOWN',
      message: `The local stack is not running (no supervisor has published ${paths.supervisorFile}), and it left no log file of "gamma" in ${paths.logDir}; it left log files of: alpha, beta, sick`,
    });
    // A malformed name is refused before any file is looked for.
    const bad = await acgs(['logs', '../run/supervisor.json'], { stateDir: stack.stateDir });
    expect(bad.code).toBe(2);
    expect(bad.stdout).not.toContain('token');
  }, 60_000);
});

describe('the control channel itself', () => {
  it('refuses a request without the token, and a relayed record that claims another origin', async () => {
    const record = JSON.parse(readFileSync(localStatePaths(main.stateDir).supervisorFile, 'utf8')) as SupervisorRecord;
    const unauthorized = await fetch(`${record.url}/v1/stack/restart`, { method: 'POST', body: JSON.stringify({ service: 'alpha' }) });
    expect(unauthorized.status).toBe(401);
    const forged = await fetch(`${record.url}/v1/trail/append`, {
      method: 'POST',
      headers: { authorization: `Bearer ${record.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ record: { kind: 'command', origin: 'slash', actor: 'U0SOMEONE', command: 'restart' } }),
    });
    expect(forged.status).toBe(400);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('TRAIL_INPUT');
    expect((await trailRows('restart')).some((row) => row.actor === 'U0SOMEONE')).toBe(false);
  });

  it('answers 404 for names the extensions object only inherits, and runs nothing', async () => {
    for (const name of ['constructor', 'valueOf', 'toString', 'hasOwnProperty', '__proto__']) {
      const answer = await control(`/v1/${name}`, { record: { kind: 'command' } });
      expect(answer, name).toEqual({ status: 404, json: { error: { code: 'NOT_FOUND', message: `no route POST /v1/${name}` } } });
    }
  });

  it('relays only the kinds the CLI writes, under keys of its own form, so a token holder cannot take a key the bot will use', async () => {
    const requestId = randomUUID();
    const forged = [
      // An approval's end, pre-written so that the bot's real one would be dropped as a duplicate.
      { kind: 'approval_resolved', key: `approval_resolved:${requestId}:approved`, outcome: 'approved' },
      { kind: 'vote', key: `vote:${requestId}:U0APPROVER1` },
      // A kind the CLI writes, under the key of the bot's record.
      { kind: 'command', key: `approval_resolved:${requestId}:approved` },
      { kind: 'execution', key: `result:${randomUUID()}` },
      { kind: 'command' },
    ];
    for (const fields of forged) {
      const answer = await control('/v1/trail/append', { record: { origin: 'cli', actor: 'cli:mallory', command: 'cache clear', ...fields } });
      expect(answer.status, JSON.stringify(fields)).toBe(400);
      expect(answer.json.error.code).toBe('TRAIL_INPUT');
      expect(answer.json.error.message).toMatch(/^the relay records only commands typed in the CLI: (kind must be one of command, break_glass, execution, result|the key must be)/);
    }
    const otherActor = await control('/v1/trail/append-to-chain', { record: { kind: 'execution', origin: 'cli', actor: 'U0APPROVER1', key: `execution:${randomUUID()}` } });
    expect(otherActor.json.error.message).toBe('the relay records only commands typed in the CLI: the actor must be a cli:<user>, not "U0APPROVER1"');
    const backdated = await control('/v1/trail/append', { record: { kind: 'command', origin: 'cli', actor: 'cli:mallory', key: `command:${randomUUID()}`, at: '2001-01-01T00:00:00Z' } });
    expect(backdated.json.error.message).toBe('the relay records only commands typed in the CLI: the relay stamps the time itself (no at)');
    expect(await rowsWhere("SELECT idempotency_key FROM bot_audit_trail WHERE actor IN ('cli:mallory', 'U0APPROVER1') OR idempotency_key LIKE $1", [`%${requestId}%`])).toEqual([]);
  });

  it("keeps a relayed key apart from the bot's: the bot's own record under the same key is still written", async () => {
    const executionId = randomUUID();
    const relayed = await control('/v1/trail/append-to-chain', { record: { kind: 'execution', origin: 'cli', actor: 'cli:mallory', command: 'cache clear', key: `execution:${executionId}` } });
    expect(relayed.status).toBe(200);
    expect(relayed.json).toMatchObject({ stored: 'chain', duplicate: false });
    // The bot's trail writes `execution:<id>` when an approved request runs: a writer of its own here.
    const pool = createPool({ databaseUrl: db.url, max: 1, applicationName: 'acgs-cli-local-test-bot' });
    const bot = createAuditTrail({ pool, spoolDir: tempDir('acgs-cli-bot-spool-') });
    try {
      await bot.start();
      const own = await bot.appendToChain({ kind: 'execution', origin: 'approval', actor: 'U0ONCALL', command: 'cache clear', key: `execution:${executionId}` });
      expect(own.duplicate).toBe(false);
    } finally {
      await bot.close();
      await pool.end();
    }
    const rows = await rowsWhere('SELECT idempotency_key, origin FROM bot_audit_trail WHERE idempotency_key LIKE $1 ORDER BY sequence', [`%${executionId}`]);
    expect(rows).toEqual([
      { idempotency_key: `cli:execution:${executionId}`, origin: 'cli' },
      { idempotency_key: `execution:${executionId}`, origin: 'approval' },
    ]);
  });

  it("refuses a relayed trail query outside the audit command's limits, and answers the CLI's own", async () => {
    const refusals: Array<[unknown, string]> = [
      [{ limit: 1_000_000_000 }, 'limit: limit must be from 1 to 200'],
      [{ limit: 0 }, 'limit: limit must be from 1 to 200'],
      [{ limit: 2.5 }, 'limit: limit must be a whole number'],
      [{ user: { $ne: null } }, 'user: must name one person'],
      [{ since: 'yesterday' }, 'since: must be a time span'],
      [{ command: 'x'.repeat(500) }, 'command: must be a command name'],
      [{ everything: true }, 'Unrecognized key'],
      [[], 'the filter must be a JSON object'],
    ];
    for (const [filter, problem] of refusals) {
      const answer = await control('/v1/trail/query', { filter });
      expect(answer.status, JSON.stringify(filter)).toBe(400);
      expect(answer.json.error.code).toBe('TRAIL_INPUT');
      expect(answer.json.error.message).toContain(`the trail query was refused: ${problem}`);
    }
    const run = await acgs(['audit', '--command', 'restart', '--since', '1h', '--limit', '3']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.json.records.map((record: { kind: string; origin: string }) => `${record.kind} ${record.origin}`)).toEqual(['result cli', 'execution cli', 'command cli']);
  });

  it('a second supervisor is refused a state directory whose supervisor answers, and takes over one whose supervisor is gone', async () => {
    const stack = createLocalStack({ processes: [] });
    try {
      const record = JSON.parse(readFileSync(localStatePaths(main.stateDir).supervisorFile, 'utf8')) as SupervisorRecord;
      await expect(startLocalControl({ stateDir: main.stateDir, stack, processes: [] })).rejects.toThrow(
        `another local stack supervisor (pid ${record.pid}, ${record.url}) already runs with the state directory ${main.stateDir}; stop it first`,
      );
      // The main supervisor's file is untouched.
      expect(JSON.parse(readFileSync(localStatePaths(main.stateDir).supervisorFile, 'utf8'))).toEqual(record);

      const stateDir = tempDir('acgs-cli-takeover-');
      const gone = spawn(process.execPath, ['-e', '']);
      await new Promise((resolve) => gone.once('exit', resolve));
      const { mkdirSync } = await import('node:fs');
      mkdirSync(localStatePaths(stateDir).runDir, { recursive: true });
      writeFileSync(localStatePaths(stateDir).supervisorFile, JSON.stringify({ ...record, pid: gone.pid }));
      const taken = await startLocalControl({ stateDir, stack, processes: [] });
      try {
        expect(JSON.parse(readFileSync(taken.supervisorFile, 'utf8'))).toMatchObject({ pid: process.pid, url: taken.url });
      } finally {
        await taken.close();
      }
    } finally {
      await stack.close();
    }
  });

  it('the supervisor file is readable only by its owner', async () => {
    const { statSync } = await import('node:fs');
    expect(statSync(localStatePaths(main.stateDir).supervisorFile).mode & 0o777).toBe(0o600);
  });
});

describe("the CLI's identity: roles only from the config file, no break-glass", () => {
  it('ignores ACGS_CLI_ROLES: an operator the config does not map holds no roles, is told how to get them, and nothing restarts', async () => {
    const unmapped = configFile(`roles:\n  admins: [${ADMIN}]\n`);
    const before = pidRecord(main.stateDir, 'alpha').pid;
    const run = await acgs(['restart', 'alpha'], { env: { ACGS_CONFIG: unmapped, ACGS_CLI_ROLES: 'admins' }, text: true });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('acgs: ACGS_CLI_ROLES is ignored: it grants no roles.');
    expect(run.stderr).toContain('add `cli_users: { <your operating-system user>: <your Slack user ID> }`');
    expect(run.stdout).toContain('restart: refused');
    expect(run.stdout).toContain(`The CLI acts as cli:${OS_USER} (this machine's user ${OS_USER}) with no roles`);
    expect(run.stdout).toContain(`To act with roles, add \`cli_users: { ${OS_USER}: <your Slack user ID> }\` to the config file ${unmapped}.`);
    expect(pidRecord(main.stateDir, 'alpha').pid).toBe(before);
    // Read-only commands still answer.
    const logs = await acgs(['logs', 'alpha', '--tail', '1'], { env: { ACGS_CONFIG: unmapped, ACGS_CLI_ROLES: 'admins' } });
    expect(logs.code).toBe(0);
  }, 30_000);

  it('refuses a config file whose cli_users is malformed, naming the key, before doing anything', async () => {
    const before = pidRecord(main.stateDir, 'alpha').pid;
    const bad = configFile(`cli_users:\n  ${JSON.stringify(OS_USER)}: admins\n`);
    const run = await acgs(['restart', 'alpha'], { env: { ACGS_CONFIG: bad } });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`acgs: ${bad}: cli_users.${OS_USER}: must be a Slack user ID such as U012ABCDEF\n`);
    expect(pidRecord(main.stateDir, 'alpha').pid).toBe(before);
  });

  it('refuses break-glass from the CLI even to an operator mapped to an admin, records it as a refused command, and runs nothing', async () => {
    // restart made a Level 4 action, so that a break-glass that got through would show as a new pid.
    const config = configFile(
      `roles:\n  admins: [${ADMIN}]\ncli_users:\n  ${JSON.stringify(OS_USER)}: ${ADMIN}\nauthorization:\n  commands:\n    restart: { level: 4 }\n`,
    );
    const reason = `alpha answers garbage ${randomUUID()}`;
    const before = pidRecord(main.stateDir, 'alpha').pid;
    const run = await acgs(['break-glass', reason, 'restart', 'alpha'], { env: { ACGS_CONFIG: config } });
    expect(run.code).toBe(1);
    expect(run.json.error).toEqual({ kind: 'refused', message: CLI_BREAK_GLASS_REFUSAL });
    expect(run.json.decision).toMatchObject({ allow: false, code: 'break_glass_origin', break_glass: false });
    expect(pidRecord(main.stateDir, 'alpha').pid).toBe(before);
    const rows = await rowsWhere(
      "SELECT kind, decision, actor, details->>'code' AS code FROM bot_audit_trail WHERE details->>'break_glass_reason' = $1 OR details->>'reason' = $1 ORDER BY sequence",
      [reason],
    );
    expect(rows).toEqual([{ kind: 'command', decision: 'deny', actor: `cli:${OS_USER}`, code: 'break_glass_origin' }]);
  }, 30_000);
});

describe('the supervisor restarts only under a committed execution record of a restart of that service', () => {
  const restartOf = (service: string, execution?: unknown) => control('/v1/stack/restart', { service, timeoutMs: 20_000, ...(execution === undefined ? {} : { execution }) });

  /** An execution record the way the CLI's command path writes one through the relay; its chain key. */
  async function relayedExecution(fields: Record<string, unknown> = {}): Promise<string> {
    const answer = await control('/v1/trail/append-to-chain', {
      record: { kind: 'execution', origin: 'cli', actor: 'cli:tester', command: 'restart', args: { service: 'alpha' }, decision: 'allow', level: 1, key: `execution:${randomUUID()}`, ...fields },
    });
    expect(answer.status).toBe(200);
    return answer.json.key as string;
  }

  /** The key of the newest execution record of a restart of `service`. */
  async function lastRestartExecution(service: string): Promise<string> {
    const [row] = await rowsWhere("SELECT idempotency_key FROM bot_audit_trail WHERE kind = 'execution' AND command = 'restart' AND arguments->>'service' = $1 ORDER BY sequence DESC LIMIT 1", [service]);
    return row!.idempotency_key as string;
  }

  function expectRefused(answer: { status: number; json: any }, service: string, why: string): void {
    expect(answer.status).toBe(422);
    expect(answer.json.error.code).toBe('INVALID_ARGUMENT');
    expect(answer.json.error.message).toBe(`The supervisor refused to restart ${service}: ${why}. Nothing was restarted.`);
  }

  it('refuses a restart that names no execution record: the process keeps its pid', async () => {
    const before = pidRecord(main.stateDir, 'alpha').pid;
    const why = 'the request names no execution record; a restart runs only under the committed execution record of an allowed restart command (npx acgs restart writes it)';
    for (const execution of [undefined, '', 42, null, { key: 'x' }]) expectRefused(await restartOf('alpha', execution), 'alpha', why);
    expect(pidRecord(main.stateDir, 'alpha').pid).toBe(before);
  });

  it('refuses an execution record the trail does not hold: the process keeps its pid', async () => {
    const before = pidRecord(main.stateDir, 'alpha').pid;
    for (const execution of [`cli:execution:${randomUUID()}`, 'anything', `execution:${randomUUID()}`]) {
      expectRefused(
        await restartOf('alpha', execution),
        'alpha',
        `the bot's audit trail holds no execution record ${JSON.stringify(execution)} of a restart from the last 120 s (unknown, not committed, or too old); run the restart again with npx acgs restart alpha`,
      );
    }
    expect(pidRecord(main.stateDir, 'alpha').pid).toBe(before);
  });

  it('refuses the execution record of a restart of another service, one of another command, and one of a refusal', async () => {
    const betaRecord = await relayedExecution({ args: { service: 'beta' } });
    const before = pidRecord(main.stateDir, 'alpha').pid;
    expectRefused(await restartOf('alpha', betaRecord), 'alpha', `execution record ${JSON.stringify(betaRecord)} is of a restart of "beta", not of alpha`);
    const warm = await relayedExecution({ command: 'cache warm' });
    // The query is of restarts: a record of another command is not one of them.
    expectRefused(
      await restartOf('alpha', warm),
      'alpha',
      `the bot's audit trail holds no execution record ${JSON.stringify(warm)} of a restart from the last 120 s (unknown, not committed, or too old); run the restart again with npx acgs restart alpha`,
    );
    const denied = await relayedExecution({ decision: 'deny' });
    expectRefused(await restartOf('alpha', denied), 'alpha', `execution record ${JSON.stringify(denied)} carries the decision "deny", not allow`);
    expect(pidRecord(main.stateDir, 'alpha').pid).toBe(before);
  }, 30_000);

  it('refuses an execution record that was used before: the CLI\'s own after its restart ran, and a fresh one the second time', async () => {
    const ran = await acgs(['restart', 'beta']);
    expect(ran.code).toBe(0);
    const used = await lastRestartExecution('beta');
    const beta = pidRecord(main.stateDir, 'beta').pid;
    expectRefused(await restartOf('beta', used), 'beta', `execution record ${JSON.stringify(used)} was already used for a restart; each restart needs its own`);
    expect(pidRecord(main.stateDir, 'beta').pid).toBe(beta);

    const fresh = await relayedExecution();
    const alpha = pidRecord(main.stateDir, 'alpha').pid;
    const first = await restartOf('alpha', fresh);
    expect(first.status).toBe(200);
    expect(first.json.replicas[0]).toMatchObject({ previousPid: alpha, health: 'healthy' });
    const restarted = pidRecord(main.stateDir, 'alpha').pid;
    expect(restarted).not.toBe(alpha);
    expectRefused(await restartOf('alpha', fresh), 'alpha', `execution record ${JSON.stringify(fresh)} was already used for a restart; each restart needs its own`);
    expect(pidRecord(main.stateDir, 'alpha').pid).toBe(restarted);
  }, 60_000);

  it('with DATABASE_URL the CLI commits its execution record itself, and the supervisor finds it in the same trail', async () => {
    const before = pidRecord(main.stateDir, 'alpha').pid;
    const run = await acgs(['restart', 'alpha'], { env: { DATABASE_URL: db.url } });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.json.replicas[0]).toMatchObject({ previousPid: before, health: 'healthy' });
    // Written by the CLI's own trail: the key has no relay prefix.
    expect(await lastRestartExecution('alpha')).toMatch(/^execution:[0-9a-f-]{36}$/);
  }, 30_000);

  it('restarts under a valid record: a new pid, healthy after', async () => {
    const before = pidRecord(main.stateDir, 'alpha').pid;
    const answer = await restartOf('alpha', await relayedExecution());
    expect(answer.status).toBe(200);
    expect(answer.json.health).toBe('healthy');
    expect(answer.json.replicas[0].previousPid).toBe(before);
    expect(pidRecord(main.stateDir, 'alpha').pid).toBe(answer.json.replicas[0].pid);
    expect(isAlive(before)).toBe(false);
  }, 30_000);

  it('refuses a record the CLI did not write, and one older than two minutes (the check on the real trail)', async () => {
    const pool = createPool({ databaseUrl: db.url, max: 1, applicationName: 'acgs-cli-local-test-check' });
    const trail = createAuditTrail({ pool, spoolDir: tempDir('acgs-cli-check-spool-') });
    try {
      await trail.start();
      const key = `execution:${randomUUID()}`;
      await trail.appendToChain({ kind: 'execution', origin: 'approval', actor: 'U0ONCALL', command: 'restart', args: { service: 'alpha' }, decision: 'allow', level: 1, key });
      expect(await restartExecutionCheck(trail)({ service: 'alpha', execution: key })).toBe(`execution record ${JSON.stringify(key)} was not written by the CLI's command path`);
      const cli = `cli:execution:${randomUUID()}`;
      await trail.appendToChain({ kind: 'execution', origin: 'cli', actor: 'cli:tester', command: 'restart', args: { service: 'alpha' }, decision: 'allow', level: 1, key: cli });
      const later = restartExecutionCheck(trail, { now: () => Date.now() + 3 * 60_000 });
      expect(await later({ service: 'alpha', execution: cli })).toMatch(/^the bot's audit trail holds no execution record .* from the last 120 s \(unknown, not committed, or too old\)/);
      // The same record, checked at once, passes: only its age was wrong.
      expect(await restartExecutionCheck(trail)({ service: 'alpha', execution: cli })).toBeUndefined();
      // A record whose command has its result already ran, also for a check that never saw it used (a restarted npm start).
      const executionId = randomUUID();
      const ran = `cli:execution:${executionId}`;
      const common = { origin: 'cli' as const, actor: 'cli:tester', command: 'restart', args: { service: 'alpha' }, decision: 'allow', level: 1 as const };
      await trail.appendToChain({ ...common, kind: 'execution', key: ran, details: { execution_id: executionId } });
      await trail.appendToChain({ ...common, kind: 'result', key: `cli:result:${executionId}`, outcome: 'ok', details: { execution_id: executionId } });
      expect(await restartExecutionCheck(trail)({ service: 'alpha', execution: ran })).toBe(`execution record ${JSON.stringify(ran)} was already used: its command has a result (ok); each restart needs its own`);
    } finally {
      await trail.close();
      await pool.end();
    }
  });
});

describe('acgs incident and schedule through what npm start lends over its control channel', () => {
  it('declares a sev3 (placed in channels.ops by the bot), lists it, posts an update and resolves it; each change recorded in its trail', async () => {
    const declared = await acgs(['incident', 'declare', 'sev3', 'Alpha', 'answers', 'slowly'], { text: true });
    expect(declared.stderr).toBe('');
    expect(declared.code, declared.stdout).toBe(0);
    const key = /(INC-\d+) declared: Alpha answers slowly/.exec(declared.stdout)![1]!;
    expect(declared.stdout).toContain(`cli:${OS_USER} declared ${key} (sev3, infrastructure) and is its commander.`);
    expect(declared.stdout).toContain('It runs in the ops channel (C0FIXOPS): channels of their own are not set up yet.');
    const id = Number(key.slice('INC-'.length));
    expect(await rowsWhere('SELECT severity, declared_by, channel_id, state FROM incidents WHERE id = $1', [id])).toEqual([{ severity: 'sev3', declared_by: `cli:${OS_USER}`, channel_id: 'C0FIXOPS', state: 'declared' }]);

    // Through the npx acgs entry: the list as text, dates read back as dates.
    const child = spawn(process.execPath, ['bot/cli-entry.js', 'incidents'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ACGS_STATE_DIR: main.stateDir, ACGS_STACK: 'local', POLICY_ENGINE_URL: engine.url, ACGS_CONFIG: operatorConfig, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(child);
    let listed = '';
    child.stdout!.on('data', (chunk) => (listed += chunk));
    // Exit 1: an incident is open (declared, not resolved), which needs attention.
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(1);
    expect(listed).toContain(key);
    expect(listed).toContain('Alpha answers slowly');
    expect(listed).toMatch(/1 open \(0 of them resolved/);

    const updated = await acgs(['incident', 'update', key, 'Alpha', 'restarted,', 'watching', 'latency']);
    expect(updated.code, updated.stdout).toBe(0);
    expect(await rowsWhere('SELECT author, text FROM incident_status_updates WHERE incident_id = $1', [id])).toEqual([{ author: `cli:${OS_USER}`, text: 'Alpha restarted, watching latency' }]);
    const resolved = await acgs(['incident', 'resolve', key]);
    expect(resolved.code, resolved.stdout).toBe(0);
    expect(resolved.json.incident.state).toBe('resolved');
    for (const command of ['incident declare', 'incident update', 'incident resolve']) {
      expect((await trailRows(command)).filter((row) => row.origin === 'cli').map((row) => row.kind)).toEqual(expect.arrayContaining(['command', 'execution', 'result']));
    }
  }, 30_000);

  it('bad input: the store refuses, the CLI says why, nothing is recorded; the token alone declares nothing', async () => {
    const count = async () => Number((await rowsWhere('SELECT count(*) AS n FROM incidents', []))[0]!.n);
    const before = await count();
    const missing = await acgs(['incident', 'update', 'INC-999999', 'nothing', 'here']);
    expect(missing.code).not.toBe(0);
    expect(missing.json.error.message).toContain('INC-999999');
    const bare = await control('/v1/incidents/declare', { title: 'By token alone', severity: 'sev4', type: 'performance', by: `cli:${OS_USER}` });
    expect(bare.status).toBe(403);
    expect(bare.json.error.message).toContain('The incident relay refused to declare an incident: the request names no execution record');
    const slack = await control('/v1/incidents/declare', { title: 'As Slack', severity: 'sev4', type: 'performance', by: 'U0SOMEONE', execution: `cli:execution:${randomUUID()}` });
    expect(slack.status).toBe(400);
    expect(slack.json.error.message).toContain('by must be a cli:<user>');
    expect(await count()).toBe(before);
  }, 30_000);

  it('lists the scheduled jobs and runs one now under its execution record; the job runs in npm start', async () => {
    const listed = await acgs(['schedule']);
    expect(listed.code, listed.stdout).toBe(0);
    expect(listed.json.jobs.map((job: { name: string }) => job.name)).toEqual(['stack-ping']);
    const ran = await acgs(['schedule', 'run', 'stack-ping']);
    expect(ran.code, ran.stdout).toBe(0);
    expect(ran.json.run).toMatchObject({ trigger: 'manual', outcome: 'running', requestedBy: `cli:${OS_USER}` });
    const deadline = Date.now() + 10_000;
    let rows: Array<Record<string, any>> = [];
    while (Date.now() < deadline) {
      rows = await rowsWhere("SELECT trigger, outcome, detail, requested_by FROM schedule_runs WHERE job = 'stack-ping' AND outcome <> 'running'", []);
      if (rows.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(rows).toEqual([{ trigger: 'manual', outcome: 'ok', detail: 'alpha is healthy', requested_by: `cli:${OS_USER}` }]);
    const after = await acgs(['schedule']);
    expect(after.json.jobs[0].lastRun).toMatchObject({ outcome: 'ok', trigger: 'manual' });
    expect((await trailRows('schedule run')).filter((row) => row.origin === 'cli').map((row) => row.kind)).toEqual(expect.arrayContaining(['command', 'execution', 'result']));
    const unknown = await acgs(['schedule', 'run', 'stack-pong']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.json.error.message).toContain('did you mean `stack-ping`?');
    const bare = await control('/v1/schedules/run', { job: 'stack-ping', by: `cli:${OS_USER}` });
    expect(bare.status).toBe(403);
    expect(bare.json.error.message).toContain('Nothing was run.');
  }, 30_000);

  it('an npm start older than the relays: the CLI says to restart it', async () => {
    const stateDir = tempDir('acgs-cli-older-');
    const stack = createLocalStack({ processes: [] });
    const older = await startLocalControl({ stateDir, stack, processes: [], features: ['trail', 'runs', 'checklists'] });
    try {
      const incidents = await acgs(['incidents'], { stateDir });
      expect(incidents.json.error.message).toContain('The incidents cannot be reached from here.');
      expect(incidents.json.error.hint).toContain("an npm start older than the incident relay): restart npm start, or set DATABASE_URL");
      const schedule = await acgs(['schedule'], { stateDir });
      expect(schedule.json.error.hint).toContain('an npm start older than the schedule relay): restart npm start');
    } finally {
      await older.close();
      await stack.close();
    }
  });
});
