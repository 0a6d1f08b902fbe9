/**
 * The hash recipe every chain shares (services/audit-engine/README.md, "The hash chain"); each
 * chain names its genesis prefix and its content keys:
 *
 *   content_hash = sha256_hex(RFC 8785 canonical JSON of the record's content keys)
 *   hash         = sha256_hex(prev_hash + content_hash)   (the two hex strings joined)
 *   prev_hash    = hash of the record before; for the first record the genesis,
 *                  sha256_hex(genesis prefix + constitutional hash)
 *
 * Chains use different genesis prefixes, so a record can never be moved from one to another.
 */
import { hash } from 'node:crypto';
import { CONSTITUTIONAL_HASH } from '../constitution.js';
import { canonicalJson } from './canonical-json.js';

export function sha256Hex(text: string): string {
  // The one-shot form: about twice as fast as createHash() for short inputs, on the append path.
  return hash('sha256', text, 'hex');
}

export function genesisHash(prefix: string, constitutionalHash: string = CONSTITUTIONAL_HASH): string {
  return sha256Hex(prefix + constitutionalHash);
}

export function chainHash(prevHash: string, contentHash: string): string {
  return sha256Hex(prevHash + contentHash);
}

/**
 * Writes the canonical JSON of a record's content keys straight from the record (any other keys
 * it carries, such as its hashes, are left out; an undefined value is left out as canonical JSON
 * does). The keys are fixed, so they are sorted once rather than copied and sorted for every record.
 */
export function canonicalContentWriter<Content extends object>(keys: readonly (keyof Content & string)[]): (content: Content) => string {
  const members = [...keys].sort().map((key) => [key, `${JSON.stringify(key)}:`] as const);
  return (content) => {
    let text = '';
    for (const [key, prefix] of members) {
      const value = content[key];
      if (value === undefined) continue;
      if (text.length > 0) text += ',';
      text += prefix + canonicalJson(value);
    }
    return `{${text}}`;
  };
}
