import { type KeyObject, createHash, createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';

/**
 * MACs on the L2 decision cache's entries. Redis is shared and whoever can write to it could
 * otherwise plant an "allow" for an input the constitution denies, which every replica would
 * then serve. An entry is `<hex HMAC-SHA256>.<decision JSON>`, the MAC taken over the cache key
 * (which binds the input, the policy version and the modes) and the exact stored JSON, so
 * neither a forged decision nor a valid one copied onto another key passes.
 */

// A purpose of its own, so that this key differs from the mode-signing one although both come
// from the admin token: a MAC made for one use never verifies in the other.
const PURPOSE = 'acgs-l2-cache-v1';
const MAC_BYTES = 32;
const MAC_HEX = MAC_BYTES * 2;

export interface L2SigningKey {
  readonly secret: KeyObject;
  /**
   * Public fingerprint of the key, part of the Redis key names: replicas with another admin
   * token (a rotation, an upgrade from unsigned entries) never look at each other's entries,
   * so what they wrote is a plain miss and not reported as forged.
   */
  readonly id: string;
}

/** Why an entry read from L2 was refused. */
export type L2EntryProblem = 'unsigned' | 'wrong MAC';

export type OpenedL2Entry = { ok: true; json: string } | { ok: false; problem: L2EntryProblem };

/** HMAC-SHA256(admin token, "acgs-l2-cache-v1"): shared by the replicas, unknown to Redis. */
export function deriveL2SigningKey(adminToken: string): L2SigningKey {
  const derived = createHmac('sha256', adminToken).update(PURPOSE).digest();
  return {
    secret: createSecretKey(derived),
    id: createHash('sha256').update(derived).digest('hex').slice(0, 16),
  };
}

function mac(key: L2SigningKey, cacheKey: string, json: string): Buffer {
  // The cache key is 64 hex digits, so the newline cannot be part of it: no two (key, json)
  // pairs give the same MAC input.
  return createHmac('sha256', key.secret).update(cacheKey).update('\n').update(json).digest();
}

/** The value stored in Redis for `json` under `cacheKey`. */
export function sealL2Entry(key: L2SigningKey, cacheKey: string, json: string): string {
  return `${mac(key, cacheKey, json).toString('hex')}.${json}`;
}

/** Checks an entry read from Redis in constant time; its JSON only when the MAC is right. */
export function openL2Entry(key: L2SigningKey, cacheKey: string, raw: string): OpenedL2Entry {
  if (raw.length <= MAC_HEX || raw.charCodeAt(MAC_HEX) !== 0x2e /* . */) return { ok: false, problem: 'unsigned' };
  // Buffer.from stops at the first character that is not hex, so a full length means all are.
  const given = Buffer.from(raw.slice(0, MAC_HEX), 'hex');
  if (given.length !== MAC_BYTES) return { ok: false, problem: 'unsigned' };
  const json = raw.slice(MAC_HEX + 1);
  return timingSafeEqual(given, mac(key, cacheKey, json)) ? { ok: true, json } : { ok: false, problem: 'wrong MAC' };
}
