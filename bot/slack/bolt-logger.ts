/**
 * Bolt (and its Web API and Socket Mode clients) log through this adapter into our pino logger,
 * so the bot writes one JSON log with one level setting.
 */
import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger as PinoLogger } from 'pino';

export function boltLogger(logger: PinoLogger): BoltLogger {
  let child = logger.child({ component: 'slack' });
  const line = (parts: unknown[]) => parts.map((part) => (part instanceof Error ? part.message : typeof part === 'string' ? part : JSON.stringify(part))).join(' ');
  return {
    debug: (...parts) => child.debug(line(parts)),
    info: (...parts) => child.info(line(parts)),
    warn: (...parts) => child.warn(line(parts)),
    error: (...parts) => child.error(line(parts)),
    // Our LOG_LEVEL decides; Bolt's attempts to change it are ignored on purpose.
    setLevel: () => undefined,
    getLevel: () => {
      const level = child.level;
      return level === 'debug' || level === 'trace' ? LogLevel.DEBUG : level === 'warn' ? LogLevel.WARN : level === 'error' || level === 'fatal' ? LogLevel.ERROR : LogLevel.INFO;
    },
    setName: (name) => {
      child = logger.child({ component: `slack:${name}` });
    },
  };
}
