/**
 * The lease keeper's timing, against stores whose renewals answer, fail or never answer (the
 * database gone quiet): the keeper takes the RunStore port, and only `renew` is used.
 */
import { describe, expect, it } from 'vitest';
import { keepLease, type RunStop } from './lease-keeper.js';
import type { Lease, RunState, RunStore } from './run-store.js';

const lease: Lease = { runId: '00000000-0000-4000-8000-000000000001', owner: 'test', token: '1', leaseMs: 2000 };
const storeRenewing = (renew: () => Promise<RunState>) => ({ renew }) as unknown as RunStore;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('keeping a run lease', () => {
  it('gives the run up before the lease can run out when a renewal never answers', async () => {
    const keeper = keepLease(storeRenewing(() => new Promise(() => undefined)), lease, 200, () => undefined);
    const started = performance.now();
    await new Promise((resolve) => keeper.lost.addEventListener('abort', resolve, { once: true }));
    const after = performance.now() - started;
    keeper.stop();
    // A 2 s lease renewed every 200 ms is given up 200 ms before it could run out (a loaded
    // machine may fire the timer later; the point is that it fires at all while the query hangs).
    expect(after).toBeGreaterThanOrEqual(1700);
    expect((keeper.lost.reason as RunStop).kind).toBe('lease-lost');
    expect(keeper.stepSignal.aborted).toBe(true);
  });

  it('gives it up in time too when renewals fail', async () => {
    const errors: unknown[] = [];
    const keeper = keepLease(storeRenewing(() => Promise.reject(new Error('connection refused'))), lease, 200, (error) => errors.push(error));
    await new Promise((resolve) => keeper.lost.addEventListener('abort', resolve, { once: true }));
    keeper.stop();
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect((keeper.lost.reason as { message: string }).message).toMatch(/no renewal of run .* got through in time/);
  });

  it('keeps the run for as long as renewals answer, well past one lease', async () => {
    const keeper = keepLease(storeRenewing(() => Promise.resolve('running')), lease, 200, () => undefined);
    await sleep(lease.leaseMs * 2);
    expect(keeper.lost.aborted).toBe(false);
    keeper.stop();
  });

  it('tells the step to stop, without losing the lease, when a person asked to abort', async () => {
    const keeper = keepLease(storeRenewing(() => Promise.resolve('aborting')), lease, 200, () => undefined);
    await new Promise((resolve) => keeper.stepSignal.addEventListener('abort', resolve, { once: true }));
    expect(keeper.abortRequested).toBe(true);
    expect(keeper.lost.aborted).toBe(false);
    keeper.stop();
  });
});
