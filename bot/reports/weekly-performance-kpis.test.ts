/** The weekly judgements, pure: week against week on the KPI's side of its threshold, and what a degradation trend is. */
import { describe, expect, it } from 'vitest';
import type { MetricSeries } from '../metrics-history/index.js';
import { DAILY_KPIS } from './kpi-summary.js';
import { compareWeeks, degradationTrends } from './weekly-performance-kpis.js';

const LAST = new Date('2026-11-23T06:00:00Z');
const THIS = new Date('2026-11-30T06:00:00Z');
const kpi = (metric: string) => DAILY_KPIS.find((one) => one.metric === metric)!;
const series = (service: string, values: Array<[Date, number]>): MetricSeries => ({ metric: 'cpu_percent', service: service as never, resolution: 'hour', stepMs: 0, points: values.map(([time, value]) => ({ time, value })) });
const days = (service: string, values: number[]) => series(service, values.map((value, index) => [new Date(THIS.getTime() + index * 86_400_000), value]));

describe('compareWeeks', () => {
  it('judges a falling hit rate worse and a falling latency better', () => {
    expect(compareWeeks(kpi('cache_hit_rate_percent'), [series('policy-engine', [[LAST, 98], [THIS, 96]])], { last: LAST, this: THIS })).toMatchObject({ change: -2, verdict: 'worse', tone: 'ok' });
    expect(compareWeeks(kpi('p99_latency_ms'), [series('policy-engine', [[LAST, 3], [THIS, 2]])], { last: LAST, this: THIS })).toMatchObject({ change: -1, verdict: 'better', tone: 'ok' });
  });

  it('warns at a regression of a tenth, fails over the threshold, and compares the worst service with itself', () => {
    const cpu = compareWeeks(kpi('cpu_percent'), [series('policy-engine', [[LAST, 50], [THIS, 54]]), series('audit-engine', [[LAST, 60], [THIS, 66]])], { last: LAST, this: THIS });
    expect(cpu).toMatchObject({ service: 'audit-engine', this_week: 66, last_week: 60, tone: 'warn' });
    expect(cpu.change_percent).toBeCloseTo(10, 6);
    expect(compareWeeks(kpi('cpu_percent'), [series('audit-engine', [[LAST, 90], [THIS, 85]])], { last: LAST, this: THIS })).toMatchObject({ verdict: 'better', tone: 'fail' });
  });

  it('says when a week has no samples', () => {
    expect(compareWeeks(kpi('memory_percent'), [series('policy-engine', [[LAST, 40]])], { last: LAST, this: THIS })).toMatchObject({ this_week: null, last_week: 40, verdict: 'no data', tone: 'info' });
    expect(compareWeeks(kpi('memory_percent'), [series('policy-engine', [[THIS, 40]])], { last: LAST, this: THIS })).toMatchObject({ this_week: 40, last_week: null, change: null, verdict: 'no data', tone: 'ok' });
    expect(compareWeeks(kpi('memory_percent'), [], { last: LAST, this: THIS })).toMatchObject({ this_week: null, last_week: null, tone: 'info' });
  });
});

describe('degradationTrends', () => {
  it('counts the days in a row that got worse up to the last, and needs three of them and a change that matters', () => {
    expect(degradationTrends(kpi('p99_latency_ms'), [days('policy-engine', [1, 1, 1, 1, 2, 3, 4])])[0]).toMatchObject({ worsening_days: 3, degrading: true });
    expect(degradationTrends(kpi('p99_latency_ms'), [days('policy-engine', [1, 2, 3, 4, 5, 6, 5])])[0]).toMatchObject({ worsening_days: 0, degrading: false });
    expect(degradationTrends(kpi('p99_latency_ms'), [days('policy-engine', [1, 1, 1, 1, 1.001, 1.002, 1.003])])[0]).toMatchObject({ worsening_days: 3, degrading: false });
    // A hit rate degrades downwards.
    expect(degradationTrends(kpi('cache_hit_rate_percent'), [days('policy-engine', [99, 99, 99, 98, 96, 93, 90])])[0]).toMatchObject({ worsening_days: 4, degrading: true });
  });

  it('leaves out a service without samples this week', () => {
    expect(degradationTrends(kpi('cpu_percent'), [days('policy-engine', []), days('audit-engine', [10])])).toMatchObject([{ service: 'audit-engine', worsening_days: 0, degrading: false }]);
  });
});
