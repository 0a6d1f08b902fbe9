import { describe, expect, it } from 'vitest';
import { alertSettingsFromEnv, DEFAULT_ALERT_SETTINGS } from './alert-settings.js';

describe('alert settings', () => {
  it('default to a 2 s monitor beat, a 3 s health deadline and more than 4 changes in 10 minutes as flapping', () => {
    expect(alertSettingsFromEnv({})).toEqual({ monitorIntervalMs: 2000, monitorTimeoutMs: 3000, flappingChanges: 4, flappingWindowMs: 600_000 });
    expect(alertSettingsFromEnv({ ACGS_ALERT_MONITOR_INTERVAL_MS: '' })).toEqual(DEFAULT_ALERT_SETTINGS);
  });

  it('take each from its environment variable', () => {
    expect(alertSettingsFromEnv({ ACGS_ALERT_MONITOR_INTERVAL_MS: '500', ACGS_ALERT_MONITOR_TIMEOUT_MS: '750', ACGS_ALERT_FLAPPING_CHANGES: '6', ACGS_ALERT_FLAPPING_WINDOW_SECONDS: '120' })).toEqual({
      monitorIntervalMs: 500,
      monitorTimeoutMs: 750,
      flappingChanges: 6,
      flappingWindowMs: 120_000,
    });
  });

  it('refuse a value that is not a whole number in range, naming the variable', () => {
    expect(() => alertSettingsFromEnv({ ACGS_ALERT_MONITOR_INTERVAL_MS: '2s', ACGS_ALERT_FLAPPING_CHANGES: '0' })).toThrow(
      'Invalid alerts configuration: ACGS_ALERT_MONITOR_INTERVAL_MS: must be a whole number from 100 to 600000 (got "2s"); ACGS_ALERT_FLAPPING_CHANGES: must be a whole number from 1 to 1000 (got "0")',
    );
    expect(() => alertSettingsFromEnv({ ACGS_ALERT_MONITOR_TIMEOUT_MS: '99' })).toThrow('ACGS_ALERT_MONITOR_TIMEOUT_MS: must be a whole number from 100 to 60000 (got "99")');
    expect(() => alertSettingsFromEnv({ ACGS_ALERT_MONITOR_TIMEOUT_MS: '3 s' })).toThrow('ACGS_ALERT_MONITOR_TIMEOUT_MS: must be a whole number from 100 to 60000 (got "3 s")');
  });
});
