import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { CONSTITUTIONAL_HASH } from '../kit/constitution.js';
import { canonicalJson } from '../kit/hash-chain/canonical-json.js';
import { type EventContent, canonicalContent, eventContent } from './hash-chain.js';

// The package the hash recipe names: every stored chain was hashed with its output, so ours must
// match it byte for byte, or verify would report every event as altered.
const canonicalize = createRequire(import.meta.url)('canonicalize') as (value: unknown) => string | undefined;

/** A small deterministic generator, so a failure can be reproduced from the printed seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const AWKWARD_TEXT = ['', 'a', 'Z', 'é', 'ü', '€', '😀', '\u001f', '\n', '"', '\\', '</script>', '10', '9', '-1', '1e3', '__proto__', 'toJSON', 'ﬀ', '\u2028', 'key with spaces'];
const AWKWARD_NUMBERS = [0, -0, 1, -1, 0.1, 0.97, 1e21, 1e-7, 123456789012345680000, 5e-324, 1.7976931348623157e308, 2 ** 53, 4.35, -273.15];

function randomJson(next: () => number, depth: number): unknown {
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
  const kind = depth >= 5 ? Math.floor(next() * 4) : Math.floor(next() * 6);
  switch (kind) {
    case 0:
      return pick(AWKWARD_TEXT) + (next() < 0.3 ? String(Math.floor(next() * 1000)) : '');
    case 1:
      return next() < 0.5 ? pick(AWKWARD_NUMBERS) : (next() - 0.5) * 10 ** Math.floor(next() * 30 - 10);
    case 2:
      return pick([true, false]);
    case 3:
      return null;
    case 4:
      return Array.from({ length: Math.floor(next() * 5) }, () => randomJson(next, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: Math.floor(next() * 6) }, () => [pick(AWKWARD_TEXT) + (next() < 0.5 ? pick(AWKWARD_TEXT) : ''), randomJson(next, depth + 1)]),
      );
  }
}

describe('canonical JSON', () => {
  it('writes exactly what the canonicalize package writes for thousands of generated JSON documents', () => {
    for (let seed = 1; seed <= 3000; seed += 1) {
      const value = randomJson(random(seed), 0);
      expect({ seed, text: canonicalJson(value) }).toEqual({ seed, text: canonicalize(value) });
    }
  });

  it('sorts keys by UTF-16 code units: integer-like keys are not put first, and 😀 sorts before U+FB00', () => {
    const value = JSON.parse('{"b":1,"10":2,"9":3,"é":4,"ﬀ":6,"😀":5,"A":7}');
    expect(canonicalJson(value)).toBe('{"10":2,"9":3,"A":7,"b":1,"é":4,"😀":5,"ﬀ":6}');
    expect(canonicalJson(value)).toBe(canonicalize(value));
  });

  it('treats values JSON cannot hold the way the package does', () => {
    const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
    const cases: unknown[] = [
      { a: undefined, b: 1, c: Symbol('s') },
      [undefined, Symbol('s'), 2],
      sparse,
      { when: new Date('2025-01-31T12:00:00.000Z'), nested: { toJSON: () => ({ z: 1, a: 2 }) } },
      { toJSON: 5, other: 'x' },
      'lone \ud800 surrogate',
    ];
    for (const value of cases) expect(canonicalJson(value)).toBe(canonicalize(value));
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, { n: Number.NEGATIVE_INFINITY }, [Number.NaN]]) {
      expect(() => canonicalize(value)).toThrow();
      expect(() => canonicalJson(value)).toThrow(/not allowed/);
    }
  });
});

describe('the canonical content of an event', () => {
  const event: EventContent = {
    id: randomUUID(),
    sequence: 42,
    event_type: 'policy.decision',
    source: 'bench',
    agent_id: null,
    severity: 'info',
    occurred_at: '2025-01-31T12:00:00.000Z',
    recorded_at: '2025-01-31T12:00:00.250Z',
    idempotency_key: null,
    data: { decision: 'allow', '10': [1, { b: null, a: 'x' }], compliance_score: 0.97 },
    constitutional_hash: CONSTITUTIONAL_HASH,
  };

  it('is the canonical JSON of the content fields alone, whatever else the event carries', () => {
    const stored = { content_hash: 'c', chain_hash: 'h', prev_chain_hash: 'p', ...event };
    expect(canonicalContent(stored)).toBe(canonicalize(eventContent(event)));
    expect(canonicalContent({ ...event, data: null })).toBe(canonicalize(eventContent({ ...event, data: null })));
  });

  it('leaves out a field that is undefined, as the package does, rather than writing it as null', () => {
    const partial = { ...event, source: undefined } as unknown as EventContent;
    expect(canonicalContent(partial)).toBe(canonicalize(eventContent(partial)));
    expect(canonicalContent(partial)).not.toContain('"source"');
  });
});
