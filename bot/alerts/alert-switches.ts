/**
 * Which of the bot's own alert sources and actions run: the built-in monitor (off when Prometheus
 * and Alertmanager are the source, so that one condition does not make two alerts under two
 * fingerprints) and Level 1 auto-resolution (off to let people do everything). Both default on.
 */
import { z } from 'zod';
import { parseEnv } from '../../services/kit/env.js';

export interface AlertSwitches {
  /** ACGS_ALERT_MONITOR: the built-in monitor, under the lease `alert-monitor`. */
  monitor: boolean;
  /** ACGS_ALERT_LEVEL_ONE: Level 1 auto-resolution of alerts from either source. */
  levelOne: boolean;
}

const OnOff = z.enum(['on', 'off'], { error: 'must be on or off' }).optional();

const SwitchesEnv = z.object({ ACGS_ALERT_MONITOR: OnOff, ACGS_ALERT_LEVEL_ONE: OnOff });

export function alertSwitchesFromEnv(env: Record<string, string | undefined>): AlertSwitches {
  const parsed = parseEnv(SwitchesEnv, 'alerts', env);
  return { monitor: parsed.ACGS_ALERT_MONITOR !== 'off', levelOne: parsed.ACGS_ALERT_LEVEL_ONE !== 'off' };
}
