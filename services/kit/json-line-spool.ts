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

  if (existed) {
    const content = readFileSync(path);
    const savedOffset = existsSync(offsetPath) ? Number(readFileSync(offsetPath, 'utf8')) || 0 : 0;
    // Beyond the end: a crash between emptying the drained file and saving its new offset, so
    // every line there now was appended after that. Corrected on disk before anything else.
    consumedOffset = savedOffset > content.length ? 0 : savedOffset;
    if (consumedOffset !== savedOffset) writeOffset(offsetPath, 0);
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

  function saveOffset(): void {
    writeOffset(offsetPath, consumedOffset);
  }

  return {
    path,
    append(item) {
      if (closed) throw new Error(`the spool ${path} is closed`);
      const line = Buffer.from(`${JSON.stringify(item)}\n`);
      writeSync(fd, line);
      if (options.syncEveryAppend) fdatasyncSync(fd);
      else dirty = true;
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
      if (queue.length === 0 && fstatSync(fd).size === consumedOffset) {
        ftruncateSync(fd, 0);
        consumedOffset = 0;
      }
      saveOffset();
    },
    close() {
      if (closed) return;
      if (dirty) fdatasyncSync(fd);
      closed = true;
      closeSync(fd);
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
