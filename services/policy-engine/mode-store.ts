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

const MODE_NAMES: readonly ModeName[] = ['strict', 'lockdown'];

/**
 * Brings one replica's modes and the shared hash together in one atomic step, mode by mode.
 * Each mode has a value and an origin: `explicit` (written by an admin change, which wins
 * everywhere, a lift included) or `merged` (seeded by replicas after the key went missing, e.g.
 * Redis restarted empty or evicted it). A merged value is the OR of what every replica knows, so
 * the more restrictive state wins and a fresh replica in normal mode cannot lift a lockdown.
 * A value without an origin (written by an older engine) counts as merged.
 * KEYS[1]: the hash. ARGV per mode (strict, lockdown): local value, '1' if it is an explicit
 * change still to be shared. Returns the shared values. The key gets no expiry.
 */
const SYNC_MODES_SCRIPT = `
local result = {}
for i, mode in ipairs({'strict', 'lockdown'}) do
  local mine = ARGV[2 * i - 1]
  local shared = redis.call('HGET', KEYS[1], mode)
  local origin = redis.call('HGET', KEYS[1], mode .. '_origin')
  if ARGV[2 * i] == '1' then
    redis.call('HSET', KEYS[1], mode, mine, mode .. '_origin', 'explicit')
    shared = mine
  elseif origin ~= 'explicit' or not shared then
    local merged = (shared == '1' or mine == '1') and '1' or '0'
    if merged ~= shared or origin ~= 'merged' then
      redis.call('HSET', KEYS[1], mode, merged, mode .. '_origin', 'merged')
    end
    shared = merged
  end
  result[i] = shared
end
return result
`;

const flag = (enabled: boolean) => (enabled ? '1' : '0');

function sameModes(a: EngineModes, b: EngineModes): boolean {
  return a.strict === b.strict && a.lockdown === b.lockdown;
}

/**
 * Strict mode and emergency lockdown, durable across restarts: a JSON state file, and with
 * Redis a hash that replicas share. An explicit change shared through Redis wins when Redis is
 * reachable; a change made while Redis was down is pushed once it is back instead of being
 * overwritten by the older shared value. When the shared hash is missing, replicas rebuild it
 * from what each knows and the more restrictive state wins (see SYNC_MODES_SCRIPT): only an
 * explicit change (the admin endpoints, audited) ever lifts a mode.
 */
export class ModeStore {
  private modes: EngineModes = { ...NORMAL_MODES };
  private readonly statePath: string;
  private readonly redisKey: string;
  // Explicit changes made while Redis was unreachable, still to be shared.
  private readonly pendingExplicit = new Set<ModeName>();
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
    return !this.options.redis || (this.pendingExplicit.size === 0 && this.lastSyncError === undefined);
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
      const pending = [...this.pendingExplicit];
      const args = MODE_NAMES.flatMap((mode) => [flag(this.modes[mode]), flag(pending.includes(mode))]);
      const reply = (await redis.eval(SYNC_MODES_SCRIPT, 1, this.redisKey, ...args)) as unknown[];
      for (const mode of pending) this.pendingExplicit.delete(mode);
      const shared: EngineModes = { strict: reply[0] === '1', lockdown: reply[1] === '1' };
      if (!sameModes(shared, this.modes)) {
        this.options.log.info({ from: this.modes, to: shared }, 'modes changed through Redis');
        // Listeners (the policy's runtime data) learn of the modes in the same step as `current`
        // shows them: a request in between would evaluate under the old modes and cache that
        // decision under the new modes' key.
        this.modes = shared;
        this.notify();
        await this.writeStateFile({ ...shared, updated_at: new Date().toISOString(), updated_by: 'redis-sync' });
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
        // This mode only, so that two replicas changing different modes at once both win.
        await redis.hset(this.redisKey, mode, flag(enabled), `${mode}_origin`, 'explicit');
        this.pendingExplicit.delete(mode);
      } catch (error) {
        this.pendingExplicit.add(mode);
        this.options.log.warn({ err: error, mode }, 'could not share the mode change through Redis; will retry');
      }
    }
    return { modes: this.current, changed };
  }
}
