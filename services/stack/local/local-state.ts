/**
 * What the local stack's supervisor publishes under the state directory so that another process
 * (the CLI) can find it: a pid file per service, a log file per service and one supervisor file
 * naming the control channel. Everything here only reads and writes files and /proc; nothing here
 * ever sends a signal. Only the supervisor, which holds the children's process handles, signals
 * them, so a stale or forged pid file can mislead a reading but never hit a random process.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface LocalStatePaths {
  /** `<state>/run`: pid files and the supervisor file. */
  runDir: string;
  /** `<state>/logs`: one capped, rotating log file per service. */
  logDir: string;
  /** `<state>/run/supervisor.json`: the control channel's address and token, while a supervisor runs. */
  supervisorFile: string;
  pidFile(service: string): string;
  logFile(service: string): string;
}

export function localStatePaths(stateDir: string): LocalStatePaths {
  const runDir = join(stateDir, 'run');
  const logDir = join(stateDir, 'logs');
  return {
    runDir,
    logDir,
    supervisorFile: join(runDir, 'supervisor.json'),
    pidFile: (service) => join(runDir, `${service}.pid`),
    logFile: (service) => join(logDir, `${service}.log`),
  };
}

/**
 * Makes a directory of the local state private to the user running the stack (0700), also when it
 * already existed with a wider mode: it holds tokens, the embedded databases, logs and spools, and
 * mkdir's mode applies only to directories it creates.
 */
export function ensurePrivateDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/**
 * Takes group and other permissions off everything under a directory (files 0600, directories
 * 0700). For trees written by code that sets its own modes, such as PGlite, which creates its
 * files 0666 whatever the umask.
 */
export function restrictTreeToOwner(dir: string): void {
  chmodSync(dir, 0o700);
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isDirectory()) chmodSync(path, 0o700);
    else if (entry.isFile()) chmodSync(path, 0o600);
  }
}

/** Writes a file whole or not at all: a reader never sees half of it (temp file, then rename). */
export function writeFileAtomic(path: string, content: string, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temporary, content, { mode });
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** One service's pid file: which process runs it and how it was started. */
export interface PidRecord {
  service: string;
  pid: number;
  /** The child's argv as spawned (command first): what /proc/<pid>/cmdline must show. */
  argv: string[];
  startedAt: string;
  /** The supervisor that started it. */
  supervisorPid: number;
}

export function writePidFile(path: string, record: PidRecord): void {
  writeFileAtomic(path, `${JSON.stringify(record)}\n`);
}

/** Removes the pid file only when it still names this pid (a newer child may have replaced it). */
export function removePidFile(path: string, pid: number): void {
  const current = readPidFileSync(path);
  if (current === undefined || current.pid === pid) rmSync(path, { force: true });
}

function parsePidRecord(text: string): PidRecord | undefined {
  try {
    const value = JSON.parse(text) as Partial<PidRecord>;
    if (
      typeof value.service === 'string' &&
      Number.isInteger(value.pid) &&
      (value.pid as number) > 0 &&
      Array.isArray(value.argv) &&
      value.argv.every((word) => typeof word === 'string') &&
      typeof value.startedAt === 'string' &&
      Number.isInteger(value.supervisorPid)
    ) {
      return value as PidRecord;
    }
  } catch {
    // not JSON: treated like a missing file
  }
  return undefined;
}

function readPidFileSync(path: string): PidRecord | undefined {
  try {
    return parsePidRecord(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The pid file's record; undefined when there is none or it is not one of ours (malformed). */
export async function readPidFile(path: string): Promise<PidRecord | undefined> {
  try {
    return parsePidRecord(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The process's argv from /proc/<pid>/cmdline; undefined when no such process is there. */
export async function processArgv(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    // A zombie has an empty cmdline: it is gone for every purpose here.
    if (raw === '') return undefined;
    return raw.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

export type PidCheck =
  | { ok: true; pid: number }
  | { ok: false; pid: number; problem: 'gone' | 'not-ours'; detail: string };

/**
 * Whether the pid still runs the process the record describes: the same argv in
 * /proc/<pid>/cmdline. A pid that is gone, or was reused by anything else, is reported, never used.
 */
export async function checkPid(record: Pick<PidRecord, 'pid' | 'argv' | 'service'>): Promise<PidCheck> {
  const argv = await processArgv(record.pid);
  if (argv === undefined) return { ok: false, pid: record.pid, problem: 'gone', detail: `pid ${record.pid} of ${record.service} is not running (a stale pid file)` };
  if (argv.length !== record.argv.length || argv.some((word, index) => word !== record.argv[index])) {
    const shown = argv.join(' ').slice(0, 120);
    return {
      ok: false,
      pid: record.pid,
      problem: 'not-ours',
      detail: `pid ${record.pid} is not ${record.service} any more: it runs \`${shown}\` (the pid file is stale and the pid was reused)`,
    };
  }
  return { ok: true, pid: record.pid };
}
