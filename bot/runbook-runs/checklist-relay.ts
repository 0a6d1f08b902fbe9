/**
 * The CLI's way to the runbook's checklists when the bot's database is the embedded PGlite of the
 * running `npm start` (no DATABASE_URL; PGlite has one session, the bot's): that process lends its
 * Checklists port over the local stack's control channel, as it lends its runbook engine
 * (run-relay.ts), and the CLI's port is a thin client of it. A checklist the CLI changes is the
 * same row the bot shows in Slack.
 *
 * The channel's token says only that the caller can read the state directory, so the relay takes
 * what the CLI's command path sends and nothing else: checklists started from the CLI (origin
 * `cli`, a `cli:` user, no channel), ticks, unticks and re-runs by a `cli:` user, ids as UUIDs.
 * Reading is open to the token; a change must name the committed `execution` record of the allowed
 * command it carries out (run-execution-check.ts), as a relayed run must.
 *
 * Feature `checklists` in the supervisor file, routes `POST /v1/checklists/...`. A refusal of the
 * checklists comes back with the code `checklist-request:<code>` and becomes the same
 * ChecklistRequestError in the CLI.
 */
import { z } from 'zod';
import { CommandError } from '../../commands/command.js';
import { ChecklistRequestError, type ChecklistDefinitionInfo, type ChecklistEventInfo, type ChecklistInfo, type Checklists } from '../../commands/ports.js';
import { ControlCallError, type ControlChannel } from '../../services/stack/local/local-control-client.js';
import { ControlError, type ControlExtension } from '../../services/stack/local/local-control.js';
import type { RunExecutionClaim, RunExecutionGuard } from './run-execution-check.js';

/** The feature name the supervisor file announces when its owner lends its checklists. */
export const CHECKLIST_RELAY_FEATURE = 'checklists';

/** Most completed checklists one `checklists` asks for. */
export const MAX_RELAYED_COMPLETED = 100;

const REQUEST_CODE_PREFIX = 'checklist-request:';

const uuid = (field: string) =>
  z.string({ error: `${field} must be an id` }).regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, `${field} must be an id (a UUID)`);
const cliUser = (field: string) => z.string({ error: `${field} must be a cli:<user>` }).max(200).startsWith('cli:', `${field} must be a cli:<user>: the relay takes only what the CLI asks for`);
const itemId = z.string({ error: 'item must be an item id' }).min(1).max(80);
const executionKey = z.string({ error: 'execution must be the key of an execution record' }).max(200).optional();

const BODIES = {
  start: z
    .object({
      checklist: z.string({ error: 'checklist must be a name' }).min(1).max(60),
      startedBy: cliUser('startedBy'),
      origin: z.literal('cli', { error: 'origin must be cli: the relay takes only checklists started in the CLI' }),
      execution: executionKey,
    })
    .strict(),
  mark: z.object({ id: uuid('id'), item: itemId, by: cliUser('by'), execution: executionKey }).strict(),
  rerun: z.object({ id: uuid('id'), by: cliUser('by'), execution: executionKey }).strict(),
  get: z.object({ id: uuid('id') }).strict(),
  recent: z.object({ limit: z.number().int().min(1).max(MAX_RELAYED_COMPLETED) }).strict(),
};

function parsed<T>(schema: z.ZodType<T>, body: Record<string, unknown>): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message));
  throw new ControlError('CHECKLIST_INPUT', `the checklist relay refused the request: ${problems.join('; ')}`);
}

async function asControlErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ChecklistRequestError) throw new ControlError(`${REQUEST_CODE_PREFIX}${error.code}`, error.message, 422);
    throw error;
  }
}

async function requireExecution(guard: RunExecutionGuard, claim: RunExecutionClaim, what: string): Promise<void> {
  const why = await guard(claim);
  if (why !== undefined) throw new ControlError('CHECKLIST_REFUSED', `The checklist relay refused to ${what}: ${why}. Nothing was recorded.`, 403);
}

/** The routes `npm start` adds to its control channel for the CLI's checklist commands. */
export function checklistRelayRoutes(checklists: Checklists, guard: RunExecutionGuard): Record<string, ControlExtension> {
  return {
    'checklists/definitions': async () => ({ definitions: checklists.definitions() }),
    'checklists/start': (body) =>
      asControlErrors(async () => {
        const { execution, ...request } = parsed(BODIES.start, body);
        await requireExecution(guard, { execution, actor: request.startedBy, commands: ['checklist'] }, `start the ${request.checklist} checklist`);
        return checklists.start(request);
      }),
    'checklists/tick': (body) =>
      asControlErrors(async () => {
        const { id, item, by, execution } = parsed(BODIES.mark, body);
        await requireExecution(guard, { execution, actor: by, commands: ['checklist tick'] }, `tick ${item} of checklist ${id}`);
        return checklists.tick(id, item, by);
      }),
    'checklists/untick': (body) =>
      asControlErrors(async () => {
        const { id, item, by, execution } = parsed(BODIES.mark, body);
        await requireExecution(guard, { execution, actor: by, commands: ['checklist untick'] }, `untick ${item} of checklist ${id}`);
        return checklists.untick(id, item, by);
      }),
    'checklists/rerun': (body) =>
      asControlErrors(async () => {
        const { id, by, execution } = parsed(BODIES.rerun, body);
        await requireExecution(guard, { execution, actor: by, commands: ['checklist rerun'] }, `re-run the checks of checklist ${id}`);
        return checklists.rerun(id, by);
      }),
    'checklists/get': (body) => asControlErrors(() => checklists.get(parsed(BODIES.get, body).id)),
    'checklists/recent': (body) => asControlErrors(() => checklists.recent(parsed(BODIES.recent, body).limit)),
  };
}

/** A Checklists port answered by the process behind `channel`; the definitions are asked for once here (`definitions()` is synchronous). */
export async function createRelayedChecklists(channel: Pick<ControlChannel, 'call' | 'supervisorPid'>): Promise<Checklists> {
  const owner = `npm start (pid ${channel.supervisorPid})`;
  async function call<T>(route: string, body: unknown, timeoutMs = 15_000): Promise<T> {
    try {
      return await channel.call<T>('POST', `/v1/${route}`, body, timeoutMs);
    } catch (error) {
      if (error instanceof ControlCallError && error.code.startsWith(REQUEST_CODE_PREFIX)) throw new ChecklistRequestError(error.code.slice(REQUEST_CODE_PREFIX.length), error.message);
      if (error instanceof ControlCallError && error.code === 'CHECKLIST_REFUSED') throw new ChecklistRequestError('relay-refused', error.message);
      throw new CommandError(`The checklists are kept by ${owner}, which could not answer (${(error as Error)?.message ?? String(error)}).`, 'Check that npm start still runs, then ask again.', 'unavailable');
    }
  }
  const { definitions } = await call<{ definitions: ChecklistDefinitionInfo[] }>('checklists/definitions', {});
  const withExecution = (execution: string | undefined) => (execution ? { execution } : {});
  return {
    definitions: () => definitions,
    // Starting runs the automatic checks, each with its own deadline: give them the time they take.
    start: ({ channel: _channel, ...request }) => call<ChecklistInfo>('checklists/start', request, 60_000),
    tick: (id, item, by, execution) => call<ChecklistInfo>('checklists/tick', { id, item, by, ...withExecution(execution) }),
    untick: (id, item, by, execution) => call<ChecklistInfo>('checklists/untick', { id, item, by, ...withExecution(execution) }),
    rerun: (id, by, execution) => call<ChecklistInfo>('checklists/rerun', { id, by, ...withExecution(execution) }, 60_000),
    get: (id) => call<{ checklist: ChecklistInfo; events: ChecklistEventInfo[] }>('checklists/get', { id }),
    recent: (limit) => call<{ open: ChecklistInfo[]; completed: ChecklistInfo[] }>('checklists/recent', { limit: Math.min(limit, MAX_RELAYED_COMPLETED) }),
  };
}
