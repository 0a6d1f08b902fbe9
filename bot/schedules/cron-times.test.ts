import { describe, expect, it } from 'vitest';
import { cronProblem, nextRunAfter } from './cron-times.js';

const berlin = (cron: string) => ({ cron, timezone: 'Europe/Berlin' });

describe('next run times across a DST change (Europe/Berlin)', () => {
  it('runs a 02:30 job once on the spring-forward day, right after the jump (03:00 CEST), then at 02:30 again', () => {
    const first = nextRunAfter(berlin('30 2 * * *'), new Date('2026-03-28T12:00:00Z'))!;
    expect(first.toISOString()).toBe('2026-03-29T01:00:00.000Z');
    expect(nextRunAfter(berlin('30 2 * * *'), first)!.toISOString()).toBe('2026-03-30T00:30:00.000Z');
  });

  it('runs a 02:00 job in the spring-forward gap once', () => {
    const first = nextRunAfter(berlin('0 2 * * *'), new Date('2026-03-28T12:00:00Z'))!;
    expect(first.toISOString()).toBe('2026-03-29T01:00:00.000Z');
    expect(nextRunAfter(berlin('0 2 * * *'), first)!.toISOString()).toBe('2026-03-30T00:00:00.000Z');
  });

  it('runs a 02:30 job once on the fall-back day, in the first of the two 02:30s', () => {
    const first = nextRunAfter(berlin('30 2 * * *'), new Date('2026-10-24T12:00:00Z'))!;
    expect(first.toISOString()).toBe('2026-10-25T00:30:00.000Z');
    expect(nextRunAfter(berlin('30 2 * * *'), first)!.toISOString()).toBe('2026-10-26T01:30:00.000Z');
  });
});

describe('cron expressions', () => {
  it('takes five fields and names what is wrong with anything else', () => {
    expect(cronProblem('0 2 * * *')).toBeUndefined();
    expect(cronProblem('61 2 * * *')).toMatch(/minute: 61/);
    expect(cronProblem('0 2 * *')).toMatch(/five/);
    expect(cronProblem('0 0 2 * * *')).toBeDefined();
    expect(cronProblem('at two')).toBeDefined();
    expect(cronProblem('')).toBeDefined();
  });
});
