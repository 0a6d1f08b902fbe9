/**
 * The commands' Incidents port (commands/ports.ts) on the incident store: records become the
 * port's plain data and the store's refusals the port's, so that commands/ never imports bot/.
 * One per process, on the bot's database (bot/main.ts, the CLI with DATABASE_URL). The Slack
 * side's seams (a channel of its own, announcing updates, the review) are handed in when they exist.
 */
import { IncidentRequestError, type IncidentActionItemInfo, type IncidentChange, type IncidentInfo, type Incidents } from '../../commands/ports.js';
import { IncidentError, incidentIdOf, incidentKey } from './incident-input.js';
import { incidentTimes } from './incident-times.js';
import type { ActionItem, Incident, IncidentStore, Transition } from './incident-store.js';

export function incidentInfo(incident: Incident): IncidentInfo {
  const roles: IncidentInfo['roles'] = {};
  for (const [role, holder] of Object.entries(incident.roles)) if (holder) roles[role as keyof IncidentInfo['roles']] = holder.holder;
  return {
    id: incident.id,
    key: incident.key,
    title: incident.title,
    severity: incident.severity,
    type: incident.type,
    private: incident.private,
    state: incident.state,
    channelId: incident.channelId ?? null,
    declaredBy: incident.declaredBy,
    declaredAt: incident.declaredAt,
    detectedAt: incident.detectedAt,
    resolvedAt: incident.resolvedAt ?? null,
    resolvedBy: incident.resolvedBy ?? null,
    closedAt: incident.closedAt ?? null,
    closedBy: incident.closedBy ?? null,
    lastUpdateAt: incident.lastUpdateAt,
    roles,
  };
}

const actionItemInfo = (item: ActionItem): IncidentActionItemInfo => ({
  id: item.id,
  text: item.text,
  owner: item.owner,
  state: item.state,
  createdBy: item.createdBy,
  createdAt: item.createdAt,
  updatedBy: item.updatedBy,
  updatedAt: item.updatedAt,
});

const change = (transition: Transition): IncidentChange => ({ incident: incidentInfo(transition.incident), changed: transition.changed });

/** The store's refusal, as the port's (its sentence is safe to show); anything else as it is. */
function refused(error: unknown): never {
  if (error instanceof IncidentError) throw new IncidentRequestError(error.code, error.message);
  throw error;
}

export interface CommandIncidentsOptions {
  /** The bot's timezone (config `timezone:`). */
  timezone: string;
  /** channels.ops, where an incident runs without a channel of its own. */
  opsChannel?: string;
  /** The Slack side's seams (commands/ports.ts Incidents). */
  openChannel?: Incidents['openChannel'];
  announceUpdate?: Incidents['announceUpdate'];
  closed?: Incidents['closed'];
  /** The review (incident-reviews.ts), for `incident review`. */
  review?: Incidents['review'];
}

export function commandIncidents(store: IncidentStore, options: CommandIncidentsOptions): Incidents {
  const guarded = <T>(work: Promise<T>): Promise<T> => work.catch(refused);
  return {
    timezone: options.timezone,
    ...(options.opsChannel ? { opsChannel: options.opsChannel } : {}),
    async declare({ title, severity, type, by, at, requestKey }) {
      const declared = await guarded(store.declare({ title, severity: severity as Incident['severity'], type: type as Incident['type'], declaredBy: by, at, ...(requestKey ? { requestKey } : {}) }));
      return { incident: incidentInfo(declared), created: declared.created };
    },
    find: async (key) => {
      const found = await store.find(key);
      return found ? incidentInfo(found) : undefined;
    },
    open: async () => (await store.open()).map(incidentInfo),
    inChannel: async (channelId) => (await store.inChannel(channelId)).map(incidentInfo),
    list: async (since) => (await store.list({ since })).map(incidentInfo),
    times: async (period) => incidentTimes(await store.declaredIn(period), period),
    setChannel: (key, channelId) => guarded(store.setChannel(key, channelId)).then(change),
    changeRole: (key, input) => guarded(store.changeRole(key, { ...input, role: input.role as 'commander' })).then(change),
    changeSeverity: (key, severity, by, at) => guarded(store.changeSeverity(key, severity, by, at)).then(change),
    changeType: (key, type, by, at) => guarded(store.changeType(key, type, by, at)).then(change),
    postUpdate: async (key, update) => ({ created: (await guarded(store.postUpdate(key, update))).created }),
    async note(key, { actor, text, at, requestKey }) {
      await guarded(store.addToTimeline(key, { kind: 'note', occurredAt: at, actor, text, ...(requestKey ? { requestKey } : {}) }, at));
    },
    resolve: (key, by, at) => guarded(store.resolve(key, by, at)).then(change),
    close: (key, by, at) => guarded(store.close(key, by, at)).then(change),
    actionItems: async (key) => (await guarded(store.actionItems(key))).map(actionItemInfo),
    addActionItem: (key, item) => guarded(store.addActionItem(key, item)).then(actionItemInfo),
    async setActionItemState(key, itemId, state, by, at) {
      const items = await guarded(store.actionItems(key));
      // An item number typed with the wrong incident must not tick another incident's item.
      if (!items.some((item) => item.id === itemId)) throw new IncidentRequestError('not-found', `${incidentKey(incidentIdOf(key) ?? key)} has no action item ${itemId}`);
      return actionItemInfo(await guarded(store.setActionItemState(itemId, state, by, at)));
    },
    ...(options.openChannel ? { openChannel: options.openChannel } : {}),
    ...(options.announceUpdate ? { announceUpdate: options.announceUpdate } : {}),
    ...(options.closed ? { closed: options.closed } : {}),
    ...(options.review ? { review: options.review } : {}),
  };
}
