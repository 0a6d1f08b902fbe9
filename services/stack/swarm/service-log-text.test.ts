import { describe, expect, it } from 'vitest';
import { demultiplex, serviceLogLines } from './service-log-text.js';

const frame = (stream: 1 | 2, text: string) => {
  const body = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
};

const DETAILS = (task: string) => `com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=${task}`;

describe("a Swarm service's log body", () => {
  it('splits the multiplexed frames into stdout and stderr', () => {
    const body = Buffer.concat([frame(1, 'out one\n'), frame(2, 'err\n'), frame(1, 'out two\n')]);
    expect(demultiplex(body)).toEqual({ stdout: 'out one\nout two\n', stderr: 'err\n' });
  });

  it("names each line by its task's replica and keeps the text after the details", () => {
    const text = `2026-01-01T00:00:01.000000000Z ${DETAILS('taskA')} Responder READY on 127.0.0.1:18080\n2026-01-01T00:00:02.5Z ${DETAILS('taskB')} hello world\n`;
    const lines = serviceLogLines(text, 'stdout', (task) => (task === 'taskA' ? 'acgs_web.1' : 'acgs_web.2'));
    expect(lines.map((line) => [line.replica, line.text, line.sortKey])).toEqual([
      ['acgs_web.1', 'Responder READY on 127.0.0.1:18080', '2026-01-01T00:00:01.000000000Z'],
      ['acgs_web.2', 'hello world', '2026-01-01T00:00:02.500000000Z'],
    ]);
  });

  it('drops a line without a task detail rather than misattribute it', () => {
    const lines = serviceLogLines('2026-01-01T00:00:01Z com.docker.swarm.node.id=n1 text\n2026-01-01T00:00:01Z bare line\n', 'stderr', () => 'x');
    expect(lines).toEqual([]);
  });

  it('keeps an empty line of a task as an empty text', () => {
    expect(serviceLogLines(`2026-01-01T00:00:01Z ${DETAILS('t')}\n`, 'stdout', () => 'r').map((line) => line.text)).toEqual(['']);
  });
});
