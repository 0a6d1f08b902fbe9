/**
 * Reading a container's log back from the engine: both streams, with their times, in time order.
 */
import { Readable, Writable } from 'node:stream';
import type Docker from 'dockerode';
import { parseDockerLogText, type TimedLine } from '../log-lines.js';
import { nameOf } from './containers.js';
import { callEngine, type DockerContext } from './context.js';

/** Demultiplexes a non-TTY log or exec body into its two streams. */
async function demux(docker: Docker, body: Buffer): Promise<{ stdout: string; stderr: string }> {
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  const sink = (into: Buffer[]) =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        into.push(Buffer.from(chunk));
        callback();
      },
    });
  const source = Readable.from([body]);
  const ended = new Promise<void>((resolve, reject) => source.once('end', resolve).once('error', reject));
  docker.modem.demuxStream(source, sink(chunks.stdout), sink(chunks.stderr));
  await ended;
  return { stdout: Buffer.concat(chunks.stdout).toString('utf8'), stderr: Buffer.concat(chunks.stderr).toString('utf8') };
}

/** The last `tail` lines of each stream of one replica, with their times, in time order. */
export async function replicaLogLines(
  context: DockerContext,
  info: Docker.ContainerInspectInfo,
  tail: number,
  since: string | undefined,
): Promise<TimedLine[]> {
  const name = nameOf(info);
  const body = (await callEngine(context, () =>
    context.docker.getContainer(info.Id).logs({
      stdout: true,
      stderr: true,
      timestamps: true,
      follow: false,
      tail,
      // The engine takes fractional seconds ("1700000000.250"); the typings say number.
      ...(since ? { since: since as unknown as number } : {}),
    }),
  )) as unknown as Buffer;
  if (info.Config.Tty) return parseDockerLogText(body.toString('utf8'), name, 'stdout');
  const { stdout, stderr } = await demux(context.docker, body);
  return [...parseDockerLogText(stdout, name, 'stdout'), ...parseDockerLogText(stderr, name, 'stderr')].sort((a, b) =>
    a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0,
  );
}

/** The replica's own words, for a failure message; empty when they cannot be read. */
export async function lastLogLines(context: DockerContext, info: Docker.ContainerInspectInfo, count = 5): Promise<string> {
  try {
    const lines = (await replicaLogLines(context, info, count, undefined))
      .slice(-count)
      .map((line) => line.text.trim())
      .filter(Boolean);
    return lines.length > 0 ? `; its last log lines: ${lines.join(' | ').slice(0, 600)}` : '';
  } catch {
    return '';
  }
}
