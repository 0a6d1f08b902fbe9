/** What the trail last saw of PostgreSQL: up, down (and why), or not yet known. */
import { describeFailure } from './trail-failures.js';

export interface TrailDatabaseLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface TrailDatabaseState {
  state(): 'unknown' | 'up' | 'down';
  /** Why the last write failed, while PostgreSQL counts as down. */
  lastError(): string | undefined;
  /** True when a write or probe succeeded within the last `ms`. */
  answeredWithin(ms: number): boolean;
  markUp(): void;
  markDown(error: unknown): void;
}

/** `waiting` counts the spooled records, for the log lines. */
export function createDatabaseState(waiting: () => number, log?: TrailDatabaseLog): TrailDatabaseState {
  let state: 'unknown' | 'up' | 'down' = 'unknown';
  let lastError: string | undefined;
  let lastOkAt = 0;
  return {
    state: () => state,
    lastError: () => lastError,
    answeredWithin: (ms) => Date.now() - lastOkAt <= ms,
    markUp() {
      if (state !== 'up' && state !== 'unknown') log?.info({ waiting: waiting() }, 'audit trail: PostgreSQL is back');
      state = 'up';
      lastError = undefined;
      lastOkAt = Date.now();
    },
    markDown(error) {
      const reason = describeFailure(error);
      if (state !== 'down') log?.warn({ reason, waiting: waiting() }, 'audit trail: writing to PostgreSQL failed; records are spooled');
      state = 'down';
      lastError = reason;
    },
  };
}
