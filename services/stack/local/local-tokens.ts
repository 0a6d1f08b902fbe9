/**
 * The stack's two shared secrets as the local stack keeps them: the admin token (the services'
 * /admin endpoints) and the service token (their write endpoints: audit events, evolution
 * proposals and reviews, sandbox executions). Each comes from its environment variable, else from
 * a file in the state directory that the first start generates (mode 0600), so that curl, the CLI
 * and the bot find the same token.
 *
 * Every start checks again what it reads, because a token is only as secret as its file: one that
 * group or others may read or write, or that belongs to another user, is refused rather than
 * quietly fixed (as OpenSSH does with private keys). Anyone on the machine may already have read
 * it; the person must decide whether to tighten the mode or to delete the file for a new token.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIN_TOKEN_LENGTH } from '../../kit/env.js';

export type TokenKind = 'admin' | 'service';

export const TOKEN_ENV: Record<TokenKind, 'ACGS_ADMIN_TOKEN' | 'ACGS_SERVICE_TOKEN'> = {
  admin: 'ACGS_ADMIN_TOKEN',
  service: 'ACGS_SERVICE_TOKEN',
};

const TOKEN_FILE: Record<TokenKind, string> = { admin: 'admin-token', service: 'service-token' };

export interface LocalToken {
  token: string;
  /** Where the token is kept, or undefined when it came from the environment variable. */
  file: string | undefined;
}

/** `<state>/admin-token` or `<state>/service-token`. */
export function tokenFile(stateDir: string, kind: TokenKind): string {
  return join(stateDir, TOKEN_FILE[kind]);
}

function requireLength(token: string, where: string): string {
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new Error(`${where} holds a token of ${token.length} characters; at least ${MIN_TOKEN_LENGTH} are required (generate one with: openssl rand -hex 32)`);
  }
  return token;
}

/**
 * The token in an existing file, after checking that only its owner, this user, can read or
 * write it. Undefined when there is no such file. Throws a message that says what to do.
 */
export function readTokenFile(file: string): string | undefined {
  let stats;
  try {
    stats = statSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (!stats.isFile()) throw new Error(`${file} is not a regular file; remove it to have a token generated there`);
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) {
    throw new Error(`${file} belongs to user ${stats.uid}, not to this user (${uid}): a token planted by someone else is not used; remove the file to have a new one generated`);
  }
  const mode = stats.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new Error(
      `${file} may be read or written by group or others (mode ${mode.toString(8).padStart(4, '0')}), so its token may be known beyond this user: ` +
        `run chmod 600 ${file}, or remove the file to have a new token generated, and start again`,
    );
  }
  return requireLength(readFileSync(file, 'utf8').trim(), file);
}

/**
 * The token of this kind: its environment variable when set, else the file in the state directory,
 * generated (32 random bytes, hex, mode 0600) when there is none. The state directory must exist.
 */
export function localToken(kind: TokenKind, stateDir: string, env: NodeJS.ProcessEnv = process.env): LocalToken {
  const fromEnv = env[TOKEN_ENV[kind]];
  if (fromEnv) return { token: requireLength(fromEnv, TOKEN_ENV[kind]), file: undefined };
  const file = tokenFile(stateDir, kind);
  try {
    // 'wx': never through an existing file or a link planted in its place.
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const token = readTokenFile(file);
  if (token === undefined) throw new Error(`${file} could not be created nor read (a link to nowhere?); remove it and start again`);
  return { token, file };
}
