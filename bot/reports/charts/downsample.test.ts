import { describe, expect, it } from 'vitest';
import { downsampleKeepingWorst } from './downsample.js';
import { minutesOfDay } from './testing/chart-data.js';

describe('downsampleKeepingWorst', () => {
  it('keeps a short series as it is', () => {
    const points = minutesOfDay((minute) => minute).slice(0, 10);
    expect(downsampleKeepingWorst(points, 10, 'higher')).toEqual(points);
  });

  it('keeps a one-minute spike of a day when drawing 480 points', () => {
    const points = minutesOfDay((minute) => (minute === 777 ? 9 : 3));
    const kept = downsampleKeepingWorst(points, 480, 'higher');
    expect(kept).toHaveLength(480);
    expect(kept.filter((point) => point.value === 9)).toEqual([points[777]]);
  });

  it('keeps the lowest point where low is bad', () => {
    const points = minutesOfDay((minute) => (minute === 100 ? 60 : 97));
    expect(Math.min(...downsampleKeepingWorst(points, 48, 'lower').map((point) => point.value))).toBe(60);
  });

  it('keeps points in time order', () => {
    const kept = downsampleKeepingWorst(minutesOfDay((minute) => Math.sin(minute)), 100, 'higher');
    const times = kept.map((point) => point.time.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('refuses a point budget that is not a positive whole number', () => {
    expect(() => downsampleKeepingWorst([], 0, 'higher')).toThrow(RangeError);
    expect(() => downsampleKeepingWorst([], 2.5, 'higher')).toThrow(/positive whole number/);
  });
});
