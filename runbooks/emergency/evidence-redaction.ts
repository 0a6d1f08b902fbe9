/**
 * Secrets out of what a security breach's evidence archive keeps: the archive is handed to people
 * doing forensics, often outside the team, and must not leak the very tokens an attacker may be
 * after. runbooks/ may not import the bot's trail redaction (bot/audit-trail/redaction.ts), so the
 * archive has its own, deliberately broader: a key that merely looks secret is blanked.
 */

export const REDACTED = '[REDACTED]';

/** Key names whose values are secrets: tokens, passwords, keys, credentials, webhook secrets. */
const SECRET_KEY = /(secret|token|passw(or)?d|passphrase|api[_-]?key|private[_-]?key|signing[_-]?key|credential|auth(orization)?$|cookie|session)/i;

/** `scheme://user:password@host`: the password goes, the rest (which server) stays. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):([^\s@/]+)@/gi;
/** `Authorization: Bearer <token>` and bare `Bearer <token>` in log lines. */
const BEARER = /\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}/gi;
/** `key: value`, `key=value`, `"key": "value"` where the key looks secret. */
const KEYED_VALUE = /(["']?)([A-Za-z0-9_.-]*(?:secret|token|passw(?:or)?d|passphrase|api[_-]?key|private[_-]?key|signing[_-]?key|credential)[A-Za-z0-9_.-]*)\1(\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,}#]+)/gi;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** A line or file of text with its secrets blanked; `known` are exact values (the tokens this process holds) blanked wherever they appear. */
export function redactText(text: string, known: readonly string[] = []): string {
  let out = text.replace(URL_PASSWORD, `$1:${REDACTED}@`).replace(BEARER, `$1 ${REDACTED}`).replace(KEYED_VALUE, (_all, quote: string, key: string, separator: string) => `${quote}${key}${quote}${separator}${REDACTED}`);
  // Longest first, so that a secret containing another is blanked whole.
  for (const secret of [...known].filter((value) => value.length >= 8).sort((a, b) => b.length - a.length)) out = out.split(secret).join(REDACTED);
  return out;
}

/** A JSON-able value with every secret-looking key's value blanked and every string's text redacted. */
export function redactValue(value: unknown, known: readonly string[] = []): unknown {
  if (typeof value === 'string') return redactText(value, known);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, known));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, isSecretKey(key) && item !== null && item !== undefined && item !== '' ? REDACTED : redactValue(item, known)]));
  }
  return value;
}
