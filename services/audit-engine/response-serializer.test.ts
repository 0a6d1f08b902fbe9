import { randomUUID } from 'node:crypto';
import { isResponseSerializationError, serializerCompiler } from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CONSTITUTIONAL_HASH } from '../kit/constitution.js';
import { AppendEventsResponse, type AuditEvent, ListEventsResponse, VerifyResponse } from './contract.js';
import { parsingSerializerCompiler } from './response-serializer.js';

function compile(compiler: typeof parsingSerializerCompiler, schema: z.ZodType) {
  return compiler({ schema, method: 'POST', url: '/audit/events', httpStatus: '201' });
}

function storedEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: randomUUID(),
    sequence: 3,
    event_type: 'policy.decision',
    occurred_at: '2025-01-31T12:00:00.000Z',
    recorded_at: '2025-01-31T12:00:00.250Z',
    constitutional_hash: CONSTITUTIONAL_HASH,
    content_hash: 'c'.repeat(64),
    prev_chain_hash: 'p'.repeat(64),
    chain_hash: 'h'.repeat(64),
    ...overrides,
  };
}

describe('the response serializer of the audit routes', () => {
  const answers: [z.ZodType, unknown][] = [
    [AppendEventsResponse, { events: [storedEvent()], appended: 1, replayed: 0 }],
    [
      AppendEventsResponse,
      {
        // Fields in another order than the schema's: the answer is written in the schema's order.
        events: [storedEvent({ data: { b: [1, { z: null }], a: 'é 😀 </script>' }, severity: 'critical', idempotency_key: 'k-1', source: 's', agent_id: 'a' })],
        replayed: 1,
        appended: 0,
      },
    ],
    [ListEventsResponse, { events: [storedEvent(), storedEvent({ sequence: 2 })], next_cursor: null }],
    [
      VerifyResponse,
      {
        valid: false,
        events_checked: 4,
        head: { sequence: 9, chain_hash: 'h'.repeat(64) },
        first_broken: { id: null, sequence: 10, check: 'head', expected: 'a', stored: 'b', message: 'm' },
        checked_at: '2025-01-31T12:00:00.250Z',
        duration_ms: 1.5,
      },
    ],
  ];

  it('writes the same bytes as the zod serializer of the service kit', () => {
    for (const [schema, answer] of answers) {
      expect(compile(parsingSerializerCompiler, schema)(answer)).toBe(compile(serializerCompiler, schema)(answer));
    }
  });

  it('refuses an answer that does not match its schema with the error the kit turns into 500 INTERNAL', () => {
    const wrong = [
      { events: [storedEvent()], appended: 1, replayed: 0, extra: true },
      { events: [{ ...storedEvent(), sequence: 'three' }], appended: 1, replayed: 0 },
      { events: [storedEvent({ data: { text: 'NUL \u0000' } })], appended: 1, replayed: 0 },
    ];
    for (const answer of wrong) {
      expect(() => compile(serializerCompiler, AppendEventsResponse)(answer)).toThrow();
      let thrown: unknown;
      try {
        compile(parsingSerializerCompiler, AppendEventsResponse)(answer);
      } catch (error) {
        thrown = error;
      }
      expect(isResponseSerializationError(thrown)).toBe(true);
    }
  });

  it('refuses to compile a response schema that is not a zod schema', () => {
    expect(() => compile(parsingSerializerCompiler, { type: 'object' } as unknown as z.ZodType)).toThrow(/must be zod schemas/);
  });
});
