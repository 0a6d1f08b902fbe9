/**
 * The Slack side of the incident commands (issue 16): the `openChannel` and `announceUpdate` seams
 * of the Incidents port (commands/ports.ts), made from the bot's client, its write queue, the
 * config's roles and escalation matrix, and the ports the briefing reads.
 *
 * - openChannel: the incident's own channel (incident-channel.ts) with on-call, the commander and
 *   the matrix's people for its type (bot/incidents/incident-members.ts), user groups expanded and
 *   bots left out, and the briefing (incident-briefing.ts) posted first. When Slack will not make
 *   the channel it throws a sentence; the declaration then runs the incident in channels.ops and
 *   says why (commands/incident-declare.ts), and the briefing is posted in channels.ops instead.
 * - announceUpdate: the update in the incident's channel and in channels.ops (once when they are
 *   the same), and by DM to the `stakeholders` role for sev1 and sev2. The update is recorded
 *   before this is called: a Slack failure here is logged, never posted to Slack, and never fails
 *   the command.
 */
import type { webApi } from '@slack/bolt';
import type { CommandDependencies } from '../../commands/dependencies.js';
import type { IncidentInfo, Incidents, IncidentSeverity, OpenedIncidentChannel } from '../../commands/ports.js';
import type { ContactSlackReach, EscalationMatrix } from '../alerts/escalation-matrix.js';
import type { UserGroupDirectory } from '../authorization/roles.js';
import { incidentMembers } from '../incidents/incident-members.js';
import type { ChannelWriteQueue } from './channel-write-queue.js';
import { renderIncidentBriefing } from './incident-briefing.js';
import { gatherBriefingParts } from './incident-briefing-sources.js';
import { openIncidentChannel, type NotInvited } from './incident-channel.js';
import { renderIncidentUpdate } from './incident-update-message.js';

/** Severities whose updates reach the stakeholders (issue 16). */
export const STAKEHOLDER_SEVERITIES: readonly IncidentSeverity[] = ['sev1', 'sev2'];

const USER_GROUP = /^S[A-Z0-9]{2,20}$/;

export interface IncidentSlackOptions {
  client: webApi.WebClient;
  writes: ChannelWriteQueue;
  /** The config's roles: `oncall` is invited, `stakeholders` told of sev1/sev2 updates. */
  roles: Readonly<Record<string, readonly string[]>>;
  matrix: Pick<EscalationMatrix, 'issueTypes'>;
  contacts?: ReadonlyMap<string, ContactSlackReach>;
  /** Members of the user groups named in roles and the matrix. */
  groups?: UserGroupDirectory;
  opsChannel?: string;
  /** What the briefing reads: the commands' ports. */
  services: CommandDependencies;
  log(message: string, error?: unknown): void;
}

export type IncidentSlack = Required<Pick<Incidents, 'openChannel' | 'announceUpdate'>>;

export function incidentSlack(options: IncidentSlackOptions): IncidentSlack {
  const { client, writes, log } = options;
  let botUserId: Promise<string | undefined> | undefined;
  // The bot's own ID once per process; a failed auth.test is asked again next time.
  const ownId = () => {
    botUserId ??= client.auth.test().then(
      (answer) => answer.user_id,
      () => {
        botUserId = undefined;
        return undefined;
      },
    );
    return botUserId;
  };

  /** User groups become their members; a group that cannot be read is said, by its ID. */
  async function expand(ids: readonly string[]): Promise<{ users: string[]; unread: NotInvited[] }> {
    const users = new Set<string>();
    const unread: NotInvited[] = [];
    for (const id of ids) {
      if (!USER_GROUP.test(id)) {
        users.add(id);
        continue;
      }
      try {
        if (!options.groups) throw new Error('user groups cannot be read here');
        for (const member of await options.groups.membersOf(id)) users.add(member);
      } catch (error) {
        unread.push({ user: id, reason: `its members could not be read (${(error as Error)?.message ?? String(error)})` });
      }
    }
    return { users: [...users], unread };
  }

  /** Bots never join an incident: the bot itself is in its channel already, and other bots only add noise. */
  async function withoutBots(users: readonly string[]): Promise<string[]> {
    const self = await ownId();
    const kept: string[] = [];
    for (const user of users) {
      if (user === self) continue;
      // Whom Slack cannot describe is still asked for: the invitation then says why not.
      const info = await client.users.info({ user }).catch(() => undefined);
      if (info?.user?.is_bot) continue;
      kept.push(user);
    }
    return kept;
  }

  async function openChannel(incident: IncidentInfo): Promise<OpenedIncidentChannel> {
    const roles = Object.fromEntries(Object.entries(incident.roles).map(([role, holder]) => [role, { holder }]));
    const wanted = incidentMembers({ incident, roles: options.roles, matrix: options.matrix, ...(options.contacts ? { contacts: options.contacts } : {}) });
    if (wanted.emptyRoles.length > 0) log(`${incident.key}: nobody holds ${wanted.emptyRoles.join(', ')} in the config; nobody invited for ${wanted.emptyRoles.length === 1 ? 'it' : 'them'}`);
    const [{ users, unread }, parts] = await Promise.all([expand(wanted.ids), gatherBriefingParts(options.services)]);
    const briefing = renderIncidentBriefing({ incident: { ...incident, roles }, ...parts });
    const outcome = await openIncidentChannel({ client, incident, members: await withoutBots(users), briefing, writes });
    if (!outcome.ok) {
      // The incident then runs in ops (commands/incident-declare.ts): what is known goes there instead.
      if (options.opsChannel) await tell(options.opsChannel, `${incident.key}'s briefing`, () => writes.post(options.opsChannel!, briefing));
      // The declaration's answer puts this in parentheses after "its channel could not be made".
      if (outcome.reason === 'creation-refused') throw new Error('Slack lets only workspace admins create channels here');
      throw new Error(outcome.message.replace(/\.$/, ''));
    }
    if (outcome.briefingProblem) log(`${incident.key}: ${outcome.briefingProblem}`);
    return { channelId: outcome.channelId, name: outcome.name, notInvited: [...unread, ...outcome.notInvited] };
  }

  /** One post; a failure is the log's, never the channel's. */
  async function tell(where: string, what: string, post: () => Promise<unknown>): Promise<void> {
    try {
      await post();
    } catch (error) {
      log(`${what}: not told in ${where}`, error);
    }
  }

  async function directMessage(user: string, message: ReturnType<typeof renderIncidentUpdate>): Promise<void> {
    const opened = await client.conversations.open({ users: user });
    const channel = opened.channel?.id;
    if (!channel) throw new Error('conversations.open answered without a channel');
    await writes.post(channel, message);
  }

  async function announceUpdate(incident: IncidentInfo, update: { author: string; text: string; at: Date }): Promise<void> {
    const what = `${incident.key}'s update`;
    try {
      const channels = [...new Set([incident.channelId, options.opsChannel].filter((channel): channel is string => Boolean(channel)))];
      const posts = channels.map((channel) =>
        tell(channel, what, () => writes.post(channel, renderIncidentUpdate({ incident, update, elsewhere: channel !== incident.channelId }))),
      );
      if (STAKEHOLDER_SEVERITIES.includes(incident.severity)) {
        const { users, unread } = await expand(options.roles.stakeholders ?? []);
        for (const group of unread) log(`${what}: stakeholders group ${group.user}: ${group.reason}`);
        const message = renderIncidentUpdate({ incident, update, elsewhere: true });
        posts.push(...users.map((user) => tell(`a DM to ${user}`, what, () => directMessage(user, message))));
      }
      await Promise.all(posts);
    } catch (error) {
      // Whatever went wrong, the update is recorded already: say so in the log only.
      log(`${what} could not be told in Slack`, error);
    }
  }

  return { openChannel, announceUpdate };
}
