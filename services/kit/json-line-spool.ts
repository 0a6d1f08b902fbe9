import {
  closeSync,
  existsSync,
  fchmodSync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

export interface JsonLineSpoolOptions<T> {
  /** One directory per process: the spool is not shared between writers. */
  dir: string;
  /** The files are `<name>.jsonl` (the items) and `<name>.offset` (how far they were consumed). */
  name: string;
  /** Turns a parsed line back into an item; throws for a line that is not one. */
  parse(value: unknown): T;
  /** A complete line that could not be read back at start-up; it is skipped as consumed. */
  onUnreadable?(line: Buffer, error: unknown): void;
  /**
   * Flush every append to disk before `append` returns, so an append that returned survives a
   * crash. Otherwise the writer calls `sync()` before it relies on the items (batching the flush).
   */
  syncEveryAppend: boolean;
}

/**
 * An append-only file of JSON lines with a consumed-up-to byte offset: items are appended by a
 * producer and acknowledged, oldest first, by a consumer that delivered them somewhere. Survives
 * restarts: what was appended and not acknowledged is read back, in order. The offset is written
 * atomically but after the delivery, so a crash in between delivers the last batch again; the
 * receivers de-duplicate by the items' own keys.
 */
export interface JsonLineSpool<T> {
  /**
   * Appends one item, whole: when it returns, the full line is in the file (and on disk with
   * `syncEveryAppend`). When it throws (SpoolWriteError: a full disk, an I/O error) the file is as
   * it was before, so the next append cannot be glued onto a torn line.
   */
  append(item: T): void;
  /** Items appended and not yet acknowledged, oldest first. */
  size(): number;
  /** The oldest `max` unacknowledged items. */
  peek(max: number): T[];
  /** Flushes appended lines to disk (a no-op when nothing was appended since the last flush). */
  sync(): void;
  /** The oldest `count` items were delivered: they are not read back again. */
  acknowledge(count: number): void;
  readonly path: string;
  close(): void;
}

/**
 * An append that did not reach the disk whole. The file is as it was before it (or, when even
 * cutting it back failed, the spool refuses appends until it can). The message names the file and the cause.
 */
export class SpoolWriteError extends Error {
  override readonly name = 'SpoolWriteError';
  /** The system error code of the cause (ENOSPC for a full disk, EIO ...), when there was one. */
  readonly code: string | undefined;
  /** What went wrong without the path, e.g. `ENOSPC: no space left on device`: safe to show a person. */
  readonly problem: string;
  constructor(message: string, options: { cause?: unknown; code?: string | undefined; problem: string }) {
    super(message, { cause: options.cause });
    this.code = options.code;
    this.problem = options.problem;
  }
}

function describeIoError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC') return 'ENOSPC: no space left on device';
  if (code === 'EDQUOT') return 'EDQUOT: disk quota exceeded';
  if (code) return `${code}: the write failed`;
  return error instanceof Error ? error.message : String(error);
}

/** write(2) may take only part of a buffer (a nearly full disk): keep writing the rest, or throw. */
function writeWhole(fd: number, bytes: Buffer): void {
  let done = 0;
  while (done < bytes.length) {
    const written = writeSync(fd, bytes, done, bytes.length - done);
    if (written <= 0) throw Object.assign(new Error('the disk took no more bytes'), { code: 'ENOSPC' });
    done += written;
  }
}

/**
 * Appends one line to a plain file, such as those where items are set aside (rejected,
 * unreadable, unstorable), the way the spool does: whole, or the file is cut back to what it was
 * and SpoolWriteError is thrown, so one failed line never tears the next one.
 */
export function appendWholeLine(path: string, line: string | Buffer): void {
  const bytes = typeof line === 'string' ? Buffer.from(line) : line;
  const fd = openSync(path, 'a', 0o600);
  try {
    const before = fstatSync(fd).size;
    try {
      writeWhole(fd, bytes);
    } catch (error) {
      let undone = true;
      try {
        ftruncateSync(fd, before);
      } catch {
        undone = false;
      }
      const problem = describeIoError(error);
      const code = (error as NodeJS.ErrnoException | undefined)?.code;
      throw new SpoolWriteError(`could not write to ${path} (${problem}); ${undone ? 'the file is as it was before' : 'a partial line may remain at its end'}`, { cause: error, code, problem });
    }
  } finally {
    closeSync(fd);
  }
}

interface Spooled<T> {
  item: T;
  bytes: number;
}

export function openJsonLineSpool<T>(options: JsonLineSpoolOptions<T>): JsonLineSpool<T> {
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const path = join(options.dir, `${options.name}.jsonl`);
  const offsetPath = join(options.dir, `${options.name}.offset`);
  const queue: Spooled<T>[] = [];
  let consumedOffset = 0;
  const existed = existsSync(path);
  /** What the offset file says now (an offset file without its items file is stale: it is rewritten before the first append). */
  let offsetOnDisk = existsSync(offsetPath) ? Number(readFileSync(offsetPath, 'utf8')) || 0 : 0;

  if (existed) {
    const content = readFileSync(path);
    const savedOffset = offsetOnDisk;
    // Beyond the end: a crash between emptying the drained file and saving its new offset, so
    // every line there now was appended after that. Corrected on disk before anything else.
    consumedOffset = savedOffset > content.length ? 0 : savedOffset;
    if (consumedOffset !== savedOffset) {
      writeOffset(offsetPath, 0);
      offsetOnDisk = 0;
    }
    let position = consumedOffset;
    let validEnd = position;
    while (position < content.length) {
      const newline = content.indexOf(0x0a, position);
      if (newline === -1) break; // a line torn by a crash mid-write: its append never returned, drop it
      const line = content.subarray(position, newline + 1);
      try {
        queue.push({ item: options.parse(JSON.parse(line.toString('utf8'))), bytes: line.length });
      } catch (error) {
        options.onUnreadable?.(line, error);
        // Skipped together with the item before it, so the saved offset stays on a line boundary.
        const previous = queue[queue.length - 1];
        if (previous) previous.bytes += line.length;
        else consumedOffset += line.length;
      }
      position = newline + 1;
      validEnd = position;
    }
    if (validEnd < content.length) {
      const fd = openSync(path, 'r+');
      ftruncateSync(fd, validEnd);
      closeSync(fd);
    }
  }
  const fd = openSync(path, 'a', 0o600);
  // What is spooled is audit data: readable by this process's user only, also for an older file.
  fchmodSync(fd, 0o600);
  if (!existed && options.syncEveryAppend) syncDirectory(options.dir);
  let dirty = false;
  let closed = false;
  /** Where the last whole line ends: a failed append is cut back to here. */
  let end = fstatSync(fd).size;
  /** The file holds bytes past `end` that a failed append left and cutting back could not remove. */
  let tornTail = false;

  function saveOffset(): void {
    try {
      writeOffset(offsetPath, consumedOffset);
      offsetOnDisk = consumedOffset;
    } catch {
      // The items were delivered; only the bookmark is behind (a full disk). An offset file behind
      // the truth delivers some items again, which the receivers de-duplicate; one ahead of it
      // (the file was started over) is put right before the next append, in repair().
    }
  }

  /** Puts the file back to its last whole line and the offset file in step, before anything new is written. */
  function repair(): void {
    if (tornTail) {
      ftruncateSync(fd, end);
      tornTail = false;
    }
    // An offset file pointing past what is consumed would make the next start skip new lines.
    if (offsetOnDisk > consumedOffset) {
      writeOffset(offsetPath, consumedOffset);
      offsetOnDisk = consumedOffset;
    }
  }

  function failedAppend(error: unknown): SpoolWriteError {
    try {
      ftruncateSync(fd, end);
    } catch {
      tornTail = true;
    }
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    const undone = tornTail ? 'its partial line could not be cut off yet, so appends are refused until it can' : 'the file is as it was before';
    const problem = describeIoError(error);
    return new SpoolWriteError(`could not write to the spool ${path} (${problem}); ${undone}`, { cause: error, code, problem });
  }

  return {
    path,
    append(item) {
      if (closed) throw new Error(`the spool ${path} is closed`);
      const line = Buffer.from(`${JSON.stringify(item)}\n`);
      try {
        repair();
        writeWhole(fd, line);
        // A failed flush may have dropped the written pages: the line is not durable, so it is undone too.
        if (options.syncEveryAppend) fdatasyncSync(fd);
      } catch (error) {
        throw failedAppend(error);
      }
      end += line.length;
      if (!options.syncEveryAppend) dirty = true;
      queue.push({ item, bytes: line.length });
    },
    size: () => queue.length,
    peek: (max) => queue.slice(0, max).map((spooled) => spooled.item),
    sync() {
      if (!dirty || closed) return;
      fdatasyncSync(fd);
      dirty = false;
    },
    acknowledge(count) {
      const done = queue.splice(0, count);
      consumedOffset += done.reduce((sum, spooled) => sum + spooled.bytes, 0);
      // Drained: start the file over rather than let it grow for the life of the process.
      if (queue.length === 0 && end === consumedOffset) {
        ftruncateSync(fd, 0);
        consumedOffset = 0;
        end = 0;
        tornTail = false;
      }
      saveOffset();
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        if (dirty) fdatasyncSync(fd);
        if (offsetOnDisk !== consumedOffset) saveOffset();
      } finally {
        closeSync(fd);
      }
    },
  };
}

/** Replaces the offset file whole, so a crash leaves the old offset or the new one. */
function writeOffset(offsetPath: string, offset: number): void {
  const temp = `${offsetPath}.tmp`;
  writeFileSync(temp, String(offset), { mode: 0o600 });
  renameSync(temp, offsetPath);
}

/** A new file's directory entry is only durable once the directory itself is flushed. */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
