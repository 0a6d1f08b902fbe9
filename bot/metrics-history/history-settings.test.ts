/** Which history the environment selects, and the sampler's settings; a bad value names its variable. */
import { expect, it } from 'vitest';
import { historySettingsFromEnv } from './history-settings.js';

const DAY = 24 * 3600_000;

it('runs the embedded sampler every minute, keeping 7 days of minutes and 400 of hours, when nothing is set', () => {
  expect(historySettingsFromEnv({})).toEqual({ kind: 'embedded', intervalMs: 60_000, retention: { minuteMs: 7 * DAY, hourMs: 400 * DAY } });
});

it('takes the sampler\'s interval and retention from the environment', () => {
  expect(historySettingsFromEnv({ ACGS_METRICS_SAMPLE_SECONDS: '30', ACGS_METRICS_MINUTE_DAYS: '2', ACGS_METRICS_HOUR_DAYS: '90' })).toEqual({
    kind: 'embedded',
    intervalMs: 30_000,
    retention: { minuteMs: 2 * DAY, hourMs: 90 * DAY },
  });
});

it('reads Prometheus when PROMETHEUS_URL is set', () => {
  expect(historySettingsFromEnv({ PROMETHEUS_URL: 'http://127.0.0.1:9090' })).toEqual({ kind: 'prometheus', url: 'http://127.0.0.1:9090' });
});

it.each([
  ['PROMETHEUS_URL', 'prometheus:9090'],
  ['PROMETHEUS_URL', 'ftp://127.0.0.1:9090'],
  ['ACGS_METRICS_SAMPLE_SECONDS', '1'],
  ['ACGS_METRICS_SAMPLE_SECONDS', '1e3'],
  ['ACGS_METRICS_MINUTE_DAYS', '0'],
  ['ACGS_METRICS_HOUR_DAYS', '-5'],
])('refuses %s=%s, naming it', (name, value) => {
  expect(() => historySettingsFromEnv({ [name]: value })).toThrow(name);
});
