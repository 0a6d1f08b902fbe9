/**
 * The stand-in's workspace in memory: channels, people, the bot, messages with Slack-style `ts`,
 * threads, ephemeral messages, App Home views. It records what happened and announces every
 * change (for the console's live view); it decides nothing about the bot's business.
 */
import { EventEmitter } from 'node:events';

export interface StandInChannel {
  id: string;
  name: string;
  isPrivate?: boolean;
  /** Slack refuses chat.postMessage with `not_in_channel` when the bot is not a member. */
  botIsMember?: boolean;
  /**
   * The people in the channel (the bot is `botIsMember`). Unset for the team's seeded channels,
   * which everybody is in; a channel created through conversations.create keeps its own list.
   */
  members?: string[];
  topic?: string;
  /** Archived (conversations.archive): it keeps its name and history, and takes no more posts. */
  archived?: boolean;
  /** Who created it through conversations.create (the bot's user ID). */
  creator?: string;
}

export interface StandInUser {
  id: string;
  name: string;
  realName: string;
  /** What the console's user switch shows, for example "on-call engineer". */
  roleLabel: string;
  isBot?: boolean;
  /** A deactivated account: conversations.open answers `user_disabled`. */
  deleted?: boolean;
  /** A guest account: conversations.invite refuses it with `user_is_restricted`. */
  restricted?: boolean;
}

export interface StandInMessage {
  ts: string;
  channel: string;
  /** The author: a person's ID or the bot's user ID. */
  user: string;
  botId?: string;
  text: string;
  blocks?: unknown[];
  threadTs?: string;
  /** Set for ephemeral messages: the only person who sees it. */
  visibleTo?: string;
  edited?: { user: string; ts: string };
  /** Set by response_url posts: which slash command or click the message answered. */
  responseType?: 'ephemeral' | 'in_channel';
  /** Files shared with the message (files.completeUploadExternal). */
  files?: StandInFileRef[];
  /** Emoji reactions, each with who added it, in the order they were first added. */
  reactions?: Array<{ name: string; users: string[] }>;
}

/** A shared file as a message shows it. */
export interface StandInFileRef {
  id: string;
  name: string;
  title: string;
  mimetype: string;
  size: number;
}

/** A shared file and, while it is among the newest MAX_KEPT_FILES, its bytes (for the console). */
export interface StandInFile extends StandInFileRef {
  bytes?: Buffer;
}

/** Files whose bytes are kept; older ones keep their name and size only, so a long run stays small. */
export const MAX_KEPT_FILES = 100;

/** A Slack user group (a "subteam", IDs start with S) and its members' user IDs. */
export interface StandInUserGroup {
  id: string;
  handle: string;
  name: string;
  users: string[];
}

export interface HomeView {
  id: string;
  userId: string;
  view: Record<string, unknown>;
  publishedAt: string;
}

export type WorkspaceChange =
  | { kind: 'message'; channel: string; ts: string; threadTs?: string; visibleTo?: string }
  | { kind: 'edit'; channel: string; ts: string; threadTs?: string; visibleTo?: string }
  | { kind: 'delete'; channel: string; ts: string; threadTs?: string; visibleTo?: string }
  | { kind: 'home'; userId: string }
  /** A channel was created or its members changed: the console lists channels anew. */
  | { kind: 'channel'; channel: string };

export interface WorkspaceSeed {
  teamId?: string;
  teamName?: string;
  channels?: StandInChannel[];
  users?: StandInUser[];
  userGroups?: StandInUserGroup[];
  bot?: { userId?: string; botId?: string; name?: string; appId?: string };
  /**
   * A workspace preference that lets only admins create channels: conversations.create answers
   * `restricted_action` to the bot (setChannelCreationRestricted switches it later).
   */
  channelCreationRestricted?: boolean;
}

export const DEFAULT_CHANNELS: readonly StandInChannel[] = [
  { id: 'C0ACGSOPS01', name: 'acgs-ops' },
  { id: 'C0ACGSALERT', name: 'acgs-alerts' },
  { id: 'C0ACGSDEPLY', name: 'acgs-deploys' },
  { id: 'C0ACGSAPPRV', name: 'acgs-approvals' },
];

export const DEFAULT_USERS: readonly StandInUser[] = [
  { id: 'U0ONCALL', name: 'oncall', realName: 'Olivia Oncall', roleLabel: 'on-call engineer' },
  { id: 'U0APPROVER1', name: 'approver1', realName: 'Amir Approver', roleLabel: 'approver 1' },
  { id: 'U0APPROVER2', name: 'approver2', realName: 'Beatriz Approver', roleLabel: 'approver 2' },
];

export const DEFAULT_USER_GROUPS: readonly StandInUserGroup[] = [
  { id: 'S0ACGSONCALL', handle: 'acgs-oncall', name: 'ACGS on-call', users: ['U0ONCALL'] },
  { id: 'S0ACGSAPPROVE', handle: 'acgs-approvers', name: 'ACGS approvers', users: ['U0APPROVER1', 'U0APPROVER2'] },
];

/**
 * Messages kept per channel (thread replies and ephemeral ones included); older ones are dropped.
 * The console runs for as long as `npm start` does, so its channels must not grow without end.
 */
export const MAX_MESSAGES_PER_CHANNEL = 1000;

/** Slack `ts` values: seconds and microseconds, unique and strictly increasing. */
export class TsClock {
  private lastMicros = 0;

  next(): string {
    const micros = Math.max(Date.now() * 1000, this.lastMicros + 1);
    this.lastMicros = micros;
    return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
  }
}

export class Workspace extends EventEmitter<{ change: [WorkspaceChange] }> {
  readonly teamId: string;
  readonly teamName: string;
  readonly bot: { userId: string; botId: string; name: string; appId: string };
  private readonly channels = new Map<string, StandInChannel>();
  private readonly users = new Map<string, StandInUser>();
  private readonly userGroups = new Map<string, StandInUserGroup>();
  private readonly messages = new Map<string, StandInMessage[]>();
  private readonly homes = new Map<string, HomeView>();
  private readonly files = new Map<string, StandInFile>();
  private readonly clock = new TsClock();
  private viewCounter = 0;
  private channelCounter = 0;
  /** Whether a workspace preference forbids the bot to create channels. */
  channelCreationRestricted: boolean;

  constructor(
    seed: WorkspaceSeed = {},
    private readonly maxMessagesPerChannel = MAX_MESSAGES_PER_CHANNEL,
  ) {
    super();
    this.teamId = seed.teamId ?? 'T0ACGS';
    this.teamName = seed.teamName ?? 'ACGS local';
    this.bot = {
      userId: seed.bot?.userId ?? 'U0ACGSBOT',
      botId: seed.bot?.botId ?? 'B0ACGSBOT',
      name: seed.bot?.name ?? 'acgs',
      appId: seed.bot?.appId ?? 'A0ACGSAPP',
    };
    for (const channel of seed.channels ?? DEFAULT_CHANNELS) this.channels.set(channel.id, { botIsMember: true, ...channel });
    for (const user of seed.users ?? DEFAULT_USERS) this.users.set(user.id, user);
    for (const group of seed.userGroups ?? DEFAULT_USER_GROUPS) this.userGroups.set(group.id, { ...group, users: [...group.users] });
    this.users.set(this.bot.userId, { id: this.bot.userId, name: this.bot.name, realName: 'ACGS bot', roleLabel: 'bot', isBot: true });
    this.channelCreationRestricted = seed.channelCreationRestricted ?? false;
  }

  /** Switches the preference that forbids the bot to create channels, as an admin would in Slack's settings. */
  setChannelCreationRestricted(restricted: boolean): void {
    this.channelCreationRestricted = restricted;
  }

  /** A channel the bot created: the bot is its only member until it invites people. */
  createChannel(name: string, isPrivate: boolean): StandInChannel {
    const id = `C1NEW${String(++this.channelCounter).padStart(6, '0')}`;
    const channel: StandInChannel = { id, name, isPrivate, botIsMember: true, members: [], creator: this.bot.userId };
    this.channels.set(id, channel);
    this.emit('change', { kind: 'channel', channel: id });
    return channel;
  }

  /** Whether a person is in the channel; everybody is in the team's seeded channels. */
  isMember(channel: StandInChannel, userId: string): boolean {
    if (userId === this.bot.userId) return channel.botIsMember !== false;
    return channel.members === undefined || channel.members.includes(userId);
  }

  addMembers(channelId: string, userIds: readonly string[]): void {
    const channel = this.channels.get(channelId);
    if (!channel?.members || userIds.length === 0) return;
    channel.members.push(...userIds.filter((user) => !channel.members!.includes(user)));
    this.emit('change', { kind: 'channel', channel: channelId });
  }

  archive(channelId: string): void {
    const channel = this.channels.get(channelId);
    if (!channel) return;
    channel.archived = true;
    this.emit('change', { kind: 'channel', channel: channelId });
  }

  setTopic(channelId: string, topic: string): void {
    const channel = this.channels.get(channelId);
    if (!channel) return;
    channel.topic = topic;
    this.emit('change', { kind: 'channel', channel: channelId });
  }

  nextTs(): string {
    return this.clock.next();
  }

  listChannels(): StandInChannel[] {
    return [...this.channels.values()];
  }

  /** Finds a channel by ID or by name (with or without `#`), as chat.postMessage accepts both. */
  findChannel(idOrName: string): StandInChannel | undefined {
    const byId = this.channels.get(idOrName);
    if (byId) return byId;
    const name = idOrName.replace(/^#/, '');
    return [...this.channels.values()].find((channel) => channel.name === name);
  }

  /** A direct-message channel with the bot, created on first use like Slack's `D...` IDs. */
  directChannelFor(userId: string): StandInChannel {
    const id = `D${userId.slice(1)}`;
    let channel = this.channels.get(id);
    if (!channel) {
      channel = { id, name: `dm-${userId}`, isPrivate: true, botIsMember: true };
      this.channels.set(id, channel);
    }
    return channel;
  }

  listUsers(): StandInUser[] {
    return [...this.users.values()];
  }

  findUser(id: string): StandInUser | undefined {
    return this.users.get(id);
  }

  findUserGroup(id: string): StandInUserGroup | undefined {
    return this.userGroups.get(id);
  }

  /** Replaces a user group's members, as an admin editing the group in Slack would; false when there is no such group. */
  setUserGroupMembers(id: string, users: readonly string[]): boolean {
    const group = this.userGroups.get(id);
    if (!group) return false;
    group.users = [...users];
    return true;
  }

  post(message: Omit<StandInMessage, 'ts'> & { ts?: string }): StandInMessage {
    const stored: StandInMessage = { ...message, ts: message.ts ?? this.nextTs() };
    const list = this.messages.get(stored.channel) ?? [];
    list.push(stored);
    // The oldest go first, as in a free Slack workspace's history.
    if (list.length > this.maxMessagesPerChannel) list.splice(0, list.length - this.maxMessagesPerChannel);
    this.messages.set(stored.channel, list);
    this.emit('change', { kind: 'message', channel: stored.channel, ts: stored.ts, threadTs: stored.threadTs, visibleTo: stored.visibleTo });
    return stored;
  }

  /** Keeps a shared file; the oldest files beyond MAX_KEPT_FILES lose their bytes. */
  keepFile(file: StandInFile): void {
    this.files.set(file.id, file);
    const withBytes = [...this.files.values()].filter((kept) => kept.bytes !== undefined);
    for (const old of withBytes.slice(0, Math.max(0, withBytes.length - MAX_KEPT_FILES))) delete old.bytes;
  }

  findFile(id: string): StandInFile | undefined {
    return this.files.get(id);
  }

  find(channel: string, ts: string): StandInMessage | undefined {
    return this.messages.get(channel)?.find((message) => message.ts === ts);
  }

  edit(channel: string, ts: string, changes: Partial<Pick<StandInMessage, 'text' | 'blocks'>>, editor: string): StandInMessage | undefined {
    const message = this.find(channel, ts);
    if (!message) return undefined;
    if (changes.text !== undefined) message.text = changes.text;
    if (changes.blocks !== undefined) message.blocks = changes.blocks;
    message.edited = { user: editor, ts: this.nextTs() };
    this.emit('change', { kind: 'edit', channel, ts, threadTs: message.threadTs, visibleTo: message.visibleTo });
    return message;
  }

  remove(channel: string, ts: string): boolean {
    const list = this.messages.get(channel);
    const index = list?.findIndex((message) => message.ts === ts) ?? -1;
    if (!list || index < 0) return false;
    const [removed] = list.splice(index, 1);
    this.emit('change', { kind: 'delete', channel, ts, threadTs: removed?.threadTs, visibleTo: removed?.visibleTo });
    return true;
  }

  /**
   * Top-level messages of a channel in order, as a given person sees them: other people's
   * ephemeral messages are left out. Without a viewer, no ephemeral message is shown.
   */
  channelMessages(channel: string, viewer?: string): StandInMessage[] {
    return (this.messages.get(channel) ?? []).filter((message) => isVisible(message, viewer) && (message.threadTs === undefined || message.threadTs === message.ts));
  }

  /** Every message of a channel the viewer sees, thread replies included, oldest first. */
  allMessages(channel: string, viewer?: string): StandInMessage[] {
    return (this.messages.get(channel) ?? []).filter((message) => isVisible(message, viewer));
  }

  /** The parent and its replies, oldest first. */
  threadMessages(channel: string, threadTs: string, viewer?: string): StandInMessage[] {
    return (this.messages.get(channel) ?? []).filter((message) => isVisible(message, viewer) && (message.ts === threadTs || message.threadTs === threadTs));
  }

  replyCount(channel: string, threadTs: string): number {
    return (this.messages.get(channel) ?? []).filter((message) => message.threadTs === threadTs && message.ts !== threadTs && message.visibleTo === undefined).length;
  }

  publishHome(userId: string, view: Record<string, unknown>): HomeView {
    const previous = this.homes.get(userId);
    const home: HomeView = { id: previous?.id ?? `V0HOME${String(++this.viewCounter).padStart(4, '0')}`, userId, view, publishedAt: this.nextTs() };
    this.homes.set(userId, home);
    this.emit('change', { kind: 'home', userId });
    return home;
  }

  home(userId: string): HomeView | undefined {
    return this.homes.get(userId);
  }
}

function isVisible(message: StandInMessage, viewer: string | undefined): boolean {
  return message.visibleTo === undefined || message.visibleTo === viewer;
}
