/**
 * Running PostgreSQL's own client tools (pg_dump, pg_restore) against a database named by URL.
 * The connection travels in libpq's environment variables, never in argv, where `ps` would show
 * the password to every user of the machine.
 */
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { CappedOutput } from '../../kit/capped-output.js';

export type PgTool = 'pg_dump' | 'pg_restore';

/** A PostgreSQL client tool that is missing, failed, or was stopped. */
export class PgToolError extends Error {
  constructor(
    message: string,
    readonly tool: PgTool,
    readonly exitCode: number | null,
  ) {
    super(message);
    this.name = 'PgToolError';
  }
}

/** libpq's environment for a postgres:// URL (host, port, user, password, database, TLS mode). */
export function libpqEnvironment(databaseUrl: string, applicationName: string): NodeJS.ProcessEnv {
  const url = new URL(databaseUrl);
  const env: NodeJS.ProcessEnv = {
    PGHOST: url.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost',
    PGPORT: url.port || '5432',
    PGDATABASE: decodeURIComponent(url.pathname.slice(1)) || 'postgres',
    PGAPPNAME: applicationName,
    // Never prompt: a tool waiting on a terminal that is not there would hang the run.
    PGCONNECT_TIMEOUT: '10',
  };
  if (url.username) env.PGUSER = decodeURIComponent(url.username);
  if (url.password) env.PGPASSWORD = decodeURIComponent(url.password);
  const sslmode = url.searchParams.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  return env;
}

export interface PgToolRun {
  /** The tool's standard output, when the caller wants to stream it somewhere. */
  stdout: NodeJS.ReadableStream;
  /** Resolves when the tool exits 0; rejects with a PgToolError naming the tool and its last words. */
  done: Promise<void>;
  kill(): void;
}

const STDERR_CAP = 16 * 1024;

/**
 * Starts a tool with `args` (no shell), the connection in `env`. Standard error is kept (capped)
 * for the error message. Callers that connect pass `--no-password`, so that a missing password
 * fails instead of prompting.
 */
export function startPgTool(tool: PgTool, args: string[], options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): PgToolRun {
  // A step stopped (timeout, abort, lost lease) before the tool started must not start it at all.
  if (options.signal?.aborted) {
    const stopped = Promise.reject(new PgToolError(`${tool} was not started: the step was stopped first`, tool, null));
    stopped.catch(() => undefined);
    return { stdout: Readable.from([]), done: stopped, kill: () => undefined };
  }
  const child = spawn(tool, args, {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = new CappedOutput(STDERR_CAP);
  child.stderr.pipe(stderr);
  const onAbort = () => child.kill('SIGTERM');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new PgToolError(`${tool} is not installed or not on PATH; install PostgreSQL's client tools (Debian: apt-get install postgresql-client)`, tool, null)
          : new PgToolError(`${tool} could not be started: ${error.message}`, tool, null),
      );
    });
    child.once('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (code === 0) return resolve();
      const said = stderr.text().trim().split('\n').slice(-3).join(' ').trim();
      const how = signal ? `was stopped (${signal})` : `exited with ${code}`;
      reject(new PgToolError(`${tool} ${how}${said ? `: ${said}` : ''}`, tool, code));
    });
  });
  // Callers that only await `done` must not see an unhandled rejection from an early error.
  done.catch(() => undefined);
  return { stdout: child.stdout, done, kill: () => child.kill('SIGTERM') };
}

/** The tool's own version line, e.g. "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)". */
export async function pgToolVersion(tool: PgTool): Promise<string> {
  const run = startPgTool(tool, ['--version']);
  const out = new CappedOutput(1024);
  run.stdout.pipe(out);
  await run.done;
  return out.text().trim();
}
