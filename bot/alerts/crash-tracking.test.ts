/**
 * Crashes told from the Stack port's crash counts, with the samples' own times: one alert per
 * crash, resolved once healthy with what happened, no alert for the baseline or a requested
 * restart, the crash loop counted in its window.
 */
import { describe, expect, it } from 'vitest';
import type { Replica, ServiceStatus } from '../../services/stack/stack.js';
import { createCrashTracker, exitWords, type CrashListing } from './crash-tracking.js';
import { monitorFingerprint } from './rule-evaluation.js';

const T0 = Date.parse('2026-12-07T03:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const iso = (seconds: number) => at(seconds).toISOString();

function replica(restarts: number, extra: Partial<Replica> = {}): Replica {
  return { id: 'local:audit-engine', name: 'audit-engine', number: 1, state: 'running', health: 'healthy', image: 'node', startedAt: iso(0), uptimeSeconds: 1, restarts, ...extra };
}

function listing(seconds: number, replicas: Replica[], kind: CrashListing['kind'] = 'local', service = 'audit-engine'): CrashListing {
  const services: ServiceStatus[] = [{ name: service, replicas }];
  return { at: at(seconds), kind, services };
}

const crashLoops = (result: ReturnType<ReturnType<typeof createCrashTracker>['track']>) => result.observations.map((o) => [o.labels.service, o.value, o.breaching]);

describe('the crash tracker', () => {
  it('takes the first listing as the baseline: crashes before the monitor ran are not told', () => {
    const tracker = createCrashTracker();
    const first = tracker.track(listing(0, [replica(4)]));
    expect(first.reports).toEqual([]);
    expect(crashLoops(first)).toEqual([['audit-engine', 0, false]]);
    expect(tracker.track(listing(2, [replica(4)])).reports).toEqual([]);
  });

  it('fires ServiceRestarted when the count goes up and resolves it once the replica answers healthy, saying what happened', () => {
    const tracker = createCrashTracker();
    tracker.track(listing(0, [replica(0)]));
    const lastExit = { at: iso(9), code: null, signal: 'SIGKILL' };
    const crashed = tracker.track(listing(10, [replica(1, { health: 'starting', startedAt: iso(9.5), lastExit })]));
    const labels = { service: 'audit-engine', replica: 'audit-engine', restarted_at: iso(9.5) };
    expect(crashed.reports).toEqual([
      {
        source: 'monitor',
        fingerprint: monitorFingerprint('ServiceRestarted', labels),
        rule: 'ServiceRestarted',
        status: 'firing',
        labels: { alertname: 'ServiceRestarted', ...labels },
        annotations: { summary: 'audit-engine crashed (killed by SIGKILL) at 03:00:09 UTC; the supervisor restarted it; waiting for it to answer healthy' },
        startsAt: at(10),
        value: 1,
      },
    ]);
    expect(tracker.track(listing(12, [replica(1, { health: 'starting', startedAt: iso(9.5), lastExit })])).reports).toEqual([]);
    const healthy = tracker.track(listing(14, [replica(1, { startedAt: iso(9.5), lastExit })]));
    expect(healthy.reports).toMatchObject([
      {
        status: 'resolved',
        startsAt: at(10),
        endsAt: at(14),
        annotations: { summary: 'audit-engine crashed (killed by SIGKILL) at 03:00:09 UTC; the supervisor restarted it; healthy again after 5 s' },
      },
    ]);
    expect(tracker.track(listing(16, [replica(1, { startedAt: iso(9.5), lastExit })])).reports).toEqual([]);
  });

  it('fires and resolves in one listing when the crash healed between two, and names Docker as the restarter', () => {
    const tracker = createCrashTracker();
    tracker.track(listing(0, [replica(2, { id: 'c0ffee', name: 'acgs-web-1' })], 'docker', 'web'));
    const result = tracker.track(listing(2, [replica(3, { id: 'c0ffee', name: 'acgs-web-1', startedAt: iso(1) })], 'docker', 'web'));
    expect(result.reports.map((report) => [report.status, report.annotations.summary])).toEqual([
      ['firing', "web crashed at 03:00:02 UTC; Docker's restart policy restarted it; waiting for it to answer healthy"],
      ['resolved', "web crashed at 03:00:02 UTC; Docker's restart policy restarted it; healthy again after 0 s"],
    ]);
    expect(result.reports[0]!.labels).toMatchObject({ service: 'web', replica: 'acgs-web-1' });
  });

  it('keeps a replica that crashes again before it is healthy in the same alert, counting its crashes', () => {
    const tracker = createCrashTracker();
    tracker.track(listing(0, [replica(0)]));
    const first = tracker.track(listing(2, [replica(1, { state: 'backoff', health: 'none', startedAt: null, lastExit: { at: iso(1), code: 1, signal: null } })]));
    expect(first.reports.map((report) => report.status)).toEqual(['firing']);
    expect(first.reports[0]!.labels.restarted_at).toBe(iso(2));
    expect(tracker.track(listing(4, [replica(2, { health: 'starting', startedAt: iso(3) })])).reports).toEqual([]);
    const resolved = tracker.track(listing(6, [replica(2, { startedAt: iso(3), lastExit: { at: iso(2.5), code: 1, signal: null } })]));
    expect(resolved.reports).toMatchObject([{ status: 'resolved', fingerprint: first.reports[0]!.fingerprint, value: 2 }]);
    expect(resolved.reports[0]!.annotations.summary).toBe('audit-engine crashed 2 times (exit code 1) at 03:00:01 UTC; the supervisor restarted it; healthy again after 5 s');
  });

  it('counts crashes in the crash-loop window and opens no more ServiceRestarted alerts while the service loops', () => {
    const tracker = createCrashTracker();
    tracker.track(listing(0, [replica(0)]));
    expect(tracker.track(listing(10, [replica(1)])).reports.map((report) => report.status)).toEqual(['firing', 'resolved']);
    const second = tracker.track(listing(20, [replica(2, { startedAt: iso(19) })]));
    expect(second.reports.map((report) => report.status)).toEqual(['firing', 'resolved']);
    expect(crashLoops(second)).toEqual([['audit-engine', 2, false]]);
    const third = tracker.track(listing(30, [replica(3, { startedAt: iso(29) })]));
    expect(third.reports).toEqual([]);
    expect(crashLoops(third)).toEqual([['audit-engine', 3, true]]);
    // The first crash leaves the window ten minutes after it.
    expect(crashLoops(tracker.track(listing(609, [replica(3, { startedAt: iso(29) })])))).toEqual([['audit-engine', 3, true]]);
    expect(crashLoops(tracker.track(listing(611, [replica(3, { startedAt: iso(29) })])))).toEqual([['audit-engine', 2, false]]);
  });

  it('tells nothing for a replica whose count stays, whatever else changes (a requested restart, a hold, a new container)', () => {
    const tracker = createCrashTracker();
    tracker.track(listing(0, [replica(1, { id: 'old' })], 'docker'));
    expect(tracker.track(listing(2, [replica(1, { id: 'old', state: 'exited', health: 'none', held: true })], 'docker')).reports).toEqual([]);
    // Recreated (deploy): a new id with its own count is a new baseline.
    expect(tracker.track(listing(4, [replica(0, { id: 'new' })], 'docker')).reports).toEqual([]);
    expect(tracker.track(listing(6, [replica(0, { id: 'new', startedAt: iso(5) })], 'docker')).reports).toEqual([]);
  });

  it('resolves an alert of a replica that is gone, and one taken over after a restart once healthy', () => {
    const tracker = createCrashTracker();
    const labels = { service: 'audit-engine', replica: 'audit-engine', restarted_at: iso(-30) };
    const fingerprint = monitorFingerprint('ServiceRestarted', labels);
    tracker.adopt([{ fingerprint, rule: 'ServiceRestarted', labels: { alertname: 'ServiceRestarted', ...labels }, firedAt: at(-30) }]);
    const taken = tracker.track(listing(0, [replica(5)]));
    expect(taken.reports).toMatchObject([{ fingerprint, status: 'resolved', startsAt: at(-30), endsAt: at(0) }]);

    tracker.track(listing(2, [replica(6, { health: 'starting' })]));
    const gone = tracker.track({ at: at(4), kind: 'local', services: [{ name: 'audit-engine', replicas: [] }] });
    expect(gone.reports.map((report) => [report.status, report.annotations.summary])).toEqual([
      ['resolved', 'audit-engine crashed; the replica audit-engine is gone since (replaced or removed)'],
    ]);
  });

  it('words an exit as people read it', () => {
    expect(exitWords({ at: iso(0), code: null, signal: 'SIGSEGV' })).toBe('killed by SIGSEGV');
    expect(exitWords({ at: iso(0), code: 137, signal: null })).toBe('exit code 137');
    expect(exitWords({ at: iso(0), code: null, signal: null })).toBeUndefined();
    expect(exitWords(undefined)).toBeUndefined();
  });
});
