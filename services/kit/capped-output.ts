import { Writable } from 'node:stream';

/**
 * Keeps the first `limit` bytes written to it and counts the rest, so a flood of output costs
 * memory no larger than the cap while the stream is still drained (a stalled reader would block
 * the container's writes and turn a chatty program into a timeout).
 */
export class CappedOutput extends Writable {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  total = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.total += chunk.length;
    const room = this.limit - this.kept;
    if (room > 0) {
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.chunks.push(Buffer.from(part));
      this.kept += part.length;
    }
    callback();
  }

  get truncated(): boolean {
    return this.total > this.kept;
  }

  /** The kept bytes as UTF-8; a character cut by the cap is dropped rather than mangled. */
  text(): string {
    let bytes = Buffer.concat(this.chunks, this.kept);
    if (this.truncated) bytes = bytes.subarray(0, completeUtf8Length(bytes));
    return bytes.toString('utf8');
  }
}

/** Length of the longest prefix that does not end inside a multi-byte UTF-8 sequence. */
export function completeUtf8Length(bytes: Buffer): number {
  let start = bytes.length - 1;
  // Walk back over at most three continuation bytes to the lead byte of the last character.
  while (start >= 0 && bytes.length - start <= 4 && (bytes[start]! & 0xc0) === 0x80) start -= 1;
  if (start < 0) return bytes.length;
  const lead = bytes[start]!;
  const needed = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return bytes.length - start >= needed ? bytes.length : start;
}
