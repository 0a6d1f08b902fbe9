import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { EngineModes } from './contract.js';

export const NORMAL_MODES: EngineModes = Object.freeze({ strict: false, lockdown: false });

export type ModeName = keyof EngineModes;

const StateFile = z.object({
  strict: z.boolean(),
  lockdown: z.boolean(),
  updated_at: z.string().optional(),
  updated_by: z.string().optional(),
  reason: z.string().optional(),
});
type StateFile = z.infer<typeof StateFile>;

export interface ModeChange {
  actor: string;
  reason?: string;
}

export interface ModeStoreOptions {
  stateDir: string;
  redis?: Redis;
  keyPrefix: string;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** Writes a file so that a crash leaves either the old or the new content: temp, fsync, rename. */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

function fromRedisHash(hash: Record<string, string>): EngineModes | undefined {
  if (hash.strict === undefined || hash.lockdown === undefined) return undefined;
  return { strict: hash.strict === '1', lockdown: hash.lockdown === '1' };
}

function sameModes(a: EngineModes, b: EngineModes): boolean {
  return a.strict === b.strict && a.lockdown === b.lockdown;
}

/**
 * Strict mode and emergency lockdown, durable across restarts: a JSON state file, and with
 * Redis a hash that replicas share. Redis wins when reachable; a change made while Redis was
 * down is pushed once it is back instead of being overwritten by the older shared value.
 */
export class ModeStore {
  private modes: EngineModes = { ...NORMAL_MODES };
  private readonly statePath: string;
  private readonly redisKey: string;
  private pushPending = false;
  private timer: NodeJS.Timeout | undefined;
  private lastSyncError: string | undefined;
  // sync() and set() run one at a time: a sync that read Redis before a local change must not
  // apply its stale copy over that change.
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners: Array<(modes: EngineModes) => void> = [];

  constructor(private readonly options: ModeStoreOptions) {
    this.statePath = join(options.stateDir, 'modes.json');
    this.redisKey = `${options.keyPrefix}modes`;
  }

  /** Calls `listener` whenever the effective modes change, from this replica or another one. */
  onChange(listener: (modes: EngineModes) => void): void {
    this.listeners.push(listener);
  }

  private notify(): void {
    for (const listener of this.listeners) listener(this.current);
  }

  get current(): EngineModes {
    return { ...this.modes };
  }

  get path(): string {
    return this.statePath;
  }

  /** Whether the shared copy in Redis is known to match ours (always true without Redis). */
  get inSync(): boolean {
    return !this.options.redis || (!this.pushPending && this.lastSyncError === undefined);
  }

  /** Reads the state file, then Redis. A corrupt state file stops the start rather than lifting a lockdown. */
  async load(): Promise<EngineModes> {
    await mkdir(this.options.stateDir, { recursive: true });
    let text: string | undefined;
    try {
      text = await readFile(this.statePath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text !== undefined) {
      let parsed: StateFile;
      try {
        parsed = StateFile.parse(JSON.parse(text));
      } catch (error) {
        throw new Error(
          `The mode state file ${this.statePath} is corrupt (${(error as Error).message}); fix or delete it to start in normal mode`,
        );
      }
      this.modes = { strict: parsed.strict, lockdown: parsed.lockdown };
    }
    await this.sync();
    return this.current;
  }

  /** Polls Redis every `intervalMs` so that replicas converge on the shared modes. */
  startSync(intervalMs: number): void {
    if (!this.options.redis || this.timer) return;
    this.timer = setInterval(() => {
      void this.sync();
    }, intervalMs);
    this.timer.unref();
  }

  stopSync(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Brings local and shared modes together; never throws (Redis trouble is logged and retried). */
  sync(): Promise<void> {
    return this.exclusive(() => this.syncNow());
  }

  private async syncNow(): Promise<void> {
    const redis = this.options.redis;
    if (!redis) return;
    try {
      if (this.pushPending) {
        await this.push(redis, this.modes);
      } else {
        const shared = fromRedisHash(await redis.hgetall(this.redisKey));
        if (!shared) {
          await this.push(redis, this.modes);
        } else if (!sameModes(shared, this.modes)) {
          this.options.log.info({ from: this.modes, to: shared }, 'modes changed by another replica');
          this.modes = shared;
          await this.writeStateFile({ ...shared, updated_at: new Date().toISOString(), updated_by: 'redis-sync' });
          this.notify();
        }
      }
      if (this.lastSyncError) this.options.log.info({}, 'mode sync with Redis restored');
      this.lastSyncError = undefined;
    } catch (error) {
      if (this.lastSyncError === undefined) {
        this.options.log.warn({ err: error }, 'mode sync with Redis failed; using the local state file');
      }
      this.lastSyncError = (error as Error).message;
    }
  }

  private async push(redis: Redis, modes: EngineModes): Promise<void> {
    await redis.hset(this.redisKey, { strict: modes.strict ? '1' : '0', lockdown: modes.lockdown ? '1' : '0' });
    this.pushPending = false;
  }

  private async writeStateFile(state: StateFile): Promise<void> {
    await writeFileAtomic(this.statePath, `${JSON.stringify(state, null, 2)}\n`);
  }

  /**
   * Sets one mode. The state file is written first: if that fails nothing changes and the
   * error propagates. Redis failures only delay the shared copy.
   */
  set(mode: ModeName, enabled: boolean, change: ModeChange): Promise<{ modes: EngineModes; changed: boolean }> {
    return this.exclusive(() => this.setNow(mode, enabled, change));
  }

  private async setNow(mode: ModeName, enabled: boolean, change: ModeChange): Promise<{ modes: EngineModes; changed: boolean }> {
    const next: EngineModes = { ...this.modes, [mode]: enabled };
    const changed = !sameModes(next, this.modes);
    await this.writeStateFile({
      ...next,
      updated_at: new Date().toISOString(),
      updated_by: change.actor,
      ...(change.reason ? { reason: change.reason } : {}),
    });
    this.modes = next;
    if (changed) this.notify();
    const redis = this.options.redis;
    if (redis) {
      try {
        // One field only, so that two replicas changing different modes at once both win.
        await redis.hset(this.redisKey, mode, enabled ? '1' : '0');
      } catch (error) {
        this.pushPending = true;
        this.options.log.warn({ err: error, mode }, 'could not share the mode change through Redis; will retry');
      }
    }
    return { modes: this.current, changed };
  }
}
