/**
 * The deploy, hotfix and rollback runbooks' settings: how long the post-deploy watch lasts and
 * samples, how long a new replica may take to be healthy, how much disk a deploy needs. The
 * runbook's values are the defaults; each is an environment variable so that an operator (or a
 * test) can shorten or lengthen them without a code change. A bad value stops the bot's start
 * with the variable's name: a deploy must never find out at 3 a.m. that its watch is NaN minutes.
 */

export interface DeploySettings {
  /** The post-deploy watch: 15 minutes in the runbook. */
  watchMs: number;
  /** One watch sample every 15 s. */
  watchEveryMs: number;
  /** The hotfix's shorter watch on the critical metrics: 5 minutes. */
  hotfixWatchMs: number;
  /** How long each new replica may take to become healthy before its service is rolled back. */
  healthTimeoutMs: number;
  /** The free disk space a deploy needs where releases and its backup are written. */
  minFreeDiskBytes: number;
}

export const DEFAULT_DEPLOY_SETTINGS: Readonly<DeploySettings> = {
  watchMs: 15 * 60_000,
  watchEveryMs: 15_000,
  hotfixWatchMs: 5 * 60_000,
  healthTimeoutMs: 60_000,
  minFreeDiskBytes: 1024 ** 3,
};

export interface DeploySettingsEnv {
  ACGS_DEPLOY_WATCH_SECONDS?: string | undefined;
  ACGS_DEPLOY_WATCH_EVERY_SECONDS?: string | undefined;
  ACGS_HOTFIX_WATCH_SECONDS?: string | undefined;
  ACGS_DEPLOY_HEALTH_TIMEOUT_SECONDS?: string | undefined;
  ACGS_DEPLOY_MIN_FREE_DISK_MB?: string | undefined;
}

/** A deploy setting that cannot be used; the message names the variable and what it accepts. */
export class DeploySettingsError extends Error {
  override readonly name = 'DeploySettingsError';
}

function number(env: DeploySettingsEnv, name: keyof DeploySettingsEnv, unit: number, fallback: number, range: { min: number; max: number; words: string }): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !Number.isFinite(value) || value < range.min || value > range.max) {
    throw new DeploySettingsError(`${name}=${JSON.stringify(raw.slice(0, 40))} is not ${range.words}`);
  }
  return Math.round(value * unit);
}

export function deploySettingsFromEnv(env: DeploySettingsEnv): DeploySettings {
  const settings: DeploySettings = {
    watchMs: number(env, 'ACGS_DEPLOY_WATCH_SECONDS', 1000, DEFAULT_DEPLOY_SETTINGS.watchMs, { min: 1, max: 24 * 3600, words: 'a number of seconds from 1 to 86400 (the runbook says 900)' }),
    watchEveryMs: number(env, 'ACGS_DEPLOY_WATCH_EVERY_SECONDS', 1000, DEFAULT_DEPLOY_SETTINGS.watchEveryMs, { min: 0.1, max: 3600, words: 'a number of seconds from 0.1 to 3600 (the runbook says 15)' }),
    hotfixWatchMs: number(env, 'ACGS_HOTFIX_WATCH_SECONDS', 1000, DEFAULT_DEPLOY_SETTINGS.hotfixWatchMs, { min: 1, max: 24 * 3600, words: 'a number of seconds from 1 to 86400 (the runbook says 300)' }),
    healthTimeoutMs: number(env, 'ACGS_DEPLOY_HEALTH_TIMEOUT_SECONDS', 1000, DEFAULT_DEPLOY_SETTINGS.healthTimeoutMs, { min: 1, max: 3600, words: 'a number of seconds from 1 to 3600 (default 60)' }),
    minFreeDiskBytes: number(env, 'ACGS_DEPLOY_MIN_FREE_DISK_MB', 1024 ** 2, DEFAULT_DEPLOY_SETTINGS.minFreeDiskBytes, { min: 0, max: 1024 ** 3, words: 'a number of megabytes (default 1024)' }),
  };
  if (settings.watchEveryMs > settings.watchMs) {
    throw new DeploySettingsError(`ACGS_DEPLOY_WATCH_EVERY_SECONDS (${settings.watchEveryMs / 1000}) is longer than the watch itself (ACGS_DEPLOY_WATCH_SECONDS, ${settings.watchMs / 1000}): the watch would take no sample`);
  }
  return settings;
}
