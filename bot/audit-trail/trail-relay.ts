/**
 * The CLI's way into the bot's audit trail when the trail is an embedded PGlite database owned by
 * the running `npm start` (no DATABASE_URL): that process lends its trail over the local stack's
 * control channel (services/stack/local-control.ts), and the CLI's trail is a thin client of it.
 * Records therefore join the one chain in order with the bot's own, an escalated command's
 * `execution` record is committed by the bot's trail before the CLI runs the command, and when
 * the bot is not there nothing escalated runs (fail closed).
 *
 * The relay takes only records of origin `cli`: the channel's token lets a local operator record
 * what they ran, not write records that claim to come from Slack.
 */
import type { ControlChannel } from '../../services/stack/local-control-client.js';
import { ControlError, type ControlExtension } from '../../services/stack/local-control.js';
import { AuditTrailUnavailableError, type AppendReceipt, type AuditTrail, type TrailAvailability, type TrailQuery, type TrailQueryResult } from './audit-trail.js';
import { TrailInputError, type TrailRecordInput } from './trail-record.js';
import type { TrailVerification } from './trail-verifier.js';

/** The feature name the supervisor file announces when its owner relays a trail. */
export const TRAIL_RELAY_FEATURE = 'trail';

function relayedRecord(body: Record<string, unknown>): TrailRecordInput {
  const record = body.record as TrailRecordInput | undefined;
  if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new ControlError('TRAIL_INPUT', 'the body needs a record object');
  if (record.origin !== 'cli') throw new ControlError('TRAIL_INPUT', `the relay records only commands typed in the CLI (origin cli), not origin ${JSON.stringify(record.origin ?? null)}`);
  return record;
}

async function asControlErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AuditTrailUnavailableError) throw new ControlError('TRAIL_UNAVAILABLE', error.message, 503);
    if (error instanceof TrailInputError) throw new ControlError('TRAIL_INPUT', error.message, 400);
    throw error;
  }
}

/** The routes `npm start` adds to its control channel (`POST /v1/trail/...`). */
export function trailRelayRoutes(trail: AuditTrail): Record<string, ControlExtension> {
  return {
    'trail/append': (body) => asControlErrors(() => trail.append(relayedRecord(body))),
    'trail/append-to-chain': (body) => asControlErrors(() => trail.appendToChain(relayedRecord(body))),
    'trail/available': () => trail.available(),
    'trail/query': (body) =>
      asControlErrors(() => {
        const filter = (body.filter ?? {}) as TrailQuery & { since?: string };
        const since = filter.since === undefined ? undefined : new Date(filter.since);
        if (since !== undefined && Number.isNaN(since.getTime())) throw new ControlError('TRAIL_INPUT', 'since must be an ISO 8601 time');
        return trail.query({ ...filter, ...(since ? { since } : {}) });
      }),
    'trail/verify': () => asControlErrors(() => trail.verify()),
  };
}

/**
 * An AuditTrail whose records are written by the trail of the process behind `channel`. Every
 * failure to reach it is an AuditTrailUnavailableError, so escalated commands are refused.
 */
export function createRelayedTrail(channel: Pick<ControlChannel, 'call' | 'supervisorPid'>): AuditTrail {
  const owner = `npm start (pid ${channel.supervisorPid})`;
  async function call<T>(route: string, body: unknown, timeoutMs = 15_000): Promise<T> {
    try {
      return await channel.call<T>('POST', `/v1/${route}`, body, timeoutMs);
    } catch (error) {
      const message = (error as Error)?.message ?? String(error);
      if ((error as { code?: unknown }).code === 'TRAIL_UNAVAILABLE') throw new AuditTrailUnavailableError(message);
      throw new AuditTrailUnavailableError(`The bot's audit trail is kept by ${owner}, which could not take the record (${message}), so escalated actions are refused.`);
    }
  }
  return {
    async start() {},
    append: (input) => call<AppendReceipt>('trail/append', { record: input }),
    appendToChain: (input) => call<{ stored: 'chain' } & Awaited<ReturnType<AuditTrail['appendToChain']>>>('trail/append-to-chain', { record: input }),
    async available(): Promise<TrailAvailability> {
      try {
        return await call<TrailAvailability>('trail/available', {});
      } catch (error) {
        return { ok: false, reason: (error as Error).message, waiting: 0 };
      }
    },
    status: () => ({ database: 'unknown', initialized: true, waiting: 0, unstorable: 0 }),
    query: (filter = {}) => call<TrailQueryResult>('trail/query', { filter: { ...filter, ...(filter.since ? { since: filter.since.toISOString() } : {}) } }),
    verify: () => call<TrailVerification & { waiting: number }>('trail/verify', {}, 120_000),
    async flush() {},
    async close() {},
  };
}
