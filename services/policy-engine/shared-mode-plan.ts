/**
 * What one replica does with one mode's entry in the shared Redis hash: a pure function, so the
 * rules (signed explicit changes, ordered by their signed time; merged values where the more
 * restrictive state wins) are visible in one place and tested without Redis.
 *
 * Per mode the hash holds `<mode>` ('1'/'0'), `<mode>_origin` (`explicit` or `merged`) and, for
 * an explicit change, `<mode>_at`, `<mode>_by` (the replica) and `<mode>_sig` (see
 * mode-signature.ts).
 */
import { isNewerChange, type SignedModeChange, verifyModeChange } from './mode-signature.js';

export const ENTRY_SUFFIXES = ['', '_origin', '_at', '_by', '_sig'] as const;

/** One mode's fields as read from the hash ('' for a missing field). */
export type SharedEntry = Record<(typeof ENTRY_SUFFIXES)[number], string>;

export function readEntry(hash: Record<string, string>, mode: string): SharedEntry {
  return Object.fromEntries(ENTRY_SUFFIXES.map((suffix) => [suffix, hash[`${mode}${suffix}`] ?? ''])) as SharedEntry;
}

export function entryFields(mode: string, entry: SharedEntry): Record<string, string> {
  return Object.fromEntries(ENTRY_SUFFIXES.map((suffix) => [`${mode}${suffix}`, entry[suffix]]));
}

export function explicitEntry(change: SignedModeChange): SharedEntry {
  return { '': change.value ? '1' : '0', _origin: 'explicit', _at: String(change.at), _by: change.replica, _sig: change.sig };
}

export function mergedEntry(value: boolean): SharedEntry {
  return { '': value ? '1' : '0', _origin: 'merged', _at: '', _by: '', _sig: '' };
}

function sameEntry(a: SharedEntry, b: SharedEntry): boolean {
  return ENTRY_SUFFIXES.every((suffix) => a[suffix] === b[suffix]);
}

export type SharedReading =
  | { kind: 'absent' }
  | { kind: 'merged'; value: boolean }
  | { kind: 'signed'; change: SignedModeChange }
  | { kind: 'unverified'; problem: string };

/**
 * Reads an entry. Anything not marked explicit (merged, an older engine's value without an
 * origin, an unknown origin) is a merged value: it can only add restrictions. An explicit entry
 * counts only with a valid signature.
 */
export function readShared(mode: string, entry: SharedEntry, signingKey: string | undefined): SharedReading {
  if (entry[''] === '' && entry._origin === '') return { kind: 'absent' };
  if (entry._origin !== 'explicit') return { kind: 'merged', value: entry[''] === '1' };
  if (!signingKey) return { kind: 'unverified', problem: 'this replica has no ACGS_ADMIN_TOKEN to verify explicit changes with' };
  if (!/^[01]$/.test(entry['']) || !/^\d{1,15}$/.test(entry._at) || entry._by === '' || entry._by.length > 256 || !/^[0-9a-f]{64}$/.test(entry._sig)) {
    return { kind: 'unverified', problem: 'an explicit change without a complete signature' };
  }
  const change: SignedModeChange = { value: entry[''] === '1', at: Number(entry._at), replica: entry._by, sig: entry._sig };
  if (!verifyModeChange(signingKey, mode, change)) return { kind: 'unverified', problem: 'an explicit change whose signature is not valid' };
  return { kind: 'signed', change };
}

export interface LocalMode {
  /** The value in force on this replica. */
  value: boolean;
  /** The newest valid explicit change this replica knows (made here or adopted). */
  known: SignedModeChange | undefined;
  /** `known` was made here and is not shared yet (Redis was down). */
  pending: boolean;
}

export interface ModePlan {
  /** The entry to write (compare-and-set against what was read), if any. */
  write?: SharedEntry;
  /** The value to take on, and why. */
  adopt?: { value: boolean; origin: 'explicit' | 'merged'; change?: SignedModeChange };
  /** A shared entry that was not taken: logged and audited. */
  reject?: string;
}

/** The entry that restores what this replica holds after a refused one: its newest signed change if that is what is in force, else its value as merged. */
function repairEntry(local: LocalMode): SharedEntry {
  return local.known && local.known.value === local.value ? explicitEntry(local.known) : mergedEntry(local.value);
}

export function planMode(mode: string, entry: SharedEntry, local: LocalMode, signingKey: string | undefined): ModePlan {
  const shared = readShared(mode, entry, signingKey);
  if (local.pending && local.known) {
    // A change made here while Redis was down: shared unless a newer signed change was made meanwhile.
    if (shared.kind === 'signed' && isNewerChange(shared.change, local.known)) {
      return { adopt: { value: shared.change.value, origin: 'explicit', change: shared.change } };
    }
    return { write: explicitEntry(local.known), ...(shared.kind === 'unverified' ? { reject: shared.problem } : {}) };
  }
  switch (shared.kind) {
    case 'signed': {
      if (isNewerChange(shared.change, local.known)) return { adopt: { value: shared.change.value, origin: 'explicit', change: shared.change } };
      if (local.known?.sig === shared.change.sig && shared.change.value === local.value) return {};
      const write = repairEntry(local);
      const reject =
        local.known?.sig === shared.change.sig
          ? 'a signed explicit change that the modes in force have since superseded (copied back into Redis)'
          : 'a signed explicit change older than the last one this replica knows (a replay of an old change)';
      return { write, reject };
    }
    case 'unverified': {
      // Not an explicit change, then; what anyone may write, a merged value, can still add a
      // restriction (as the merge below), never lift one.
      const merged = entry[''] === '1' || local.value;
      const adopt = merged !== local.value ? { adopt: { value: merged, origin: 'merged' as const } } : {};
      // Without the key this replica cannot tell a forgery from a real change: it leaves the entry to those that can.
      if (!signingKey) return { ...adopt, reject: shared.problem };
      return { ...adopt, write: repairEntry({ ...local, value: merged }), reject: shared.problem };
    }
    case 'merged':
    case 'absent': {
      // The hash was lost (Redis restarted empty, eviction) or rebuilt: each replica ORs in what it knows.
      const merged = (shared.kind === 'merged' && shared.value) || local.value;
      const target = mergedEntry(merged);
      return {
        ...(sameEntry(entry, target) ? {} : { write: target }),
        ...(merged !== local.value ? { adopt: { value: merged, origin: 'merged' as const } } : {}),
      };
    }
  }
}
