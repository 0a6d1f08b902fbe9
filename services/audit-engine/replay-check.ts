/**
 * A resent event (one whose `idempotency_key` is already stored) is answered with the stored
 * event only when it is the same event. With other content it is refused: otherwise whoever sent
 * a key first would decide what a producer's record says, and the producer would be told it was
 * stored.
 */
import { ServiceError } from '../kit/errors.js';
import { canonicalJson } from '../kit/hash-chain/canonical-json.js';
import type { StoredEvent } from './event-rows.js';

/** The fields of a sent event that must match the stored one, as the store normalizes them. */
export interface ReplayedContent {
  event_type: string;
  source: string | null;
  agent_id: string | null;
  severity: string | null;
  occurred_at: string;
  /** False when the producer left `occurred_at` to the engine's clock: a resend then carries another time. */
  occurred_at_sent: boolean;
  data: Record<string, unknown> | null;
}

/** The names of the fields in which the resent event differs from the stored one; empty when it is the same. */
export function replayDifferences(sent: ReplayedContent, stored: StoredEvent): string[] {
  const differing: string[] = [];
  for (const field of ['event_type', 'source', 'agent_id', 'severity'] as const) {
    if (sent[field] !== stored[field]) differing.push(field);
  }
  if (sent.occurred_at_sent && sent.occurred_at !== stored.occurred_at) differing.push('occurred_at');
  // Canonical JSON: PostgreSQL's jsonb gives keys back in its own order.
  const sentData = sent.data === null ? 'null' : canonicalJson(sent.data);
  const storedData = stored.data === null ? 'null' : canonicalJson(stored.data);
  if (sentData !== storedData) differing.push('data');
  return differing;
}

/** Throws 409 CONFLICT naming the key, the stored event and what differs, when the resend is not the same event. */
export function assertSameReplay(sent: ReplayedContent, stored: StoredEvent): void {
  const differing = replayDifferences(sent, stored);
  if (differing.length === 0) return;
  throw new ServiceError(
    'CONFLICT',
    {
      detail:
        `idempotency_key ${JSON.stringify(stored.idempotency_key)} is already stored as event ${stored.id} (sequence ${stored.sequence}) ` +
        `with a different ${differing.join(', ')}; a retry must resend the same event, and a new event needs a new key. Nothing of this request was stored`,
    },
    { idempotency_key: stored.idempotency_key, stored_event_id: stored.id, differing },
  );
}
