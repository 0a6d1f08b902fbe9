/**
 * The Ed25519 key that signs a hash chain's checkpoints. It is kept outside the database on
 * purpose: whoever owns the chain's tables can rewrite rows and recompute every hash, but cannot
 * sign a checkpoint that matches the rewrite, so the rewrite shows against the last checkpoint.
 *
 * The key comes from an environment variable (a PEM private key, or the base64 of a 32-byte seed
 * such as `openssl rand -base64 32` prints) or from a file that is created on first use with mode
 * 0600 and refused when anyone but its owner may read or write it.
 */
import { type KeyObject, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface CheckpointKey {
  /** Short fingerprint of the public key: which key signed a checkpoint. */
  keyId: string;
  /** Where the key came from, for start-up lines (never the key itself). */
  source: string;
  sign(payload: string): string;
  verify(payload: string, signature: string): boolean;
}

/** Thrown when the key cannot be used; the message says what to do. */
export class CheckpointKeyError extends Error {
  override readonly name = 'CheckpointKeyError';
}

// PKCS #8 wrapping of a raw Ed25519 seed (RFC 8410): this prefix, then the 32 bytes.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function keyFromText(text: string, where: string): KeyObject {
  const trimmed = text.trim();
  try {
    if (trimmed.includes('-----BEGIN')) {
      const key = createPrivateKey(trimmed);
      if (key.asymmetricKeyType !== 'ed25519') throw new Error(`it is a ${key.asymmetricKeyType ?? 'unknown'} key, not Ed25519`);
      return key;
    }
    const seed = Buffer.from(trimmed, 'base64');
    if (seed.length !== 32) throw new Error(`it decodes to ${seed.length} bytes, not 32`);
    return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  } catch (error) {
    throw new CheckpointKeyError(
      `${where} is not an Ed25519 private key (${(error as Error).message}): give a PEM private key (openssl genpkey -algorithm ed25519) or the base64 of 32 random bytes (openssl rand -base64 32)`,
    );
  }
}

function keyFromFile(file: string): KeyObject {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch {
    // Created once, never overwritten: `wx` fails if another process created it meanwhile.
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    mode = statSync(file).mode;
  }
  if ((mode & 0o077) !== 0) {
    throw new CheckpointKeyError(
      `the checkpoint signing key ${file} has mode ${(mode & 0o777).toString(8)}: others may read or replace it, so checkpoints signed with it prove nothing. Run chmod 600 ${file} (and check who could have read it)`,
    );
  }
  return keyFromText(readFileSync(file, 'utf8'), `the file ${file}`);
}

export interface CheckpointKeyOptions {
  /** The environment variable's name and value, when set. */
  env?: { name: string; value: string | undefined };
  /** The file used (created when missing) when the variable is not set. */
  file: string;
}

export function loadCheckpointKey(options: CheckpointKeyOptions): CheckpointKey {
  const fromEnv = options.env?.value !== undefined && options.env.value !== '';
  const privateKey = fromEnv ? keyFromText(options.env!.value!, options.env!.name) : keyFromFile(options.file);
  const publicKey = createPublicKey(privateKey);
  const keyId = createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 16);
  return {
    keyId,
    source: fromEnv ? options.env!.name : options.file,
    sign: (payload) => sign(null, Buffer.from(payload, 'utf8'), privateKey).toString('base64'),
    verify(payload, signature) {
      try {
        return verify(null, Buffer.from(payload, 'utf8'), publicKey, Buffer.from(signature, 'base64'));
      } catch {
        return false;
      }
    },
  };
}
