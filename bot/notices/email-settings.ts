/**
 * E-mail for deployment notices: SMTP_URL (smtp://user:pass@host:port, or smtps:// for TLS from
 * the first byte), ACGS_NOTICE_EMAIL_FROM and ACGS_NOTICE_EMAIL_TO (a comma list). Read once at
 * start: a setting that does not parse stops the start with a sentence naming the variable,
 * because a notice channel found broken during a deployment is worse than a refused start.
 * The password never appears in a message.
 */
import { z } from 'zod';

export const SMTP_URL_ENV = 'SMTP_URL';
export const NOTICE_EMAIL_FROM_ENV = 'ACGS_NOTICE_EMAIL_FROM';
export const NOTICE_EMAIL_TO_ENV = 'ACGS_NOTICE_EMAIL_TO';

export interface EmailSettings {
  transport: { host: string; port?: number; secure: boolean; auth?: { user: string; pass: string } };
  from: string;
  to: string[];
  /** The server as people may see it: `smtp://host:port`, no user or password. */
  server: string;
}

export class EmailSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmailSettingsError';
  }
}

const Address = z.email();

/** The settings, or undefined when SMTP_URL is unset or empty (e-mail notices off). */
export function emailSettingsFromEnv(env: NodeJS.ProcessEnv): EmailSettings | undefined {
  const raw = env[SMTP_URL_ENV]?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new EmailSettingsError(`${SMTP_URL_ENV} is not a URL: write it as smtp://user:password@host:587 or smtps://user:password@host:465 (characters such as @ or / in the password percent-encoded)`);
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new EmailSettingsError(`${SMTP_URL_ENV} must start with smtp:// or smtps:// (it starts with ${url.protocol}//)`);
  }
  if (!url.hostname) throw new EmailSettingsError(`${SMTP_URL_ENV} names no host: write it as ${url.protocol}//user:password@host:port`);
  if ((url.pathname && url.pathname !== '/') || url.search || url.hash) {
    throw new EmailSettingsError(`${SMTP_URL_ENV} must be only ${url.protocol}//user:password@host:port, without a path or query`);
  }
  let user: string;
  let pass: string;
  try {
    user = decodeURIComponent(url.username);
    pass = decodeURIComponent(url.password);
  } catch {
    throw new EmailSettingsError(`${SMTP_URL_ENV} has a user or password that is not valid percent-encoding`);
  }
  const port = url.port ? Number(url.port) : undefined;
  const server = `${url.protocol}//${url.host}`;

  const fromText = env[NOTICE_EMAIL_FROM_ENV]?.trim() || (Address.safeParse(user).success ? user : '');
  if (!fromText) throw new EmailSettingsError(`${SMTP_URL_ENV} is set but ${NOTICE_EMAIL_FROM_ENV} is not: name the sender address of deployment notices (or use an SMTP user that is an e-mail address)`);
  if (!Address.safeParse(fromText).success) throw new EmailSettingsError(`${NOTICE_EMAIL_FROM_ENV} must be an e-mail address such as acgs@example.com (got "${fromText}")`);
  const toList = (env[NOTICE_EMAIL_TO_ENV] ?? '').split(',').map((address) => address.trim()).filter((address) => address !== '');
  if (toList.length === 0) throw new EmailSettingsError(`${SMTP_URL_ENV} is set but ${NOTICE_EMAIL_TO_ENV} names nobody: list the addresses of deployment notices, separated by commas`);
  const bad = toList.filter((address) => !Address.safeParse(address).success);
  if (bad.length > 0) throw new EmailSettingsError(`${NOTICE_EMAIL_TO_ENV}: not an e-mail address: ${bad.map((address) => JSON.stringify(address)).join(', ')}`);

  return {
    transport: { host: url.hostname.replace(/^\[|\]$/g, ''), ...(port ? { port } : {}), secure: url.protocol === 'smtps:', ...(user ? { auth: { user, pass } } : {}) },
    from: fromText,
    to: [...new Set(toList)],
    server,
  };
}
