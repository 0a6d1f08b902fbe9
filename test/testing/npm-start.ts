/**
 * `npm start` as the start suites run it (test/start/): bot/main.ts in a child process with
 * nothing configured but the state directory and the bot's port, its output kept, and the checks
 * around it (the firm ports free, a port answering /health). The suites take the firm ports with
 * firm-ports.ts first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unusedLoopbackPort } from './loopback.js';

/** Settings a developer's shell may carry that would make the start use something real. */
const CONFIGURED = ['DATABASE_URL', 'AUDIT_DATABASE_URL', 'EVOLUTION_DATABASE_URL', 'DATABASE_POOL_MAX', 'REDIS_URL', 'ACGS_ADMIN_TOKEN', 'ACGS_CONFIG'];
const SLACK = ['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_API_URL'];

export interface NpmStart {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
}

/**
 * Starts bot/main.ts with nothing configured. ACGS_STACK=local: other suites may run a compose
 * project on this engine at the same time.
 */
export function startNpmStart(options: {
  stateDir: string;
  botPort: number;
  /** As a terminal runs it: leading its own process group, which a Ctrl-C signals as a whole. */
  ownProcessGroup?: boolean;
  /** Settings of this start on top of nothing configured (a suite's own switches). */
  env?: Readonly<Record<string, string>>;
}): NpmStart {
  const env: NodeJS.ProcessEnv = { ...process.env, ACGS_STATE_DIR: options.stateDir, LOG_LEVEL: 'warn', PORT: String(options.botPort), ACGS_STACK: 'local' };
  for (const key of [...CONFIGURED, ...SLACK, 'VITEST', 'NODE_ENV']) delete env[key];
  Object.assign(env, options.env);
  const child = spawn(process.execPath, ['--import', 'tsx', 'bot/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'], ...(options.ownProcessGroup ? { detached: true } : {}) });
  let output = '';
  // ACGS_TEST_START_OUTPUT=<file>: the whole output, each chunk stamped with when it came, for a
  // flake whose failure message shows only the tail (the bot's own lines carry no time).
  const copyTo = process.env.ACGS_TEST_START_OUTPUT;
  const keep = (chunk: Buffer) => {
    output += chunk;
    if (copyTo) appendFileSync(copyTo, `--- ${new Date().toISOString()} pid ${child.pid}\n${chunk}`);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, output: () => output };
}

/** Whether something already listens on 127.0.0.1:port (binding it is the only reliable check). */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(true) : reject(error)));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
  });
}

/** The ones of `ports` (by what listens there) something listens on. */
export async function takenPorts(ports: Record<string, number>): Promise<string[]> {
  const taken: string[] = [];
  for (const [name, port] of Object.entries(ports)) if (await portInUse(port)) taken.push(`${port} (${name})`);
  return taken;
}

/** Refuses to start beside another stack on these ports: the test would talk to that stack. */
export async function requireFreePorts(ports: Record<string, number>): Promise<void> {
  const taken = await takenPorts(ports);
  if (taken.length > 0) throw new Error(`ports already in use on 127.0.0.1: ${taken.join(', ')}; stop whatever listens there (another npm start?) and run again`);
}

/** The first 200 answer of http://127.0.0.1:port/health within `timeoutMs`; otherwise fails with the last error and the start's output. */
export async function waitForHealth(port: number, timeoutMs: number, output: () => string): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
      if (response.status === 200) return response;
      lastError = `status ${response.status}: ${await response.text()}`;
    } catch (error) {
      lastError = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`port ${port} not healthy after ${timeoutMs} ms (${lastError})\n${output().slice(-4000)}`);
}

export interface StartOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RefusedStarts {
  /** Runs bot/main.ts with nothing configured but `extra`, each time in a fresh state directory, to its end. */
  start(extra: Record<string, string>): Promise<StartOutcome>;
  /** Removes the state directories of every start so far. */
  cleanup(): void;
}

/**
 * For the suites whose starts must be refused before anything is started. ACGS_STACK defaults to a
 * value no driver accepts: should a refusal be missing, the start then stops at the stack choice
 * instead of starting services on the firm ports that other suites use.
 */
export function refusedStarts(stateDirPrefix: string): RefusedStarts {
  const stateDirs: string[] = [];
  return {
    async start(extra) {
      const stateDir = mkdtempSync(join(tmpdir(), stateDirPrefix));
      stateDirs.push(stateDir);
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ACGS_STATE_DIR: stateDir, LOG_LEVEL: 'warn', PORT: String(await unusedLoopbackPort()), ACGS_STACK: 'no-driver', ...extra };
      const child = spawn(process.execPath, ['--import', 'tsx', 'bot/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (chunk) => (stdout += chunk));
      child.stderr!.on('data', (chunk) => (stderr += chunk));
      // A start that was not refused keeps running: stop it, so that the test fails instead of hanging.
      const stopUnrefused = setTimeout(() => child.kill('SIGKILL'), 45_000);
      return new Promise((resolve) =>
        child.once('close', (code) => {
          clearTimeout(stopUnrefused);
          resolve({ code, stdout, stderr });
        }),
      );
    },
    cleanup() {
      for (const dir of stateDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
