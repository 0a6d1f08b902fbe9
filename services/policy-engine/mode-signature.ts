import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * An explicit mode change as shared through Redis: who can write to Redis must not be able to
 * lift a lockdown, so each change carries an HMAC-SHA256 made with the admin token (only the
 * admin endpoints, which require that token, create changes). The signed time orders changes,
 * so that an older signed change copied back into Redis cannot override a newer one.
 */
export const SignedModeChange = z.object({
  value: z.boolean(),
  /** Milliseconds since the epoch, from the replica that made the change. */
  at: z.number().int().nonnegative(),
  /** The replica that made the change. */
  replica: z.string().min(1).max(256),
  /** Hex HMAC-SHA256 over (mode, value, at, replica). */
  sig: z.string().regex(/^[0-9a-f]{64}$/),
});
export type SignedModeChange = z.infer<typeof SignedModeChange>;

// Binds the MAC to this purpose: the admin token may one day sign other things.
const PURPOSE = 'acgs-policy-engine/mode-change/v1';

function mac(key: string, mode: string, value: boolean, at: number, replica: string): Buffer {
  return createHmac('sha256', key)
    .update(JSON.stringify([PURPOSE, mode, value ? 1 : 0, at, replica]))
    .digest();
}

export function signModeChange(key: string, mode: string, change: Omit<SignedModeChange, 'sig'>): SignedModeChange {
  return { ...change, sig: mac(key, mode, change.value, change.at, change.replica).toString('hex') };
}

/** Constant-time check of a change's signature. */
export function verifyModeChange(key: string, mode: string, change: SignedModeChange): boolean {
  const expected = mac(key, mode, change.value, change.at, change.replica);
  const given = Buffer.from(change.sig, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Whether `a` supersedes `b`: the later signed time; at the same millisecond (two replicas at
 * once) the more restrictive value, so that a tie never lifts a mode.
 */
export function isNewerChange(a: SignedModeChange, b: SignedModeChange | undefined): boolean {
  if (!b) return true;
  if (a.at !== b.at) return a.at > b.at;
  return a.value && !b.value;
}
