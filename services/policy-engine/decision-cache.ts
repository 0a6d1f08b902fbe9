import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { Decision, type EngineModes, type PolicyInput } from './contract.js';
import { type L2EntryProblem, type L2SigningKey, openL2Entry, sealL2Entry } from './l2-entry-signature.js';

// canonicalize is CommonJS exporting the function itself; its typings claim a default export.
const canonicalize = createRequire(import.meta.url)('canonicalize') as (value: unknown) => string | undefined;

/** A decision as the cache keeps it: the object and its response body, serialized once. */
export interface CachedDecision {
  decision: Decision;
  body: string;
}

export function cachedDecision(decision: Decision): CachedDecision {
  return { decision, body: JSON.stringify({ result: decision }) };
}

/**
 * sha256 of the canonical JSON (RFC 8785) of the validated input, the policy version and the
 * modes: equal inputs share an entry whatever their key order, and a new policy or mode never
 * serves an old decision.
 */
export function decisionCacheKey(input: PolicyInput, policyVersion: string, modes: EngineModes): string {
  const canonical = canonicalize({ input, policy_version: policyVersion, strict: modes.strict, lockdown: modes.lockdown });
  return createHash('sha256').update(canonical ?? '').digest('hex');
}

export interface DecisionCacheOptions {
  l1Max: number;
  /**
   * L2 is used only with both a Redis client (REDIS_URL) and the key its entries are signed
   * with (derived from ACGS_ADMIN_TOKEN): an entry nobody can verify is never trusted.
   */
  l2?: { redis: Redis; signingKey: L2SigningKey };
  /** This engine's key namespace in Redis, e.g. `acgs:policy-engine:`. */
  keyPrefix: string;
  l2TtlSeconds: number;
  onL2Error?: (error: Error, operation: string) => void;
  /** An L2 entry refused for a missing or wrong MAC (it was a miss; the caller evaluates). */
  onL2Rejected?: (cacheKey: string, problem: L2EntryProblem) => void;
}

export interface CacheStats {
  l1: { size: number; max: number; hits: number; misses: number };
  /** `rejected`: entries refused for a missing or wrong MAC, also counted as misses. */
  l2: { enabled: boolean; hits: number; misses: number; errors: number; bypassed: number; rejected: number };
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * Two-level decision cache: an in-process LRU (L1) in front of Redis (L2), which replicas
 * share. L2 is best effort: any Redis failure is counted and the caller evaluates instead.
 * L2 entries carry a MAC (l2-entry-signature.ts) checked on every L2 read; L1 holds only what
 * this process evaluated or verified, so its hits cost nothing more.
 */
export class DecisionCache {
  private readonly l1: LRUCache<string, CachedDecision>;
  private readonly counts = { l1Hits: 0, l1Misses: 0, l2Hits: 0, l2Misses: 0, l2Errors: 0, l2Bypassed: 0, l2Rejected: 0 };
  /** L2 writes waiting for the end of the current turn, sent as one pipeline. */
  private pendingWrites = new Map<string, CachedDecision>();
  private writesFlushed: Promise<void> | undefined;

  constructor(private readonly options: DecisionCacheOptions) {
    this.l1 = new LRUCache({ max: options.l1Max });
  }

  get l2Enabled(): boolean {
    return this.options.l2 !== undefined;
  }

  /** `<prefix>decision:<signing key id>:<cache key>`. */
  private l2Key(l2: { signingKey: L2SigningKey }, key: string): string {
    return `${this.options.keyPrefix}decision:${l2.signingKey.id}:${key}`;
  }

  private l2Failed(error: unknown, operation: string): void {
    this.counts.l2Errors += 1;
    this.options.onL2Error?.(error as Error, operation);
  }

  /** L1 lookup that counts towards the hit rates. */
  lookupL1(key: string): CachedDecision | undefined {
    const entry = this.l1.get(key);
    if (entry) this.counts.l1Hits += 1;
    else this.counts.l1Misses += 1;
    return entry;
  }

  /** L2 lookup that counts towards the hit rates; a hit is copied into L1. */
  async lookupL2(key: string): Promise<CachedDecision | undefined> {
    const l2 = this.options.l2;
    if (!l2) return undefined;
    let raw: string | null;
    try {
      raw = await l2.redis.get(this.l2Key(l2, key));
    } catch (error) {
      this.l2Failed(error, 'get');
      return undefined;
    }
    if (raw === null) {
      this.counts.l2Misses += 1;
      return undefined;
    }
    const opened = openL2Entry(l2.signingKey, key, raw);
    if (!opened.ok) {
      // Written by someone without the key: never served. The caller evaluates and stores the
      // real decision over it.
      this.counts.l2Misses += 1;
      this.counts.l2Rejected += 1;
      this.options.onL2Rejected?.(key, opened.problem);
      return undefined;
    }
    const parsed = (() => {
      try {
        return Decision.safeParse(JSON.parse(opened.json));
      } catch {
        return undefined;
      }
    })();
    if (!parsed?.success) {
      // Unreadable entries are treated like failures: counted, then evaluated afresh.
      this.l2Failed(new Error('L2 entry is not a valid decision'), 'decode');
      return undefined;
    }
    this.counts.l2Hits += 1;
    const entry = cachedDecision(parsed.data);
    this.l1.set(key, entry);
    return entry;
  }

  /** An L1 miss that was evaluated without asking L2 (cheaper than waiting for Redis). */
  noteL2Bypassed(): void {
    this.counts.l2Bypassed += 1;
  }

  /** Present in L1, without touching the statistics (used by the warm-up). */
  hasL1(key: string): boolean {
    return this.l1.has(key);
  }

  /**
   * Stores in L1 at once and in L2 in the background; resolves when L2 has it (or failed).
   * L2 writes wait for the end of the current turn of the event loop (setImmediate) and leave
   * together as one pipeline: under load many misses end in the same turn, and one round trip
   * for all of them costs less than a command each (a command each was ~0.1 ms of every miss).
   */
  store(key: string, entry: CachedDecision): Promise<void> {
    this.l1.set(key, entry);
    if (!this.options.l2) return Promise.resolve();
    this.pendingWrites.set(key, entry);
    this.writesFlushed ??= new Promise<void>((resolve) => setImmediate(() => resolve(this.flushWrites())));
    return this.writesFlushed;
  }

  private async flushWrites(): Promise<void> {
    const writes = this.pendingWrites;
    this.pendingWrites = new Map();
    this.writesFlushed = undefined;
    const l2 = this.options.l2!;
    const pipeline = l2.redis.pipeline();
    for (const [key, entry] of writes) {
      pipeline.set(this.l2Key(l2, key), sealL2Entry(l2.signingKey, key, JSON.stringify(entry.decision)), 'EX', this.options.l2TtlSeconds);
    }
    try {
      const results = (await pipeline.exec()) ?? [];
      for (const [error] of results) if (error) this.l2Failed(error, 'set');
    } catch (error) {
      this.l2Failed(error, 'set');
    }
  }

  clearL1(): number {
    const size = this.l1.size;
    this.l1.clear();
    return size;
  }

  /**
   * Clears L1 and this engine's L2 keys, whatever key signed them (SCAN on the prefix, never
   * FLUSHALL: Redis is shared). Throws when Redis fails; L1 is cleared anyway.
   */
  async clear(): Promise<{ l1: number; l2: number }> {
    const l1 = this.clearL1();
    const redis = this.options.l2?.redis;
    if (!redis) return { l1, l2: 0 };
    let l2 = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${globEscape(this.options.keyPrefix)}decision:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) l2 += await redis.unlink(...keys);
    } while (cursor !== '0');
    return { l1, l2 };
  }

  stats(): CacheStats {
    const c = this.counts;
    return {
      l1: { size: this.l1.size, max: this.options.l1Max, hits: c.l1Hits, misses: c.l1Misses },
      l2: { enabled: this.l2Enabled, hits: c.l2Hits, misses: c.l2Misses, errors: c.l2Errors, bypassed: c.l2Bypassed, rejected: c.l2Rejected },
    };
  }
}
