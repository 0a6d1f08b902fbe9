import { expect, it } from 'vitest';
import { alertSwitchesFromEnv } from './alert-switches.js';

it('runs the built-in monitor and Level 1 unless told otherwise', () => {
  expect(alertSwitchesFromEnv({})).toEqual({ monitor: true, levelOne: true });
  expect(alertSwitchesFromEnv({ ACGS_ALERT_MONITOR: '', ACGS_ALERT_LEVEL_ONE: 'on' })).toEqual({ monitor: true, levelOne: true });
  expect(alertSwitchesFromEnv({ ACGS_ALERT_MONITOR: 'off', ACGS_ALERT_LEVEL_ONE: 'off' })).toEqual({ monitor: false, levelOne: false });
});

it('refuses anything but on or off, naming the variable', () => {
  expect(() => alertSwitchesFromEnv({ ACGS_ALERT_MONITOR: 'false', ACGS_ALERT_LEVEL_ONE: 'yes' })).toThrow(
    'Invalid alerts configuration: ACGS_ALERT_MONITOR: must be on or off (got "false"); ACGS_ALERT_LEVEL_ONE: must be on or off (got "yes")',
  );
});
