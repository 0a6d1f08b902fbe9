/**
 * high-latency's look at p99 after the cache warm: the engine's p99 covers its last minute, so a
 * read right after the warm still counts the slow decisions from before it. The step settles
 * "resolved" at the first read under the alert, and "still high" only after the whole window.
 * The metrics are a scripted sequence here (the engine's window is a minute); the real engine's
 * run is in test/runbooks/high-latency-*.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { StepContext } from '../engine/definition.js';
import type { StepPorts } from '../engine/ports.js';
import { highLatency, LATENCY_RECHECK } from './high-latency.js';

const recheck = highLatency.steps.find((step) => step.id === 'check-p99')!;

/** A Policy Engine whose p99 answers the scripted values in turn, then the last one again. */
function engineAnswering(p99s: number[]) {
  const reads: number[] = [];
  const metrics = async () => {
    const p99 = p99s[Math.min(reads.length, p99s.length - 1)]!;
    reads.push(Date.now());
    return { percentiles: { p50: 1, p95: 2, p99 } };
  };
  return { reads, policyEngine: { metrics } };
}

function contextWith(policyEngine: object, latencyRecheck: StepPorts['latencyRecheck']) {
  const outputs = { 'read-kpis': { summary: 'p99 9 ms', evidence: { p99Ms: 9, p95Ms: 4, hitRate: 0.5, requests: 100, replicas: 1, scaleTo: 2 } } };
  return { ports: { commands: { policyEngine, endpoints: { 'policy-engine': 'http://127.0.0.1:8001' } }, latencyRecheck }, outputs, signal: new AbortController().signal, args: {} } as unknown as StepContext<Record<string, never>>;
}

describe('high-latency: p99 after the warm', () => {
  it('waits the engine window by default, a minute and a slot, with the step timeout above it', () => {
    expect(LATENCY_RECHECK.windowMs).toBe(70_000);
    expect(recheck.timeoutMs).toBeGreaterThan(LATENCY_RECHECK.windowMs);
  });

  it('calls the warm enough at the first read under the alert, without waiting out the window', async () => {
    const engine = engineAnswering([9, 7, 3]);
    const started = Date.now();
    const found = (await recheck.run(contextWith(engine.policyEngine, { windowMs: 10_000, pollMs: 50 }))) as { summary: string; evidence: { stillHigh: boolean; p99Ms: number; scaleTo: number } };
    expect(engine.reads).toHaveLength(3);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(found.evidence).toMatchObject({ stillHigh: false, p99Ms: 3, scaleTo: 2 });
    expect(found.summary).toMatch(/^Resolved by the warm: p99 3(\.0+)? ms \(was 9(\.0+)? ms\) after it, under the 5 ms alert; no scaling\.$/);
  });

  it('calls it still high only once the window has passed, reading it as it goes', async () => {
    const engine = engineAnswering([9, 8, 8]);
    const found = (await recheck.run(contextWith(engine.policyEngine, { windowMs: 400, pollMs: 100 }))) as { summary: string; evidence: { stillHigh: boolean; watchedMs: number } };
    expect(found.evidence.stillHigh).toBe(true);
    expect(found.evidence.watchedMs).toBeGreaterThanOrEqual(400);
    // Read at the start and every poll until the window's end: never fewer than the window allows.
    expect(engine.reads.length).toBeGreaterThanOrEqual(3);
    expect(found.summary).toMatch(/^Still high: p99 8(\.0+)? ms \(was 9(\.0+)? ms\), over the 5 ms alert after the warm, with no decision from before it left in the engine's window; scaling up needs an approval\.$/);
  });

  it('stops watching when the run is aborted', async () => {
    const engine = engineAnswering([9]);
    const aborting = new AbortController();
    const context = { ...contextWith(engine.policyEngine, { windowMs: 60_000, pollMs: 60_000 }), signal: aborting.signal } as StepContext<Record<string, never>>;
    const watching = recheck.run(context);
    setTimeout(() => aborting.abort(new Error('run aborted')), 50);
    await expect(watching).rejects.toThrow();
    expect(engine.reads).toHaveLength(1);
  });
});
