/**
 * The body of `GET /services/{id}/logs?timestamps=1&details=1` read into lines (pure). Each line
 * is `<time> <details> <text>`, the details a comma-separated `key=value` list in which the engine
 * always puts `com.docker.swarm.task.id`, which tells whose line it is.
 */
import { parseDockerLogText, type TimedLine } from '../log-lines.js';

/** Splits a multiplexed (non-TTY) log body into its two streams: 8-byte frame headers, stream 1 or 2. */
export function demultiplex(body: Buffer): { stdout: string; stderr: string } {
  const out = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  let offset = 0;
  while (offset + 8 <= body.length) {
    const stream = body[offset];
    const length = body.readUInt32BE(offset + 4);
    const frame = body.subarray(offset + 8, offset + 8 + length);
    (stream === 2 ? out.stderr : out.stdout).push(frame);
    offset += 8 + length;
  }
  return { stdout: Buffer.concat(out.stdout).toString('utf8'), stderr: Buffer.concat(out.stderr).toString('utf8') };
}

const TASK_DETAIL = /(?:^|,)com\.docker\.swarm\.task\.id=([^,\s]+)(?:,|$)/;

/** The task's lines named by `replicaOf(taskId)`; a line without details is dropped rather than misattributed. */
export function serviceLogLines(text: string, stream: 'stdout' | 'stderr', replicaOf: (taskId: string) => string): TimedLine[] {
  const lines: TimedLine[] = [];
  for (const line of parseDockerLogText(text, '', stream)) {
    const space = line.text.indexOf(' ');
    const details = space < 0 ? line.text : line.text.slice(0, space);
    const task = TASK_DETAIL.exec(details)?.[1];
    if (!task) continue;
    lines.push({ ...line, replica: replicaOf(task), text: space < 0 ? '' : line.text.slice(space + 1) });
  }
  return lines;
}
