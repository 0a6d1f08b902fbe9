import { describe, expect, it } from 'vitest';
import { LatencyWindow } from './latency-window.js';

describe('latency window', () => {
  it('reports percentiles in milliseconds from nanosecond samples', () => {
    const window = new LatencyWindow(() => 0);
    for (let i = 1; i <= 100; i++) window.record(BigInt(i * 10_000)); // 0.01 .. 1 ms
    const p = window.percentiles();
    expect(p.count).toBe(100);
    expect(p.p50).toBeCloseTo(0.5, 2);
    expect(p.p95).toBeCloseTo(0.95, 2);
    expect(p.p99).toBeCloseTo(0.99, 2);
  });

  it('drops samples older than the window so that a past spike stops showing', () => {
    let now = 0;
    const window = new LatencyWindow(() => now);
    for (let i = 0; i < 10; i++) window.record(50_000_000); // 50 ms spike
    now = 30_000;
    for (let i = 0; i < 10; i++) window.record(100_000); // 0.1 ms
    expect(window.percentiles().p99).toBeGreaterThan(40);
    now = 61_000;
    expect(window.percentiles().p99).toBeLessThan(0.2);
    expect(window.percentiles().count).toBe(10);
  });

  it('answers zeros before any request', () => {
    expect(new LatencyWindow().percentiles()).toEqual({ p50: 0, p95: 0, p99: 0, count: 0 });
  });
});
