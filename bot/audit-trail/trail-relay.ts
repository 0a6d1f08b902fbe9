/**
 * The CLI's way into the bot's audit trail when the trail is an embedded PGlite database owned by
 * the running `npm start` (no DATABASE_URL): that process lends its trail over the local stack's
 * control channel (services/stack/local/local-control.ts), and the CLI's trail is a thin client of it.
 * Records therefore join the one chain in order with the bot's own, an escalated command's
 * `execution` record is committed by the bot's trail before the CLI runs the command (its key is
 * what the supervisor asks for before a restart: restart-execution-check.ts), and when the bot is
 * not there nothing escalated runs (fail closed).
 *
 * The channel's token lets a local operator record what they ran in the terminal, nothing more:
 * only the kinds the CLI's command path writes (bot/command-path/execute.ts: command, break-glass,
 * execution, result; the CLI asks for no approvals), of origin `cli` by a `cli:` actor, at the
 * relay's own time, and under keys of the CLI's form that the relay moves into a `cli:` namespace.
 * So a token holder can neither write records that claim to come from Slack nor take a key the
 * bot will use (`approval_resolved:<request>:approved`, `execution:<id>` of an approved request)
 * and have the bot's real record dropped as a duplicate. Queries take the `audit` command's limits.
 */
import { z } from 'zod';
import type { ControlChannel } from '../../services/stack/local/local-control-client.js';
import { ControlError, type ControlExtension } from '../../services/stack/local/local-control.js';
import { auditCommandArgument, auditSinceArgument, auditUserArgument } from '../../commands/audit-documents.js';
import { AuditTrailUnavailableError, MAX_QUERY_LIMIT, type AppendReceipt, type AuditTrail, type TrailAvailability, type TrailQuery, type TrailQueryResult } from './audit-trail.js';
import { TRAIL_KINDS, TrailInputError, type TrailKind, type TrailRecordInput } from './trail-record.js';
import type { TrailVerification, TrailVerifyScope } from './trail-verifier.js';

/** The feature name the supervisor file announces when its owner relays a trail. */
export const TRAIL_RELAY_FEATURE = 'trail';

/** What the CLI's command path records; approvals and votes happen only in Slack or the console. */
export const RELAYED_KINDS = ['command', 'break_glass', 'execution', 'result'] as const satisfies readonly TrailKind[];

/** Where relayed keys live in the trail, apart from every key the bot itself writes. */
export const RELAYED_KEY_PREFIX = 'cli:';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

function relayedRecord(body: Record<string, unknown>): TrailRecordInput {
  const record = body.record as Record<string, unknown> | null | undefined;
  if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new ControlError('TRAIL_INPUT', 'the body needs a record object');
  const refuse = (why: string) => new ControlError('TRAIL_INPUT', `the relay records only commands typed in the CLI: ${why}`);
  if (record.origin !== 'cli') throw refuse(`origin must be cli, not ${JSON.stringify(record.origin ?? null)}`);
  const kind = record.kind;
  if (!(RELAYED_KINDS as readonly unknown[]).includes(kind)) throw refuse(`kind must be one of ${RELAYED_KINDS.join(', ')}, not ${JSON.stringify(kind ?? null)}`);
  if (typeof record.actor !== 'string' || !record.actor.startsWith('cli:')) throw refuse(`the actor must be a cli:<user>, not ${JSON.stringify(record.actor ?? null)}`);
  if (record.at !== undefined) throw refuse('the relay stamps the time itself (no at)');
  const key = record.key;
  if (typeof key !== 'string' || !new RegExp(`^${kind as string}:${UUID}$`).test(key)) {
    throw refuse(`the key must be ${kind as string}:<execution uuid>, not ${JSON.stringify(key ?? null)}`);
  }
  return { ...(record as unknown as TrailRecordInput), key: `${RELAYED_KEY_PREFIX}${key}` };
}

/** A relayed query, with the limits of `/acgs audit` (the CLI sends `since` as an ISO time). */
const RelayedQuery = z
  .object(
    {
      user: auditUserArgument.optional(),
      command: auditCommandArgument.optional(),
      kind: z.enum(TRAIL_KINDS, { error: `kind must be one of ${TRAIL_KINDS.join(', ')}` }).optional(),
      since: auditSinceArgument.optional(),
      beforeSequence: z.number({ error: 'beforeSequence must be a number' }).int('beforeSequence must be a whole number').positive('beforeSequence must be over 0').optional(),
      limit: z
        .number({ error: 'limit must be a number' })
        .int('limit must be a whole number')
        .min(1, `limit must be from 1 to ${MAX_QUERY_LIMIT}`)
        .max(MAX_QUERY_LIMIT, `limit must be from 1 to ${MAX_QUERY_LIMIT}`)
        .optional(),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? 'the filter must be a JSON object' : undefined) },
  )
  .strict();

function relayedQuery(body: Record<string, unknown>): TrailQuery {
  const parsed = RelayedQuery.safeParse(body.filter ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message));
    throw new ControlError('TRAIL_INPUT', `the trail query was refused: ${problems.join('; ')}`);
  }
  // Absent fields are left out, not set to undefined (exact optional properties).
  const filter: TrailQuery = {};
  for (const [name, value] of Object.entries(parsed.data)) if (value !== undefined) Object.assign(filter, { [name]: value });
  return filter;
}

/** `audit verify` from the CLI: from the last checkpoint, or `full` (the default, as AuditTrail.verify's). */
function relayedScope(body: Record<string, unknown>): TrailVerifyScope {
  const scope = body.scope === undefined ? 'full' : body.scope;
  if (scope !== 'checkpoint' && scope !== 'full') throw new ControlError('TRAIL_INPUT', `scope must be checkpoint or full, not ${JSON.stringify(scope).slice(0, 40)}`);
  return scope;
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
    'trail/query': (body) => asControlErrors(() => trail.query(relayedQuery(body))),
    'trail/verify': (body) => asControlErrors(() => trail.verify({ scope: relayedScope(body) })),
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
    verify: (options = {}) => call<TrailVerification & { waiting: number }>('trail/verify', { scope: options.scope ?? 'full' }, 120_000),
    async flush() {},
    async close() {},
  };
}
