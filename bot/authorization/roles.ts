/**
 * Who holds which role: the config file's `roles.<role>` lists, whose entries are Slack user
 * IDs (U..., W...) or Slack user group IDs (S...). A group's members come from Slack's
 * usergroups.users.list and are cached for a TTL. When Slack cannot answer, the last known
 * membership is used while it is younger than a maximum age (an hour by default), otherwise (or
 * when there is none) only the user IDs written in the config file, and
 * the resolution carries a note saying so, for the decision's reason.
 */
import { LRUCache } from 'lru-cache';

export const USER_GROUP_ID = /^S[A-Z0-9]{2,20}$/;
export const DEFAULT_ROLE_CACHE_TTL_MS = 5 * 60_000;
/**
 * How old a last known membership may be and still grant roles while Slack cannot answer. Someone
 * removed from the on-call group must lose its roles even if usergroups.users.list keeps failing
 * (revoked token, rate limits, an outage): an hour covers a Slack incident, not a removal.
 */
export const DEFAULT_ROLE_MAX_STALE_MS = 60 * 60_000;

/** The members of a Slack user group (user IDs); rejects when Slack cannot say. */
export interface UserGroupDirectory {
  membersOf(groupId: string): Promise<readonly string[]>;
}

/** The slice of @slack/web-api's WebClient this needs. */
export interface UserGroupsClient {
  usergroups: { users: { list(args: { usergroup: string }): Promise<{ ok?: boolean; users?: string[]; error?: string }> } };
}

export const DEFAULT_USER_GROUP_TIMEOUT_MS = 2000;

/**
 * usergroups.users.list through a Slack Web API client (needs the usergroups:read scope). A
 * command waits for this, and a WebClient may wait out a rate limit or retry for a long time,
 * so an answer that takes longer than `timeoutMs` counts as a failure.
 */
export function slackUserGroupDirectory(client: UserGroupsClient, timeoutMs = DEFAULT_USER_GROUP_TIMEOUT_MS): UserGroupDirectory {
  return {
    async membersOf(groupId) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        const answer = await Promise.race([client.usergroups.users.list({ usergroup: groupId }), timeout]);
        if (answer.ok === false || !Array.isArray(answer.users)) throw new Error(answer.error ?? 'no member list in the answer');
        return answer.users;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export interface RoleResolution {
  roles: string[];
  /** Set when Slack user groups could not be read; say it in the decision's reason. */
  note?: string;
}

export interface RoleResolverOptions {
  /** The config file's `roles` section. */
  roles: Readonly<Record<string, readonly string[]>>;
  /** Without it, group entries grant nothing and every resolution says so. */
  groups?: UserGroupDirectory;
  ttlMs?: number;
  /** Past this age a membership Slack could not refresh grants nothing (DEFAULT_ROLE_MAX_STALE_MS). */
  maxStaleMs?: number;
  /** Milliseconds clock for the cache's TTL and the note's age; tests pass their own. */
  clock?: { now(): number };
}

interface GroupMembers {
  members: ReadonlySet<string>;
  fetchedAt: number;
}

export class RoleResolver {
  private readonly directRoles = new Map<string, string[]>();
  /** role -> user group IDs listed under it. */
  private readonly groupRoles: Array<{ role: string; groups: string[] }> = [];
  private readonly cache: LRUCache<string, GroupMembers>;
  private readonly clock: { now(): number };

  constructor(private readonly options: RoleResolverOptions) {
    this.clock = options.clock ?? { now: () => Date.now() };
    for (const [role, members] of Object.entries(options.roles)) {
      const groups = members.filter((member) => USER_GROUP_ID.test(member));
      if (groups.length > 0) this.groupRoles.push({ role, groups });
      for (const member of members) {
        if (!USER_GROUP_ID.test(member)) this.directRoles.set(member, [...(this.directRoles.get(member) ?? []), role]);
      }
    }
    const groups = options.groups;
    this.cache = new LRUCache<string, GroupMembers>({
      max: 500,
      ttl: options.ttlMs ?? DEFAULT_ROLE_CACHE_TTL_MS,
      perf: this.clock,
      // Read the clock on every lookup: a membership must not outlive its TTL.
      ttlResolution: 0,
      // A failed refresh keeps (and returns) the last known membership.
      allowStaleOnFetchRejection: true,
      fetchMethod: async (groupId) => {
        if (!groups) throw new Error('no Slack connection');
        const members = await groups.membersOf(groupId);
        return { members: new Set(members), fetchedAt: this.clock.now() };
      },
    });
  }

  /** Whether any role is granted through Slack user groups. */
  get usesGroups(): boolean {
    return this.groupRoles.length > 0;
  }

  async rolesOf(userId: string): Promise<RoleResolution> {
    const roles = new Set(this.directRoles.get(userId) ?? []);
    const pending = this.groupRoles.filter(({ role }) => !roles.has(role));
    const groupIds = [...new Set(pending.flatMap(({ groups }) => groups))];
    const lookups = await Promise.all(groupIds.map((groupId) => this.lookup(groupId)));
    const byGroup = new Map(groupIds.map((groupId, index) => [groupId, lookups[index]!]));
    for (const { role, groups } of pending) {
      if (groups.some((groupId) => byGroup.get(groupId)?.members?.has(userId))) roles.add(role);
    }
    const notes = lookups.flatMap((lookup) => (lookup.note ? [lookup.note] : []));
    return { roles: [...roles].sort(), ...(notes.length > 0 ? { note: notes.join(' ') } : {}) };
  }

  /** Forgets every cached membership (for example after the config file changed). */
  clear(): void {
    this.cache.clear();
  }

  private async lookup(groupId: string): Promise<{ members?: ReadonlySet<string>; note?: string }> {
    const status: LRUCache.Status<string, GroupMembers> = {};
    const entry = await this.cache.fetch(groupId, { status });
    const failure = status.fetchError ? status.fetchError.message : undefined;
    const maxStaleMs = this.options.maxStaleMs ?? DEFAULT_ROLE_MAX_STALE_MS;
    if (entry && status.returnedStale && this.clock.now() - entry.fetchedAt > maxStaleMs) {
      return {
        note: `Slack user group ${groupId} could not be read (${failure ?? 'no answer'}), and its last known membership, from ${age(this.clock.now() - entry.fetchedAt)} ago, is older than the ${age(maxStaleMs)} allowed, so only the user IDs in the config file count for the roles it grants.`,
      };
    }
    if (entry && status.returnedStale) {
      return { members: entry.members, note: `Slack user group ${groupId} could not be read (${failure ?? 'no answer'}), so its membership from ${age(this.clock.now() - entry.fetchedAt)} ago was used.` };
    }
    if (!entry) {
      return { note: `Slack user group ${groupId} could not be read (${failure ?? 'no answer'}), so only the user IDs in the config file count for the roles it grants.` };
    }
    return { members: entry.members };
  }
}

function age(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 120 ? `${minutes} min` : `${Math.round(minutes / 60)} h`;
}
