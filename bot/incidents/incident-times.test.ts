import { describe, expect, it } from 'vitest';
import { incidentTimes, median, type TimedIncident } from './incident-times.js';

const T0 = new Date('2026-12-01T00:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const MINUTE = 60_000;

function incident(declaredMinute: number, detectionMinutes: number, resolutionMinutes?: number): TimedIncident {
  const detectedAt = at(declaredMinute - detectionMinutes);
  return { detectedAt, declaredAt: at(declaredMinute), resolvedAt: resolutionMinutes === undefined ? undefined : new Date(detectedAt.getTime() + resolutionMinutes * MINUTE) };
}

describe('median', () => {
  it('is the middle value, or the mean of the two middle ones', () => {
    expect(median([])).toBeUndefined();
    expect(median([7])).toBe(7);
    expect(median([9, 1, 5])).toBe(5);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('incident times over a period', () => {
  it('are medians, so one long outage does not set the figure', () => {
    const incidents = [incident(10, 2, 30), incident(20, 4, 40), incident(30, 6, 6000)];
    expect(incidentTimes(incidents, { from: T0, to: at(60) })).toEqual({ declared: 3, resolved: 3, medianDetectionMs: 4 * MINUTE, medianResolutionMs: 40 * MINUTE });
  });

  it('count only incidents declared in the period (from inclusive, to exclusive) and only resolved ones for resolution', () => {
    const incidents = [incident(0, 1, 10), incident(5, 3), incident(60, 100, 100)];
    expect(incidentTimes(incidents, { from: T0, to: at(60) })).toEqual({ declared: 2, resolved: 1, medianDetectionMs: 2 * MINUTE, medianResolutionMs: 10 * MINUTE });
  });

  it('say there is nothing to measure rather than zero', () => {
    expect(incidentTimes([incident(5, 1)], { from: at(10), to: at(20) })).toEqual({ declared: 0, resolved: 0, medianDetectionMs: undefined, medianResolutionMs: undefined });
    expect(incidentTimes([incident(5, 1)], { from: T0, to: at(20) }).medianResolutionMs).toBeUndefined();
  });

  it('refuse a period that ends before it starts', () => {
    expect(() => incidentTimes([], { from: at(10), to: at(0) })).toThrow('the period ends before it starts');
  });
});
