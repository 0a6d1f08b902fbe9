import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { type PeriodicJob, startPeriodicJob } from '../kit/periodic.js';
import type { EngineModes } from './contract.js';
import { SignedModeChange, signModeChange } from './mode-signature.js';
import { entryFields, explicitEntry, type ModePlan, planMode, readEntry, type SharedEntry } from './shared-mode-plan.js';

export const NORMAL_MODES: EngineModes = Object.freeze({ strict: false, lockdown: false });

export type ModeName = keyof EngineModes;

const StateFile = z.object({
  strict: z.boolean(),
  lockdown: z.boolean(),
  updated_at: z.string().optional(),
  updated_by: z.string().optional(),
  reason: z.string().optional(),
  /** The newest signed explicit change known per mode: what an older change from Redis is checked against. */
  explicit: z.object({ strict: SignedModeChange.optional(), lockdown: SignedModeChange.optional() }).optional(),
});
type StateFile = z.infer<typeof StateFile>;

export interface ModeChange {
  actor: string;
  reason?: string;
}

/** An event for the Audit Engine: a mode taken over from Redis, or a shared entry refused. */
export interface ModeAuditEvent {
  event_type: 'policy_mode_adopted' | 'policy_mode_change_rejected';
  severity: 'warning' | 'critical';
  data: Record<string, unknown>;
}

export interface ModeStoreOptions {
  stateDir: string;
  redis?: Redis;
  keyPrefix: string;
  /**
   * Signs explicit changes shared through Redis and verifies those of other replicas (the admin
   * token). Without it this replica takes no explicit change from Redis, only merged values.
   */
  signingKey?: string;
  /** Names this replica in signed changes and audit events. */
  replica?: string;
  /** Every mode adopted from Redis and every shared entry refused goes here (the audit outbox). */
  audit?: (event: ModeAuditEvent) => void;
  /** Milliseconds since the epoch, for the signed time of a change. */
  clock?: () => number;
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
 * Compare-and-set on fields of one hash, so that a replica writes what it decided only if
 * nobody changed the entries it decided on since it read them (else it decides again on the
 * next sync). The decision itself is made in Node: verifying a signature needs the admin token,
 * which must never be sent to Redis. KEYS[1]: the hash. ARGV[1]: n; then n pairs (field, value
 * read, '' for missing); then pairs (field, new value, '' to delete). Returns 1 when written.
 * The key gets no expiry.
 */
const COMPARE_AND_SET_SCRIPT = `
local n = tonumber(ARGV[1])
for i = 0, n - 1 do
  local actual = redis.call('HGET', KEYS[1], ARGV[2 + 2 * i]) or ''
  if actual ~= ARGV[3 + 2 * i] then return 0 end
end
for i = 2 + 2 * n, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[1], ARGV[i]) else redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 1
`;

function sameModes(a: EngineModes, b: EngineModes): boolean {
  return a.strict === b.strict && a.lockdown === b.lockdown;
}

/** What an audit event shows of an entry read from Redis (anyone with Redis access wrote it: clipped). */
function describeEntry(entry: SharedEntry): Record<string, string> {
  const clip = (text: string) => (text.length > 64 ? `${text.slice(0, 64)}…` : text);
  return { value: clip(entry['']), origin: clip(entry._origin), at: clip(entry._at), by: clip(entry._by) };
}

function changedAt(change: SignedModeChange): string {
  return new Date(change.at).toISOString();
}

/**
 * Strict mode and emergency lockdown, durable across restarts: a JSON state file, and with
 * Redis a hash that replicas share. An explicit change (the admin endpoints, audited) is shared
 * signed with the admin token and wins on every replica, a lift included, unless a newer signed
 * change exists; an entry without a valid signature, or older than the change a replica knows,
 * is refused, logged, audited and overwritten with what the replica holds. When the shared hash
 * is missing, replicas rebuild it from what each knows and the more restrictive state wins:
 * only a signed explicit change ever lifts a mode. Each mode a replica takes over from Redis is
 * an audit event. See shared-mode-plan.ts for the rules.
 */
export class ModeStore {
  private modes: EngineModes = { ...NORMAL_MODES };
  private known: Partial<Record<ModeName, SignedModeChange>> = {};
  private readonly statePath: string;
  private readonly redisKey: string;
  private readonly replica: string;
  private readonly clock: () => number;
  // Explicit changes made while Redis was unreachable, still to be shared.
  private readonly pendingExplicit = new Set<ModeName>();
  // The refused entry last reported per mode: a refused entry left in place is reported once.
  private readonly reported: Partial<Record<ModeName, string>> = {};
  private syncRounds: PeriodicJob | undefined;
  private lastSyncError: string | undefined;
  // sync() and set() run one at a time: a sync that read Redis before a local change must not
  // apply its stale copy over that change.
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners: Array<(modes: EngineModes) => void> = [];

  constructor(private readonly options: ModeStoreOptions) {
    this.statePath = join(options.stateDir, 'modes.json');
    this.redisKey = `${options.keyPrefix}modes`;
    this.replica = options.replica ?? `pid-${process.pid}`;
    this.clock = options.clock ?? (() => Date.now());
    if (options.redis && !options.signingKey) {
      options.log.warn({}, 'no ACGS_ADMIN_TOKEN: explicit mode changes from other replicas cannot be verified and are not taken from Redis');
    }
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
      this.known = { ...parsed.explicit };
    }
    await this.sync();
    return this.current;
  }

  /** Polls Redis `intervalMs` after each sync ends, so that replicas converge on the shared modes. */
  startSync(intervalMs: number): void {
    if (!this.options.redis || this.syncRounds) return;
    this.syncRounds = startPeriodicJob({
      firstRunAfterMs: intervalMs,
      intervalMs,
      run: () => this.sync(),
      // sync() logs Redis trouble itself and never throws.
      onError: (error) => this.options.log.warn({ err: error }, 'mode sync failed'),
    });
  }

  /** Stops polling; resolves once a sync in progress has ended. */
  async stopSync(): Promise<void> {
    const rounds = this.syncRounds;
    this.syncRounds = undefined;
    await rounds?.stop();
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
      const hash = await redis.hgetall(this.redisKey);
      const plans = MODE_NAMES.map((mode) => {
        const entry = readEntry(hash, mode);
        const local = { value: this.modes[mode], known: this.known[mode], pending: this.pendingExplicit.has(mode) };
        return { mode, entry, plan: planMode(mode, entry, local, this.options.signingKey) };
      });
      for (const { mode, entry, plan } of plans) this.reportRefused(mode, entry, plan);
      const writes = plans.filter(({ plan }) => plan.write);
      if (writes.length > 0) {
        const compared = writes.flatMap(({ mode, entry }) => Object.entries(entryFields(mode, entry)).flat());
        const written = writes.flatMap(({ mode, plan }) => Object.entries(entryFields(mode, plan.write!)).flat());
        const stored = await redis.eval(COMPARE_AND_SET_SCRIPT, 1, this.redisKey, String(compared.length / 2), ...compared, ...written);
        // Someone wrote in between: decide again on what they wrote, at the next sync.
        if (stored !== 1) return;
      }
      for (const { mode } of writes) this.pendingExplicit.delete(mode);
      await this.adopt(plans);
      if (this.lastSyncError) this.options.log.info({}, 'mode sync with Redis restored');
      this.lastSyncError = undefined;
    } catch (error) {
      if (this.lastSyncError === undefined) {
        this.options.log.warn({ err: error }, 'mode sync with Redis failed; using the local state file');
      }
      this.lastSyncError = (error as Error).message;
    }
  }

  /** Takes over the values the plans adopt; each mode that changes is logged and audited. */
  private async adopt(plans: Array<{ mode: ModeName; plan: ModePlan }>): Promise<void> {
    const before = this.current;
    const next = { ...this.modes };
    let knownChanged = false;
    for (const { mode, plan } of plans) {
      if (!plan.adopt) continue;
      next[mode] = plan.adopt.value;
      if (plan.adopt.change) {
        this.known[mode] = plan.adopt.change;
        knownChanged = true;
      }
      // A newer change made elsewhere supersedes the one this replica still had to share.
      this.pendingExplicit.delete(mode);
    }
    if (sameModes(next, before) && !knownChanged) return;
    if (!sameModes(next, before)) {
      this.options.log.info({ from: before, to: next }, 'modes changed through Redis');
      // Listeners (the policy's runtime data) learn of the modes in the same step as `current`
      // shows them: a request in between would evaluate under the old modes and cache that
      // decision under the new modes' key.
      this.modes = next;
      this.notify();
      for (const { mode, plan } of plans) {
        if (!plan.adopt || before[mode] === plan.adopt.value) continue;
        const change = plan.adopt.change;
        this.options.audit?.({
          event_type: 'policy_mode_adopted',
          severity: 'warning',
          data: {
            mode,
            enabled: plan.adopt.value,
            origin: plan.adopt.origin,
            ...(change ? { changed_at: changedAt(change), changed_by: change.replica } : {}),
            replica: this.replica,
            modes: next,
          },
        });
      }
    }
    await this.writeStateFile({ ...this.modes, updated_at: new Date().toISOString(), updated_by: 'redis-sync' });
  }

  /** Logs and audits a shared entry the plan refused, once for as long as that same entry stays. */
  private reportRefused(mode: ModeName, entry: SharedEntry, plan: ModePlan): void {
    if (!plan.reject) {
      delete this.reported[mode];
      return;
    }
    const fingerprint = JSON.stringify(entry);
    if (this.reported[mode] === fingerprint) return;
    this.reported[mode] = fingerprint;
    const seen = describeEntry(entry);
    this.options.log.warn({ mode, seen, problem: plan.reject, kept: this.modes[mode] }, 'refused a mode change found in Redis');
    this.options.audit?.({
      event_type: 'policy_mode_change_rejected',
      severity: 'critical',
      data: { mode, seen, problem: plan.reject, kept: this.modes[mode], replica: this.replica, modes: this.current },
    });
  }

  private async writeStateFile(state: Omit<StateFile, 'explicit'>): Promise<void> {
    const explicit = Object.keys(this.known).length > 0 ? { explicit: this.known } : {};
    await writeFileAtomic(this.statePath, `${JSON.stringify({ ...state, ...explicit }, null, 2)}\n`);
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
    const key = this.options.signingKey;
    // Later than any change this replica knows, even if its clock is behind the replica that made it.
    const signed = key
      ? signModeChange(key, mode, { value: enabled, at: Math.max(this.clock(), (this.known[mode]?.at ?? 0) + 1), replica: this.replica })
      : undefined;
    const previousKnown = this.known[mode];
    if (signed) this.known[mode] = signed;
    try {
      await this.writeStateFile({
        ...next,
        updated_at: new Date().toISOString(),
        updated_by: change.actor,
        ...(change.reason ? { reason: change.reason } : {}),
      });
    } catch (error) {
      if (previousKnown) this.known[mode] = previousKnown;
      else delete this.known[mode];
      throw error;
    }
    this.modes = next;
    if (changed) this.notify();
    const redis = this.options.redis;
    if (redis && !signed) {
      this.options.log.warn({ mode }, 'the mode change is not shared through Redis: there is no ACGS_ADMIN_TOKEN to sign it with');
    } else if (redis && signed) {
      try {
        // This mode only, so that two replicas changing different modes at once both win.
        await redis.hset(this.redisKey, entryFields(mode, explicitEntry(signed)));
        this.pendingExplicit.delete(mode);
      } catch (error) {
        this.pendingExplicit.add(mode);
        this.options.log.warn({ err: error, mode }, 'could not share the mode change through Redis; will retry');
      }
    }
    return { modes: this.current, changed };
  }
}
