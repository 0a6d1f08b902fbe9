import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CONSTITUTIONAL_HASH } from '../kit/constitution.js';
import { type EventContent, chainHash, contentHash, genesisChainHash } from './hash-chain.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const event: EventContent = {
  id: '1b4e28ba-2fa1-4d2b-a5e0-4f6b1c7a9d10',
  sequence: 7,
  event_type: 'safety_violation',
  source: 'policy-engine',
  agent_id: 'agent-1',
  severity: 'critical',
  occurred_at: '2025-01-31T12:00:00.000Z',
  recorded_at: '2025-01-31T12:00:00.250Z',
  idempotency_key: null,
  data: { action: 'system.execute_shell', nested: { b: 2, a: [1, 'x'] } },
  constitutional_hash: CONSTITUTIONAL_HASH,
};

describe('the audit hash recipe', () => {
  it('derives the genesis from the constitutional hash', () => {
    expect(genesisChainHash()).toBe(sha256(`acgs-audit-genesis:${CONSTITUTIONAL_HASH}`));
    expect(genesisChainHash('another')).not.toBe(genesisChainHash());
  });

  it('hashes the RFC 8785 canonical JSON of the content, with keys sorted at every level', () => {
    const canonical =
      '{"agent_id":"agent-1","constitutional_hash":"cdd01ef066bc6cf2",' +
      '"data":{"action":"system.execute_shell","nested":{"a":[1,"x"],"b":2}},' +
      '"event_type":"safety_violation","id":"1b4e28ba-2fa1-4d2b-a5e0-4f6b1c7a9d10","idempotency_key":null,' +
      '"occurred_at":"2025-01-31T12:00:00.000Z","recorded_at":"2025-01-31T12:00:00.250Z","sequence":7,' +
      '"severity":"critical","source":"policy-engine"}';
    expect(contentHash(event)).toBe(sha256(canonical));
  });

  it('does not depend on the order in which fields were written', () => {
    const reordered = Object.fromEntries(Object.entries(event).reverse()) as unknown as EventContent;
    reordered.data = { nested: { a: [1, 'x'], b: 2 }, action: 'system.execute_shell' };
    expect(contentHash(reordered)).toBe(contentHash(event));
  });

  it('changes when any content field changes', () => {
    const variants: Partial<EventContent>[] = [
      { id: '2b4e28ba-2fa1-4d2b-a5e0-4f6b1c7a9d10' },
      { sequence: 8 },
      { event_type: 'other' },
      { source: null },
      { agent_id: 'agent-2' },
      { severity: 'info' },
      { occurred_at: '2025-01-31T12:00:00.001Z' },
      { recorded_at: '2025-01-31T12:00:00.251Z' },
      { idempotency_key: 'k' },
      { data: { action: 'system.execute_shell', nested: { b: 2, a: [1, 'y'] } } },
      { constitutional_hash: 'x' },
    ];
    const hashes = new Set(variants.map((variant) => contentHash({ ...event, ...variant })));
    expect(hashes.size).toBe(variants.length);
    expect(hashes.has(contentHash(event))).toBe(false);
  });

  it('ignores properties that are not content, such as the stored hashes', () => {
    const stored = { ...event, content_hash: 'x', chain_hash: 'y', prev_chain_hash: 'z' };
    expect(contentHash(stored)).toBe(contentHash(event));
  });

  it('chains by hashing the previous chain hash joined with the content hash', () => {
    const prev = genesisChainHash();
    const content = contentHash(event);
    expect(chainHash(prev, content)).toBe(sha256(prev + content));
    expect(chainHash(content, prev)).not.toBe(chainHash(prev, content));
  });
});
