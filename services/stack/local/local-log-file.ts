/**
 * A supervised service's output on disk, so that a process other than the supervisor (the CLI)
 * can read it: one line per output line, `<ISO time> <stdout|stderr> <text>`, in
 * `<state>/logs/<service>.log`. The file is capped: past `maxBytes` it is renamed to `.log.1`
 * (replacing the previous one) and a new one is started, so a chatty service costs at most twice
 * the cap on disk. Plain text on purpose: `tail -f .acgs/logs/policy-engine.log` works too.
 */
import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ServiceNameSchema } from '../../kit/identifiers.js';

export const DEFAULT_LOG_FILE_BYTES = 4 * 1024 * 1024;

export interface LogFileLine {
  time: string;
  stream: 'stdout' | 'stderr';
  text: string;
}

export interface LogFileWriter {
  readonly path: string;
  write(line: LogFileLine): void;
  close(): void;
}

/**
 * Appends with synchronous writes: lines keep their order, rotation needs no coordination, and a
 * line is on disk as soon as the supervisor read it. A write that fails (disk full) is reported
 * once through `onError` and the file is given up; the supervisor keeps running its service.
 * `write` never throws: it runs in the supervisor's line listener, where a throw would take the
 * whole stack down. A file deleted under it (someone cleaning `.acgs/logs`) is simply started
 * again at the next rotation.
 */
export function openLogFile(path: string, options: { maxBytes?: number; onError?: (error: Error) => void } = {}): LogFileWriter {
  const maxBytes = Math.max(1024, options.maxBytes ?? DEFAULT_LOG_FILE_BYTES);
  let fd: number | undefined;
  let size = 0;
  let failed = false;
  let closed = false;

  const open = () => {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    fd = openSync(path, 'a', 0o600);
    size = fstatSync(fd).size;
  };
  // Every closeSync is followed by forgetting the fd at once: closing a number twice could close
  // whatever file the process opened with it in between.
  const closeQuietly = () => {
    const current = fd;
    fd = undefined;
    if (current === undefined) return;
    try {
      closeSync(current);
    } catch {
      // already unusable: nothing left to release
    }
  };
  const fail = (error: unknown) => {
    failed = true;
    closeQuietly();
    try {
      options.onError?.(error as Error);
    } catch {
      // a reporter that throws must not turn a lost log file into a crash
    }
  };
  const rotate = () => {
    closeQuietly();
    try {
      renameSync(path, `${path}.1`);
    } catch (error) {
      // Deleted meanwhile: nothing to keep, the new file below starts afresh.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    open();
  };

  return {
    path,
    write(line) {
      if (failed) return;
      try {
        const text = `${line.time} ${line.stream} ${line.text.replace(/[\r\n]+/g, ' ')}\n`;
        // A child's last lines can arrive after the supervisor stopped: appended, without keeping the file open.
        if (closed) return appendFileSync(path, text, { mode: 0o600 });
        if (fd === undefined) open();
        const bytes = Buffer.byteLength(text);
        if (size > 0 && size + bytes > maxBytes) rotate();
        writeSync(fd!, text);
        size += bytes;
      } catch (error) {
        fail(error);
      }
    },
    close() {
      closed = true;
      closeQuietly();
    },
  };
}

const LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (stdout|stderr) (.*)$/;

/** Parses a log file's text; a line not in the format (cut by a crash mid-write) is skipped. */
export function parseLogFileText(text: string): LogFileLine[] {
  const lines: LogFileLine[] = [];
  for (const raw of text.split('\n')) {
    const match = LINE.exec(raw);
    if (match) lines.push({ time: match[1]!, stream: match[2] as LogFileLine['stream'], text: match[3]! });
  }
  return lines;
}

/** The rotated file, then the current one, oldest line first; missing files are empty. */
export async function readLogFile(path: string): Promise<LogFileLine[]> {
  const read = (file: string) => readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? '' : Promise.reject(error)));
  const [older, current] = await Promise.all([read(`${path}.1`), read(path)]);
  return [...parseLogFileText(older), ...parseLogFileText(current)];
}

/** A file name `<service>.log` or `<service>.log.1` as the supervisor writes it; anything else in the folder is not ours. */
const LOG_FILE_NAME = /^(.+)\.log(?:\.1)?$/;

/**
 * The services that left a log file (current or rotated) in `logDir`, sorted; none when the folder
 * is missing. Other errors (EACCES) are thrown: the caller says who can read it.
 */
export async function loggedServices(logDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(logDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const services = new Set<string>();
  for (const name of names) {
    const match = LOG_FILE_NAME.exec(name);
    if (match && ServiceNameSchema.safeParse(match[1]).success) services.add(match[1]!);
  }
  return [...services].sort();
}

/**
 * Which of the log file and its `.1` was written last, and when: the current one, unless it was
 * removed or something touched the rotated one later. Undefined when neither exists.
 */
export async function logFileLastWrite(path: string): Promise<{ file: string; time: Date } | undefined> {
  const found = await Promise.all(
    [path, `${path}.1`].map((file) =>
      stat(file).then(
        (stats) => ({ file, time: stats.mtime }),
        (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)),
      ),
    ),
  );
  return found.reduce<{ file: string; time: Date } | undefined>((newest, entry) => (entry && (!newest || entry.time > newest.time) ? entry : newest), undefined);
}
