import { z } from 'zod';

/** A whole number in decimal digits, as environment variables carry numbers ("1e3", " 8" and "0x10" are refused). */
export const WholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be a whole number from ${min} to ${max}`).max(max, `must be a whole number from ${min} to ${max}`));

/** `PORT`: 0 to 65535 (0 lets the system choose, which tests use). */
export const Port = WholeNumber(0, 65535);

/** Where another service of the stack answers, e.g. `http://127.0.0.1:8003`. */
export const HttpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:8003' });

/** The shortest admin or service token accepted: 32 characters leave no room for guessing. */
export const MIN_TOKEN_LENGTH = 32;

/**
 * `ACGS_ADMIN_TOKEN`, `ACGS_SERVICE_TOKEN`: a shared secret of at least 32 characters. A token of
 * a few characters can be guessed by anyone who can reach the port, so it is refused at start.
 */
export const SecretToken = z
  .string()
  .min(MIN_TOKEN_LENGTH, `must be at least ${MIN_TOKEN_LENGTH} characters; generate one with: openssl rand -hex 32`);

/** Variables whose values are never repeated in an error message, whatever they hold. */
const SECRET_NAME = /(TOKEN|SECRET|PASSWORD|PASSPHRASE|PRIVATE_KEY|API_KEY)$/i;
const MAX_SHOWN_CHARS = 80;

/** The value as an error may show it: secrets hidden, URL passwords masked, long values cut. */
function shownValue(name: string, value: string | undefined): string {
  if (value === undefined) return 'unset';
  if (SECRET_NAME.test(name)) return 'value hidden';
  // By pattern rather than through URL parsing, so that a URL too broken to parse is masked as well.
  const masked = value.replace(/(\/\/[^/@\s]*?:)[^@\s]*@/g, '$1***@');
  const cut = masked.length > MAX_SHOWN_CHARS ? `${masked.slice(0, MAX_SHOWN_CHARS)}…` : masked;
  return `got ${JSON.stringify(cut)}`;
}

/**
 * Parses a service's environment with its zod schema. Empty variables count as unset (shells and
 * compose files often leave them empty). On failure it throws one error listing every bad
 * variable by name, with what to put there, never repeating a secret:
 * `Invalid audit-engine configuration: PORT: must be a whole number from 0 to 65535 (got "http")`.
 */
export function parseEnv<Schema extends z.ZodObject>(
  schema: Schema,
  serviceName: string,
  env: Record<string, string | undefined> = process.env,
): z.output<Schema> {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(present);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const name = issue.path.length > 0 ? String(issue.path[0]) : undefined;
    if (name === undefined) return issue.message;
    const value = present[name];
    if (value === undefined) return `${name}: is required`;
    return `${name}: ${issue.message} (${shownValue(name, value)})`;
  });
  throw new Error(`Invalid ${serviceName} configuration: ${[...new Set(problems)].join('; ')}`);
}
