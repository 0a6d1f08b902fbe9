/**
 * `time.parse_rfc3339_ns` for the wasm policy. OPA compiles this builtin as an import that the
 * host must provide (opa-wasm ships no time builtins). OPA's own version makes the expression
 * undefined on a malformed time; a wasm builtin cannot return "undefined", so this returns null
 * and the policy accepts only numbers, which gives the same outcome under `opa test` and wasm.
 */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Nanoseconds since the epoch (as a double: exact to well under a microsecond), or null. */
export function parseRfc3339Ns(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const match = RFC3339.exec(value);
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fraction = match[7] ?? '';
  const offsetMinutes = match[8] ? 0 : (match[9] === '-' ? -1 : 1) * (Number(match[10]) * 60 + Number(match[11]));
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59 || Math.abs(offsetMinutes) >= 24 * 60) return null;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 30 February over into March; a real calendar date survives the round trip.
  if (new Date(ms).getUTCDate() !== day) return null;
  const nanos = fraction === '' ? 0 : Number(fraction.padEnd(9, '0'));
  return (ms - offsetMinutes * 60_000) * 1e6 + nanos;
}

/** The custom builtins the authorization wasm imports, by OPA's names. */
export const AUTHORIZATION_BUILTINS = {
  'time.parse_rfc3339_ns': parseRfc3339Ns,
} as const;
