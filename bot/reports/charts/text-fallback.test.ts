import { describe, expect, it } from 'vitest';
import { cacheHitRateChart, latencyChart, resourceUseChart, violationsPerDayChart } from './report-charts.js';
import { chartTextFallback } from './text-fallback.js';
import { DAY_START, minutesOfDay } from './testing/chart-data.js';

describe('chartTextFallback', () => {
  it('gives min, max and last per series, and the p99 threshold only for p99', () => {
    const text = chartTextFallback(latencyChart({ p50: minutesOfDay(() => 1.234), p95: minutesOfDay(() => 7), p99: minutesOfDay((minute) => (minute >= 60 && minute < 90 ? 5.5 : 4)) }));
    expect(text.split('\n')).toEqual([
      'Policy Engine latency (ms)',
      'p50: min 1.23, max 1.23, last 1.23',
      // p95 is above 5 ms all day, but the target is about p99.
      'p95: min 7, max 7, last 7',
      'p99: min 4, max 5.5, last 4; above p99 target 5 ms in 1 spell (30 of 1440 samples, first at 01:00 UTC)',
    ]);
  });

  it('counts a breach below the cache target, and a value on the line is no breach', () => {
    const text = chartTextFallback(cacheHitRateChart(minutesOfDay((minute) => (minute < 10 ? 95 : minute < 20 ? 90 : minute < 30 ? 99 : minute < 31 ? 94.9 : 97))));
    expect(text).toBe('Cache hit rate (%)\nhit rate: min 90, max 99, last 97; below target 95 % in 2 spells (11 of 1440 samples, first at 00:10 UTC)');
  });

  it('says a series never crossed its limit', () => {
    const text = chartTextFallback(resourceUseChart('memory', { 'audit-engine': minutesOfDay(() => 85) }));
    expect(text).toBe('Memory use per service (%)\naudit-engine: min 85, max 85, last 85; never above limit 85 %');
  });

  it('counts a spell that is still going at the start of the range', () => {
    const text = chartTextFallback(resourceUseChart('cpu', { 'policy-engine': minutesOfDay((minute) => (minute < 5 ? 95 : 30)) }));
    expect(text).toContain('above limit 80 % in 1 spell (5 of 1440 samples, first at 00:00 UTC)');
  });

  it('names the day of a first crossing when the range is longer than a day and a half', () => {
    const points = Array.from({ length: 72 }, (_, hour) => ({ time: new Date(DAY_START + hour * 3600_000), value: hour === 50 ? 99 : 40 }));
    expect(chartTextFallback(resourceUseChart('cpu', { sandbox: points }))).toContain('first at 2026-12-08 02:00 UTC');
  });

  it('sums violations per day and names the worst day', () => {
    const perDay = [3, 0, 7, 1].map((value, day) => ({ time: new Date(DAY_START + day * 86_400_000), value }));
    expect(chartTextFallback(violationsPerDayChart(perDay))).toBe('Safety violations per day (violations)\nviolations: 11 in 4 days; most 7 on 2026-12-08; last 1 on 2026-12-09');
  });

  it('says when a series has no data while others do', () => {
    const text = chartTextFallback(resourceUseChart('cpu', { 'policy-engine': minutesOfDay(() => 10), 'audit-engine': [] }));
    expect(text.split('\n')[2]).toBe('audit-engine: no data');
  });
});
