/**
 * The CLI's way to the bot's incidents when the bot's database is the embedded PGlite of the
 * running `npm start` (no DATABASE_URL; PGlite has one session, the bot's): that process lends its
 * Incidents port over the local stack's control channel, as it lends its checklists
 * (bot/runbook-runs/checklist-relay.ts), and the CLI's port is a thin client of it.
 *
 * The channel's token says only that the caller can read the state directory, so reading is open
 * to it and every change is taken only for a `cli:` actor and under the committed `execution`
 * record of the allowed incident command it carries out (run-execution-check.ts). The relay stamps
 * the times of changes itself: a token holder cannot backdate a timeline.
 *
 * The Slack side's seams (openChannel, announceUpdate, closed) are the bot's: the commands call them
 * after a declaration, an update and a close, so the routes call them here, on the bot's port, right
 * after the change. A declaration is placed (its own channel, else channels.ops) in the same call,
 * since one execution record allows one change; the CLI's port answers the command's own
 * openChannel and setChannel with what the placement did, so the answer reads as in Slack.
 *
 * Feature `incidents` in the supervisor file, routes `POST /v1/incidents/...`. A refusal of the
 * store comes back with the code `incident-request:<code>` and becomes the same
 * IncidentRequestError in the CLI.
 */
import { z } from 'zod';
import { CommandError } from '../../commands/command.js';
import { IncidentRequestError, type IncidentActionItemInfo, type IncidentChange, type IncidentInfo, type IncidentReviewInfo, type Incidents, type IncidentTimesInfo, type OpenedIncidentChannel } from '../../commands/ports.js';
import { ControlCallError, type ControlChannel } from '../../services/stack/local/local-control-client.js';
import { ControlError, type ControlExtension } from '../../services/stack/local/local-control.js';
import type { RunExecutionClaim, RunExecutionGuard } from '../runbook-runs/run-execution-check.js';

/** The feature name the supervisor file announces when its owner lends its incidents. */
export const INCIDENT_RELAY_FEATURE = 'incidents';

const REQUEST_CODE_PREFIX = 'incident-request:';
const REQUEST_CODES = ['invalid', 'not-found', 'closed', 'transition'] as const;

const cliUser = (field: string) => z.string({ error: `${field} must be a cli:<user>` }).max(200).startsWith('cli:', `${field} must be a cli:<user>: the relay takes only what the CLI asks for`);
const key = z.string({ error: 'key must be an incident key such as INC-3' }).min(1).max(40);
const text = (field: string) => z.string({ error: `${field} must be text` }).max(4000);
const word = (field: string) => z.string({ error: `${field} must be a word` }).min(1).max(200);
const requestKey = z.string({ error: 'requestKey must be text' }).min(1).max(200).optional();
const executionKey = z.string({ error: 'execution must be the key of an execution record' }).max(200).optional();
const time = (field: string) =>
  z
    .string({ error: `${field} must be an ISO time` })
    .max(40)
    .refine((value) => !Number.isNaN(Date.parse(value)), `${field} must be an ISO time`)
    .transform((value) => new Date(value));

const BODIES = {
  key: z.object({ key }).strict(),
  channel: z.object({ channelId: word('channelId') }).strict(),
  since: z.object({ since: time('since') }).strict(),
  period: z.object({ from: time('from'), to: time('to') }).strict(),
  declare: z.object({ title: text('title'), severity: word('severity'), type: word('type'), by: cliUser('by'), requestKey, execution: executionKey }).strict(),
  role: z.object({ key, role: word('role'), holder: word('holder'), by: cliUser('by'), execution: executionKey }).strict(),
  field: z.object({ key, value: word('value'), by: cliUser('by'), execution: executionKey }).strict(),
  update: z.object({ key, author: cliUser('author'), text: text('text'), requestKey, execution: executionKey }).strict(),
  note: z.object({ key, actor: cliUser('actor'), text: text('text'), requestKey, execution: executionKey }).strict(),
  transition: z.object({ key, by: cliUser('by'), execution: executionKey }).strict(),
  addItem: z.object({ key, text: text('text'), owner: word('owner'), by: cliUser('by'), requestKey, execution: executionKey }).strict(),
  review: z.object({ key, asker: cliUser('asker') }).strict(),
  itemState: z.object({ key, item: word('item'), state: z.enum(['open', 'done', 'dropped'], { error: 'state must be open, done or dropped' }), by: cliUser('by'), execution: executionKey }).strict(),
};

function parsed<T>(schema: z.ZodType<T>, body: Record<string, unknown>): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message));
  throw new ControlError('INCIDENT_INPUT', `the incident relay refused the request: ${problems.join('; ')}`);
}

async function asControlErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof IncidentRequestError) throw new ControlError(`${REQUEST_CODE_PREFIX}${error.code}`, error.message, 422);
    throw error;
  }
}

async function requireExecution(guard: RunExecutionGuard, claim: RunExecutionClaim, what: string): Promise<void> {
  const why = await guard(claim);
  if (why !== undefined) throw new ControlError('INCIDENT_REFUSED', `The incident relay refused to ${what}: ${why}. Nothing was recorded.`, 403);
}

/** What the bot did to place a relayed declaration: the CLI's port answers the command's openChannel and setChannel with it. */
export interface RelayedPlacement {
  placed: IncidentInfo;
  opened?: OpenedIncidentChannel;
  /** Why the incident's own channel could not be made, in words. */
  openFailure?: string;
}

/** Where the command would run it (commands/incident-declare.ts): its own channel, else channels.ops; done here, where the seam is. */
async function place(port: Incidents, incident: IncidentInfo): Promise<RelayedPlacement> {
  if (incident.channelId) return { placed: incident };
  let openFailure: string | undefined;
  if (port.openChannel) {
    try {
      const opened = await port.openChannel(incident);
      return { placed: (await port.setChannel(incident.key, opened.channelId)).incident, opened };
    } catch (error) {
      openFailure = (error as Error)?.message ?? String(error);
    }
  }
  const placed = port.opsChannel ? (await port.setChannel(incident.key, port.opsChannel)).incident : incident;
  return { placed, ...(openFailure !== undefined ? { openFailure } : {}) };
}

/**
 * The routes `npm start` adds to its control channel for the CLI's incident commands. `port` is the
 * bot's own (with the Slack side's seams), or a getter when it is made after the channel starts.
 */
export function incidentRelayRoutes(port: Incidents | (() => Incidents | undefined), guard: RunExecutionGuard): Record<string, ControlExtension> {
  const incidents = (): Incidents => {
    const found = typeof port === 'function' ? port() : port;
    if (!found) throw new ControlError('INCIDENTS_STARTING', 'the bot is still starting: its incidents are not open yet; ask again in a moment', 503);
    return found;
  };
  const change = async (claim: RunExecutionClaim, what: string) => requireExecution(guard, claim, what);
  return {
    'incidents/settings': async () => {
      const bot = incidents();
      return { timezone: bot.timezone, ...(bot.opsChannel ? { opsChannel: bot.opsChannel } : {}), ownChannels: Boolean(bot.openChannel), reviews: Boolean(bot.review) };
    },
    // Reading, as `incident review` is (it may keep the review a failed close did not, which any reader would).
    'incidents/review': (body) =>
      asControlErrors(async () => {
        const bot = incidents();
        if (!bot.review) throw new ControlError('INCIDENT_INPUT', 'this bot keeps no incident reviews');
        const { key: wanted, asker } = parsed(BODIES.review, body);
        return bot.review(wanted, asker, new Date());
      }),
    'incidents/find': (body) => asControlErrors(async () => ({ incident: (await incidents().find(parsed(BODIES.key, body).key)) ?? null })),
    'incidents/open': async () => ({ incidents: await incidents().open() }),
    'incidents/in-channel': (body) => asControlErrors(async () => ({ incidents: await incidents().inChannel(parsed(BODIES.channel, body).channelId) })),
    'incidents/list': (body) => asControlErrors(async () => ({ incidents: await incidents().list(parsed(BODIES.since, body).since) })),
    'incidents/times': (body) => asControlErrors(async () => incidents().times(parsed(BODIES.period, body))),
    'incidents/action-items': (body) => asControlErrors(async () => ({ items: await incidents().actionItems(parsed(BODIES.key, body).key) })),
    'incidents/declare': (body) =>
      asControlErrors(async () => {
        const { execution, by, requestKey: request, ...input } = parsed(BODIES.declare, body);
        await change({ execution, actor: by, commands: ['incident declare'] }, 'declare an incident');
        const bot = incidents();
        const declared = await bot.declare({ ...input, by, at: new Date(), ...(request ? { requestKey: request } : {}) });
        return { ...declared, placement: await place(bot, declared.incident) };
      }),
    'incidents/change-role': (body) =>
      asControlErrors(async () => {
        const { key: incident, execution, ...role } = parsed(BODIES.role, body);
        await change({ execution, actor: role.by, commands: ['incident commander', 'incident role'] }, `hand over a role of ${incident}`);
        return incidents().changeRole(incident, { ...role, at: new Date() });
      }),
    'incidents/change-severity': (body) =>
      asControlErrors(async () => {
        const { key: incident, value, by, execution } = parsed(BODIES.field, body);
        await change({ execution, actor: by, commands: ['incident severity'] }, `change the severity of ${incident}`);
        return incidents().changeSeverity(incident, value, by, new Date());
      }),
    'incidents/change-type': (body) =>
      asControlErrors(async () => {
        const { key: incident, value, by, execution } = parsed(BODIES.field, body);
        await change({ execution, actor: by, commands: ['incident type'] }, `change the type of ${incident}`);
        return incidents().changeType(incident, value, by, new Date());
      }),
    'incidents/post-update': (body) =>
      asControlErrors(async () => {
        const { key: incident, author, text: words, requestKey: request, execution } = parsed(BODIES.update, body);
        await change({ execution, actor: author, commands: ['incident update'] }, `post an update to ${incident}`);
        const bot = incidents();
        const at = new Date();
        const posted = await bot.postUpdate(incident, { author, text: words, at, ...(request ? { requestKey: request } : {}) });
        // As the command does: told once, where the seam is (the incident's channel, channels.ops, stakeholders).
        if (posted.created && bot.announceUpdate) {
          const current = await bot.find(incident);
          if (current) await bot.announceUpdate(current, { author, text: words, at });
        }
        return posted;
      }),
    'incidents/note': (body) =>
      asControlErrors(async () => {
        const { key: incident, actor, text: words, requestKey: request, execution } = parsed(BODIES.note, body);
        await change({ execution, actor, commands: ['incident note'] }, `add a note to ${incident}`);
        await incidents().note(incident, { actor, text: words, at: new Date(), ...(request ? { requestKey: request } : {}) });
        return { noted: true };
      }),
    'incidents/resolve': (body) =>
      asControlErrors(async () => {
        const { key: incident, by, execution } = parsed(BODIES.transition, body);
        await change({ execution, actor: by, commands: ['incident resolve'] }, `resolve ${incident}`);
        return incidents().resolve(incident, by, new Date());
      }),
    'incidents/close': (body) =>
      asControlErrors(async () => {
        const { key: incident, by, execution } = parsed(BODIES.transition, body);
        await change({ execution, actor: by, commands: ['incident close'] }, `close ${incident}`);
        const bot = incidents();
        const closed = await bot.close(incident, by, new Date());
        if (closed.changed) await bot.closed?.(closed.incident);
        return closed;
      }),
    'incidents/add-action-item': (body) =>
      asControlErrors(async () => {
        const { key: incident, execution, requestKey: request, ...item } = parsed(BODIES.addItem, body);
        await change({ execution, actor: item.by, commands: ['incident action'] }, `add an action item to ${incident}`);
        return incidents().addActionItem(incident, { ...item, at: new Date(), ...(request ? { requestKey: request } : {}) });
      }),
    'incidents/set-action-item-state': (body) =>
      asControlErrors(async () => {
        const { key: incident, item, state, by, execution } = parsed(BODIES.itemState, body);
        await change({ execution, actor: by, commands: ['incident action'] }, `mark action item ${item} of ${incident} ${state}`);
        return incidents().setActionItemState(incident, item, state, by, new Date());
      }),
  };
}

// JSON carries times as strings: the port's data has Dates.
const date = (value: unknown): Date => new Date(value as string);
const orNull = (value: unknown): Date | null => (value === null || value === undefined ? null : date(value));

export function incidentFromJson(json: IncidentInfo): IncidentInfo {
  return {
    ...json,
    declaredAt: date(json.declaredAt),
    detectedAt: date(json.detectedAt),
    resolvedAt: orNull(json.resolvedAt),
    closedAt: orNull(json.closedAt),
    lastUpdateAt: date(json.lastUpdateAt),
  };
}

const itemFromJson = (json: IncidentActionItemInfo): IncidentActionItemInfo => ({ ...json, createdAt: date(json.createdAt), updatedAt: date(json.updatedAt) });
const changeFromJson = (json: IncidentChange): IncidentChange => ({ ...json, incident: incidentFromJson(json.incident) });

export interface RelayedIncidentsOptions {
  /**
   * The key of the committed execution record of the command this CLI process runs (one command per
   * process), sent with every change as the relay's proof; undefined before it is committed.
   */
  execution: () => string | undefined;
}

/** An Incidents port answered by the process behind `channel`; its settings are asked for once here. */
export async function createRelayedIncidents(channel: Pick<ControlChannel, 'call' | 'supervisorPid'>, options: RelayedIncidentsOptions): Promise<Incidents> {
  const owner = `npm start (pid ${channel.supervisorPid})`;
  async function call<T>(route: string, body: object): Promise<T> {
    try {
      return await channel.call<T>('POST', `/v1/${route}`, body, 30_000);
    } catch (error) {
      if (error instanceof ControlCallError && error.code.startsWith(REQUEST_CODE_PREFIX)) {
        const code = error.code.slice(REQUEST_CODE_PREFIX.length);
        throw new IncidentRequestError((REQUEST_CODES as readonly string[]).includes(code) ? (code as IncidentRequestError['code']) : 'invalid', error.message);
      }
      if (error instanceof ControlCallError && (error.code === 'INCIDENT_REFUSED' || error.code === 'INCIDENT_INPUT')) throw new CommandError(error.message, undefined, 'refused');
      throw new CommandError(`The incidents are kept by ${owner}, which could not answer (${(error as Error)?.message ?? String(error)}).`, 'Check that npm start still runs, then ask again.', 'unavailable');
    }
  }
  const changing = (body: object) => {
    const execution = options.execution();
    return { ...body, ...(execution ? { execution } : {}) };
  };
  const settings = await call<{ timezone: string; opsChannel?: string; ownChannels: boolean; reviews?: boolean }>('incidents/settings', {});
  // The placements the bot made of declarations of this process, by key (see the module's comment).
  const placements = new Map<string, RelayedPlacement>();
  const requestKey = (key: string | undefined) => (key ? { requestKey: key } : {});
  const port: Incidents = {
    timezone: settings.timezone,
    ...(settings.opsChannel ? { opsChannel: settings.opsChannel } : {}),
    async declare({ title, severity, type, by, requestKey: request }) {
      const declared = await call<{ incident: IncidentInfo; created: boolean; placement: RelayedPlacement }>('incidents/declare', changing({ title, severity, type, by, ...requestKey(request) }));
      const incident = incidentFromJson(declared.incident);
      placements.set(incident.key, { ...declared.placement, placed: incidentFromJson(declared.placement.placed) });
      return { incident, created: declared.created };
    },
    find: async (key) => {
      const { incident } = await call<{ incident: IncidentInfo | null }>('incidents/find', { key });
      return incident ? incidentFromJson(incident) : undefined;
    },
    open: async () => (await call<{ incidents: IncidentInfo[] }>('incidents/open', {})).incidents.map(incidentFromJson),
    inChannel: async (channelId) => (await call<{ incidents: IncidentInfo[] }>('incidents/in-channel', { channelId })).incidents.map(incidentFromJson),
    list: async (since) => (await call<{ incidents: IncidentInfo[] }>('incidents/list', { since: since.toISOString() })).incidents.map(incidentFromJson),
    times: (period) => call<IncidentTimesInfo>('incidents/times', { from: period.from.toISOString(), to: period.to.toISOString() }),
    async setChannel(key, channelId) {
      // Only the command's placement of its own declaration asks this, and the bot placed it already.
      const placed = placements.get(key)?.placed;
      if (placed && placed.channelId === channelId) return { incident: placed, changed: true };
      throw new IncidentRequestError('invalid', `the bot places incidents declared from the CLI itself; ${key} cannot be moved to ${channelId} from here`);
    },
    changeRole: async (key, { role, holder, by }) => changeFromJson(await call<IncidentChange>('incidents/change-role', changing({ key, role, holder, by }))),
    changeSeverity: async (key, value, by) => changeFromJson(await call<IncidentChange>('incidents/change-severity', changing({ key, value, by }))),
    changeType: async (key, value, by) => changeFromJson(await call<IncidentChange>('incidents/change-type', changing({ key, value, by }))),
    postUpdate: (key, { author, text: words, requestKey: request }) => call<{ created: boolean }>('incidents/post-update', changing({ key, author, text: words, ...requestKey(request) })),
    async note(key, { actor, text: words, requestKey: request }) {
      await call('incidents/note', changing({ key, actor, text: words, ...requestKey(request) }));
    },
    resolve: async (key, by) => changeFromJson(await call<IncidentChange>('incidents/resolve', changing({ key, by }))),
    close: async (key, by) => changeFromJson(await call<IncidentChange>('incidents/close', changing({ key, by }))),
    actionItems: async (key) => (await call<{ items: IncidentActionItemInfo[] }>('incidents/action-items', { key })).items.map(itemFromJson),
    addActionItem: async (key, { text: words, owner, by, requestKey: request }) => itemFromJson(await call<IncidentActionItemInfo>('incidents/add-action-item', changing({ key, text: words, owner, by, ...requestKey(request) }))),
    setActionItemState: async (key, item, state, by) => itemFromJson(await call<IncidentActionItemInfo>('incidents/set-action-item-state', changing({ key, item, state, by }))),
  };
  if (settings.reviews) {
    port.review = async (wanted, asker) => {
      const review = await call<IncidentReviewInfo>('incidents/review', { key: wanted, asker });
      return { ...review, incident: incidentFromJson(review.incident), generatedAt: new Date(review.generatedAt) };
    };
  }
  if (settings.ownChannels) {
    // The bot opened it (or failed to) during the declaration: answer with that, open nothing twice.
    port.openChannel = async (incident) => {
      const placement = placements.get(incident.key);
      if (placement?.opened) return placement.opened;
      throw new Error(placement?.openFailure ?? 'the bot did not open a channel for it');
    };
  }
  return port;
}
