/**
 * Secrets and tokens never enter the audit trail: every value is passed through here before it is
 * hashed, spooled or stored. Two nets: keys that name a secret lose their whole value, and text
 * anywhere is searched for things that look like credentials. Over-redacting a harmless value is
 * the accepted cost; the trail is append-only, so a leaked secret could never be taken out again.
 */

export const REDACTED = '[redacted]';

/** Words that make a key (`slackBotToken`, `DB_PASSWORD`, `Authorization`) name a secret. */
const SECRET_WORD = String.raw`(?:token|secret|passw(?:or)?d|passphrase|pwd|authorization|api[_-]?key|access[_-]?key|private[_-]?key|credential|cookie|signature|session[_-]?id)`;

const SECRET_KEY = new RegExp(SECRET_WORD, 'i');

/** A quoted value, or a run up to the next space or separator. */
const VALUE = String.raw`(?:"[^"]*"|'[^']*'|[^\s,;&"']+)`;

interface TextRule {
  pattern: RegExp;
  replace: string;
}

/**
 * Order matters: whole-token shapes first, then `key=value` and `--flag value` forms, which would
 * otherwise leave half a token behind.
 */
const TEXT_RULES: TextRule[] = [
  // PEM private keys, whole block.
  { pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, replace: REDACTED },
  // Slack tokens: xoxb-, xoxp-, xoxa-, xoxe.xoxp- (rotating), xapp- (app-level).
  { pattern: /\b(?:xox[a-z](?:\.xox[a-z])?|xapp)-[A-Za-z0-9-]+/gi, replace: REDACTED },
  // HTTP authorization schemes.
  { pattern: /\bBearer\s+[A-Za-z0-9._~+/=-]+/gi, replace: `Bearer ${REDACTED}` },
  { pattern: /\bBasic\s+[A-Za-z0-9+/]{16,}={0,2}/g, replace: `Basic ${REDACTED}` },
  // JSON Web Tokens.
  { pattern: /\beyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g, replace: REDACTED },
  // Well-known API key shapes: GitHub, AWS access key IDs, sk- keys.
  { pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g, replace: REDACTED },
  { pattern: /\bAKIA[0-9A-Z]{16}\b/g, replace: REDACTED },
  { pattern: /\bsk-[A-Za-z0-9_-]{20,}/g, replace: REDACTED },
  // The password of a connection string: postgres://user:password@host keeps user and host.
  { pattern: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*):([^\s@/]+)@/gi, replace: `$1:${REDACTED}@` },
  // Command-line flags: --token abc, --db-password=abc, -password abc.
  { pattern: new RegExp(String.raw`(--?[A-Za-z0-9_-]*${SECRET_WORD}[A-Za-z0-9_-]*)(=|\s+)${VALUE}`, 'gi'), replace: `$1$2${REDACTED}` },
  // key=value and key: value in free text (env dumps, headers, query strings).
  { pattern: new RegExp(String.raw`(\b[A-Za-z0-9_.-]*${SECRET_WORD}[A-Za-z0-9_.-]*)(\s*[=:]\s*)${VALUE}`, 'gi'), replace: `$1$2${REDACTED}` },
];

/** True when a key names a secret, so its value is dropped whatever it is. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** The text with every credential-looking part replaced by `[redacted]`. */
export function redactText(text: string): string {
  let result = text;
  for (const rule of TEXT_RULES) {
    // Already redacted text stays as it is, so redacting twice changes nothing.
    result = result.replace(rule.pattern, (match, ...groups: unknown[]) => {
      if (match.endsWith(REDACTED)) return match;
      return rule.replace.replace(/\$(\d)/g, (_, index: string) => String(groups[Number(index) - 1] ?? ''));
    });
  }
  return result;
}

/**
 * A copy of a JSON value with secret keys' values and credential-looking text redacted, at any
 * depth. Keys themselves are kept (they say what was there) but their text is redacted too.
 */
export function redactValue(value: unknown): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(redactValue);
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    copy[redactText(key)] = isSecretKey(key) && item !== null && item !== '' ? REDACTED : redactValue(item);
  }
  return copy;
}
