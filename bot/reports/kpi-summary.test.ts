/** The KPI verdicts and the night's alerts, on small hand-made series and events. */
import { describe, expect, it } from 'vitest';
import type { MetricSeries } from '../metrics-history/index.js';
import { DAILY_KPIS, summariseKpi } from './kpi-summary.js';
import { nightAlerts } from './night-alerts.js';

const kpi = (metric: string) => DAILY_KPIS.find((one) => one.metric === metric)!;
const series = (service: string, values: number[]): MetricSeries => ({
  metric: 'cache_hit_rate_percent',
  service: service as MetricSeries['service'],
  resolution: 'minute',
  stepMs: 60_000,
  // Two values an hour: 30 minutes apart.
  points: values.map((value, index) => ({ time: new Date(Date.UTC(2026, 11, 7, Math.floor(index / 2), (index % 2) * 30)), value })),
});

describe('summariseKpi', () => {
  it('fails a day whose average is on the wrong side, for a threshold breached below', () => {
    expect(summariseKpi(kpi('cache_hit_rate_percent'), [series('policy-engine', [90, 92, 94, 96])])).toMatchObject({ value: 93, tone: 'fail', worst_hour: { start: '2026-12-07T00:00:00.000Z', value: 91 } });
  });

  it('warns when only the worst hour crossed, and names the worst service', () => {
    const found = summariseKpi(kpi('cpu_percent'), [series('policy-engine', [10, 10, 10, 10]), series('audit-engine', [20, 20, 90, 90])]);
    expect(found).toMatchObject({ value: 55, service: 'audit-engine', tone: 'warn', worst_hour: { start: '2026-12-07T01:00:00.000Z', value: 90, service: 'audit-engine' } });
  });

  it('passes exactly at the threshold: only beyond it is a breach', () => {
    expect(summariseKpi(kpi('p99_latency_ms'), [series('policy-engine', [5, 5])]).tone).toBe('ok');
  });

  it('says nothing was measured for no series or series without points', () => {
    expect(summariseKpi(kpi('memory_percent'), [])).toMatchObject({ value: null, worst_hour: null, tone: 'info' });
    expect(summariseKpi(kpi('memory_percent'), [series('policy-engine', [])])).toMatchObject({ value: null, tone: 'info' });
  });
});

describe('nightAlerts', () => {
  const event = (alertId: string, at: string, kind: string, state: 'firing' | 'acknowledged' | 'resolved', actor: string | null = null) => ({ alertId, rule: 'ServiceDown', service: 'audit-engine', at, kind, state, actor, value: null, silenced: false, details: null });

  it('tells how each alert ended from its last event, whatever order the history comes in', () => {
    const alerts = nightAlerts([
      event('2', '2026-12-07T03:00:00Z', 'fired', 'firing'),
      event('1', '2026-12-07T01:10:00Z', 'resolved', 'resolved', 'level-1'),
      event('1', '2026-12-07T01:00:00Z', 'fired', 'firing'),
      event('3', '2026-12-07T02:05:00Z', 'acknowledged', 'acknowledged', 'U0ONCALL'),
    ]);
    expect(alerts).toEqual([
      { id: '3', rule: 'ServiceDown', service: 'audit-engine', fired_at: null, state: 'acknowledged', by: 'U0ONCALL', ended_at: null },
      { id: '1', rule: 'ServiceDown', service: 'audit-engine', fired_at: '2026-12-07T01:00:00Z', state: 'resolved', by: 'level-1', ended_at: '2026-12-07T01:10:00Z' },
      { id: '2', rule: 'ServiceDown', service: 'audit-engine', fired_at: '2026-12-07T03:00:00Z', state: 'firing', by: null, ended_at: null },
    ]);
  });

  it('has nothing to tell for no events', () => {
    expect(nightAlerts([])).toEqual([]);
  });
});
