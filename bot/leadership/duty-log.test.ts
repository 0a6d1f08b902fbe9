import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { botLoggerOptions } from '../logger.js';
import { logDutyEvent } from './duty-log.js';
import type { HeldLease } from './lease-store.js';

const lease: HeldLease = { name: 'alert-monitor', holder: 'replica-a', fencingToken: '7', acquiredAt: new Date(0), expiresAt: new Date(15_000) };
const words = { leading: 'alert monitor: this replica monitors (lease alert-monitor)', stopped: 'alert monitor: stopped here' };

/** The lines the bot's own logger (with its redaction) writes. */
function botLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino(botLoggerOptions(), sink), lines };
}

describe('a leader duty event in the log', () => {
  it('names the component, the lease and what happened, with no token field to redact', async () => {
    const { logger, lines } = botLogger();
    logDutyEvent(logger, 'alert-monitor', { kind: 'leading', lease }, words);
    logDutyEvent(logger, 'alert-monitor', { kind: 'lost', lease, reason: 'taken over by replica-b' }, words);
    logDutyEvent(logger, 'alert-monitor', { kind: 'released', lease }, words);
    logger.flush();
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((line) => [line.component, line.lease, line.msg])).toEqual([
      ['alert-monitor', 'alert-monitor', 'alert monitor: this replica monitors (lease alert-monitor)'],
      ['alert-monitor', 'alert-monitor', 'alert monitor: stopped here (taken over by replica-b)'],
      ['alert-monitor', 'alert-monitor', 'alert monitor: stopped here (released)'],
    ]);
    for (const line of lines) {
      expect(Object.keys(line)).not.toContain('token');
      expect(JSON.stringify(line)).not.toContain('[redacted]');
    }
  });
});
