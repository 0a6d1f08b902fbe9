/**
 * The CLI's way to the runbook engine when the bot's database is the embedded PGlite of the running
 * `npm start` (no DATABASE_URL): that process lends its RunbookRuns and BackupCatalog ports over
 * the local stack's control channel (services/stack/local/local-control.ts), beside the trail
 * relay (bot/audit-trail/trail-relay.ts), and the CLI's ports are thin clients of them. Its runner
 * runs what the CLI submits, and its run messages are the same rows the CLI follows.
 *
 * The channel's token says only that the caller can read the state directory. The relay therefore
 * takes what the CLI's command path sends and nothing else: runs requested from the CLI (origin
 * `cli`, a `cli:` requester, no channel), aborts and decisions by a `cli:` user, run ids as UUIDs,
 * arguments as `run` parses them (key=value strings). Reading is open to the token; a call that
 * changes a run must also name the committed `execution` record of the allowed command it carries
 * out, which the owner's guard checks against its trail (run-execution-check.ts), as a restart
 * over the same channel must.
 *
 * Versioned like the trail relay: the feature `runs` announced in the supervisor file, routes
 * `POST /v1/runs/...` and `/v1/backups/list`. An engine refusal comes back with the code
 * `run-request:<engine code>` and becomes the same RunRequestError in the CLI.
 */
import { z } from 'zod';
import { RunRequestError, type BackupCatalog, type BackupListing, type RunbookInfo, type RunbookRuns, type RunDetailInfo, type RunInfo, type RunPlanInfo } from '../../commands/ports.js';
import { ControlCallError, type ControlChannel } from '../../services/stack/local/local-control-client.js';
import { ControlError, type ControlExtension } from '../../services/stack/local/local-control.js';
import type { RunExecutionClaim, RunExecutionGuard } from './run-execution-check.js';

/** The feature name the supervisor file announces when its owner lends its runbook engine. */
export const RUN_RELAY_FEATURE = 'runs';

/** Most runs one `runs` asks for (the command asks for fewer). */
export const MAX_RELAYED_RECENT = 200;

const REQUEST_CODE_PREFIX = 'run-request:';

const runId = z.string({ error: 'id must be a run id' }).regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'id must be a run id (a UUID)');
const cliUser = (field: string) => z.string({ error: `${field} must be a cli:<user>` }).max(200).startsWith('cli:', `${field} must be a cli:<user>: the relay takes only what the CLI asks for`);
const runbookName = z.string({ error: 'runbook must be a name' }).min(1).max(80);
/** `run` passes key=value pairs as strings; nothing else reaches a runbook's schema from the CLI. */
const runArgs = z.record(z.string().max(80), z.string().max(2000), { error: 'args must be an object of key=value strings' }).refine((args) => Object.keys(args).length <= 40, 'at most 40 arguments');

const executionKey = z.string({ error: 'execution must be the key of an execution record' }).max(200).optional();

const BODIES = {
  plan: z.object({ runbook: runbookName, args: runArgs }).strict(),
  submit: z
    .object({
      runbook: runbookName,
      args: runArgs,
      requester: cliUser('requester'),
      origin: z.literal('cli', { error: 'origin must be cli: the relay takes only runs asked for in the CLI' }),
      execution: executionKey,
      version: z.string({ error: 'version must be a runbook version' }).max(64).optional(),
    })
    .strict(),
  get: z.object({ id: runId }).strict(),
  recent: z.object({ endedLimit: z.number().int().min(1).max(MAX_RELAYED_RECENT) }).strict(),
  abort: z.object({ id: runId, by: cliUser('by'), execution: executionKey }).strict(),
  decide: z.object({ id: runId, decision: z.enum(['retry', 'skip', 'abort']), by: cliUser('by'), execution: executionKey }).strict(),
};

function parsed<T>(schema: z.ZodType<T>, body: Record<string, unknown>): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message));
  throw new ControlError('RUN_INPUT', `the run relay refused the request: ${problems.join('; ')}`);
}

async function asControlErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof RunRequestError) throw new ControlError(`${REQUEST_CODE_PREFIX}${error.code}`, error.message, 422);
    throw error;
  }
}

/** Refuses a change to a run unless `guard` accepts the execution record it names. */
async function requireExecution(guard: RunExecutionGuard, claim: RunExecutionClaim, what: string): Promise<void> {
  const why = await guard(claim);
  if (why !== undefined) throw new ControlError('RUN_REFUSED', `The run relay refused to ${what}: ${why}. Nothing was recorded.`, 403);
}

/** Which commands' execution records may carry each change. */
const STARTING_COMMANDS = ['run', 'backup', 'backup verify'];

/** The routes `npm start` adds to its control channel for the CLI's run commands. */
export function runRelayRoutes(runs: RunbookRuns, backups: BackupCatalog, guard: RunExecutionGuard): Record<string, ControlExtension> {
  return {
    'runs/catalog': async () => ({ runbooks: runs.list(), backupRoot: backups.root }),
    'runs/plan': (body) => asControlErrors(() => {
      const { runbook, args } = parsed(BODIES.plan, body);
      return runs.plan(runbook, args);
    }),
    'runs/submit': (body) =>
      asControlErrors(async () => {
        const request = parsed(BODIES.submit, body);
        await requireExecution(guard, { execution: request.execution, actor: request.requester, commands: STARTING_COMMANDS }, `start a run of ${request.runbook}`);
        return runs.submit(request);
      }),
    'runs/get': (body) => asControlErrors(() => runs.get(parsed(BODIES.get, body).id)),
    'runs/recent': async (body) => ({ runs: await runs.activeAndRecent(parsed(BODIES.recent, body).endedLimit) }),
    'runs/abort': (body) =>
      asControlErrors(async () => {
        const { id, by, execution } = parsed(BODIES.abort, body);
        await requireExecution(guard, { execution, actor: by, commands: ['run abort'] }, `abort run ${id}`);
        return runs.abort(id, by);
      }),
    'runs/decide': (body) =>
      asControlErrors(async () => {
        const { id, decision, by, execution } = parsed(BODIES.decide, body);
        await requireExecution(guard, { execution, actor: by, commands: ['run decide'] }, `decide run ${id}`);
        return runs.decide(id, decision, by);
      }),
    'backups/list': async () => ({ backups: await backups.list() }),
  };
}

/** The bot's runbook engine could not be reached or could not answer; the message is safe to show. */
export class RunRelayUnavailableError extends Error {
  override readonly name = 'RunRelayUnavailableError';
}

/**
 * RunbookRuns and BackupCatalog whose calls are answered by the process behind `channel`. The
 * runbook list and the backup directory are asked for once here: `list()` is synchronous.
 */
export async function createRelayedRuns(channel: Pick<ControlChannel, 'call' | 'supervisorPid'>): Promise<{ runs: RunbookRuns; backups: BackupCatalog }> {
  const owner = `npm start (pid ${channel.supervisorPid})`;
  async function call<T>(route: string, body: unknown, timeoutMs = 15_000): Promise<T> {
    try {
      return await channel.call<T>('POST', `/v1/${route}`, body, timeoutMs);
    } catch (error) {
      if (error instanceof ControlCallError && error.code.startsWith(REQUEST_CODE_PREFIX)) throw new RunRequestError(error.code.slice(REQUEST_CODE_PREFIX.length), error.message);
      if (error instanceof ControlCallError && error.code === 'RUN_REFUSED') throw new RunRequestError('relay-refused', error.message);
      throw new RunRelayUnavailableError(`The runbook engine is run by ${owner}, which could not answer (${(error as Error)?.message ?? String(error)}).`);
    }
  }
  const catalog = await call<{ runbooks: RunbookInfo[]; backupRoot: string }>('runs/catalog', {});
  const runs: RunbookRuns = {
    list: () => catalog.runbooks,
    // A dry run makes each step's read-only check: give it the time those take.
    plan: (runbook, args) => call<RunPlanInfo>('runs/plan', { runbook, args }, 60_000),
    submit: ({ channel: _channel, ...request }) => call<RunInfo>('runs/submit', request),
    get: (id) => call<RunDetailInfo>('runs/get', { id }),
    activeAndRecent: async (endedLimit) => (await call<{ runs: RunInfo[] }>('runs/recent', { endedLimit: Math.min(endedLimit, MAX_RELAYED_RECENT) })).runs,
    abort: (id, by, execution) => call<RunInfo>('runs/abort', { id, by, ...(execution ? { execution } : {}) }),
    decide: (id, decision, by, execution) => call<RunInfo>('runs/decide', { id, decision, by, ...(execution ? { execution } : {}) }),
  };
  const backups: BackupCatalog = {
    root: catalog.backupRoot,
    list: async () => (await call<{ backups: BackupListing[] }>('backups/list', {})).backups,
  };
  return { runs, backups };
}
