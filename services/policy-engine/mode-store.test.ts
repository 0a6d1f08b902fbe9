import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireRedis } from '../../test/testing/redis.js';
import type { EngineModes } from './contract.js';
import { type ModeAuditEvent, ModeStore, writeFileAtomic } from './mode-store.js';
import { signModeChange } from './mode-signature.js';
import { entryFields, explicitEntry } from './shared-mode-plan.js';
import { tempDir } from './testing/policy-fixtures.js';

const quiet = { warn: () => undefined, info: () => undefined };
/** The admin token the replicas share: it signs explicit changes shared through Redis. */
const ADMIN_TOKEN = 'mode-store-test-admin-token-0123456789abcdef';
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function stateDir(): string {
  const dir = tempDir('acgs-modes');
  cleanups.push(() => dir.remove());
  return dir.path;
}

describe('atomic state file', () => {
  it('replaces the content and leaves no temporary file behind', async () => {
    const dir = stateDir();
    const path = join(dir, 'state.json');
    await writeFileAtomic(path, 'one');
    await writeFileAtomic(path, 'two');
    expect(readFileSync(path, 'utf8')).toBe('two');
    expect(readdirSync(dir)).toEqual(['state.json']);
  });
});

describe('mode store without Redis', () => {
  it('starts in normal mode and keeps a change across a new store on the same directory', async () => {
    const dir = stateDir();
    const first = new ModeStore({ stateDir: dir, keyPrefix: 'x:', log: quiet });
    expect(await first.load()).toEqual({ strict: false, lockdown: false });
    const result = await first.set('lockdown', true, { actor: 'oncall', reason: 'incident 7' });
    expect(result).toEqual({ modes: { strict: false, lockdown: true }, changed: true });
    const file = JSON.parse(readFileSync(join(dir, 'modes.json'), 'utf8'));
    expect(file).toMatchObject({ strict: false, lockdown: true, updated_by: 'oncall', reason: 'incident 7' });

    const second = new ModeStore({ stateDir: dir, keyPrefix: 'x:', log: quiet });
    expect(await second.load()).toEqual({ strict: false, lockdown: true });
  });

  it('reports a repeated change as unchanged and tells listeners only of real changes', async () => {
    const store = new ModeStore({ stateDir: stateDir(), keyPrefix: 'x:', log: quiet });
    await store.load();
    const seen: EngineModes[] = [];
    store.onChange((modes) => seen.push(modes));
    expect((await store.set('strict', true, { actor: 'a' })).changed).toBe(true);
    expect((await store.set('strict', true, { actor: 'a' })).changed).toBe(false);
    expect(seen).toEqual([{ strict: true, lockdown: false }]);
  });

  it('refuses to start from a corrupt state file instead of silently lifting a lockdown', async () => {
    const dir = stateDir();
    writeFileSync(join(dir, 'modes.json'), '{"strict": tru');
    const store = new ModeStore({ stateDir: dir, keyPrefix: 'x:', log: quiet });
    await expect(store.load()).rejects.toThrow(/modes\.json is corrupt/);
  });

  it('changes nothing when the state file cannot be written', async () => {
    const dir = stateDir();
    const store = new ModeStore({ stateDir: join(dir, 'gone'), keyPrefix: 'x:', log: quiet });
    await store.load();
    rmSync(join(dir, 'gone'), { recursive: true });
    await expect(store.set('lockdown', true, { actor: 'a' })).rejects.toThrow(/ENOENT/);
    expect(store.current).toEqual({ strict: false, lockdown: false });
  });
});

describe('mode store on the real Redis', () => {
  let redisInfo: Awaited<ReturnType<typeof requireRedis>>;
  const clients: Redis[] = [];

  beforeAll(async () => {
    redisInfo = await requireRedis();
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await redisInfo?.cleanup();
  });

  /** Disconnects and waits until the client has really closed, so that a later connect() is accepted. */
  async function goOffline(client: Redis): Promise<void> {
    const ended = new Promise((resolve) => client.once('end', resolve));
    client.disconnect();
    await ended;
  }

  async function redis(url = redisInfo.url): Promise<Redis> {
    const client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 200 });
    client.on('error', () => undefined);
    clients.push(client);
    await client.connect().catch(() => undefined);
    return client;
  }

  it('lets an explicit change shared through Redis win over the local state file, even a lift', async () => {
    const prefix = `${redisInfo.prefix}wins:`;
    const admin = new ModeStore({ stateDir: stateDir(), redis: await redis(), keyPrefix: prefix, signingKey: ADMIN_TOKEN, log: quiet });
    await admin.load();
    await admin.set('strict', true, { actor: 'oncall' });
    await admin.set('lockdown', false, { actor: 'oncall', reason: 'incident over' });
    const dir = stateDir();
    writeFileSync(join(dir, 'modes.json'), JSON.stringify({ strict: false, lockdown: true }));
    const store = new ModeStore({ stateDir: dir, redis: await redis(), keyPrefix: prefix, signingKey: ADMIN_TOKEN, log: quiet });
    expect(await store.load()).toEqual({ strict: true, lockdown: false });
    expect(JSON.parse(readFileSync(join(dir, 'modes.json'), 'utf8'))).toMatchObject({ strict: true, lockdown: false });
  });

  it('seeds Redis from the state file when Redis has no modes yet, without an expiry', async () => {
    const prefix = `${redisInfo.prefix}seed:`;
    const shared = await redis();
    const dir = stateDir();
    writeFileSync(join(dir, 'modes.json'), JSON.stringify({ strict: true, lockdown: false }));
    const store = new ModeStore({ stateDir: dir, redis: shared, keyPrefix: prefix, signingKey: ADMIN_TOKEN, log: quiet });
    await store.load();
    expect(await shared.hgetall(`${prefix}modes`)).toMatchObject({ strict: '1', lockdown: '0' });
    // No TTL: under volatile-* eviction policies the key is never evicted.
    expect(await shared.ttl(`${prefix}modes`)).toBe(-1);
  });

  it('keeps a lockdown when Redis lost the modes and a fresh replica in normal mode seeds them first', async () => {
    const prefix = `${redisInfo.prefix}lost:`;
    const shared = await redis();
    const locked = new ModeStore({ stateDir: stateDir(), redis: await redis(), keyPrefix: prefix, signingKey: ADMIN_TOKEN, log: quiet });
    await locked.load();
    await locked.set('lockdown', true, { actor: 'oncall', reason: 'incident 9' });
    await shared.del(`${prefix}modes`); // Redis restarted empty, or allkeys-lru evicted the key
    const fresh = new ModeStore({ stateDir: stateDir(), redis: await redis(), keyPrefix: prefix, signingKey: ADMIN_TOKEN, log: quiet });
    await fresh.load();
    await locked.sync();
    expect(locked.current).toEqual({ strict: false, lockdown: true });
    await fresh.sync();
    expect(fresh.current).toEqual({ strict: false, lockdown: true });
    expect(await shared.hgetall(`${prefix}modes`)).toMatchObject({ lockdown: '1' });
  });

  it('merges what each replica knows mode by mode when the shared modes are gone', async () => {
    const prefix = `${redisInfo.prefix}merge:`;
    const shared = await redis();
    const strictDir = stateDir();
    writeFileSync(join(strictDir, 'modes.json'), JSON.stringify({ strict: true, lockdown: false }));
    const lockedDir = stateDir();
    writeFileSync(join(lockedDir, 'modes.json'), JSON.stringify({ strict: false, lockdown: true }));
    const strict = new ModeStore({ stateDir: strictDir, redis: await redis(), keyPrefix: prefix, signingKey: ADMIN_TOKEN, log: quiet });
    const locked = new ModeStore({ stateDir: lockedDir, redis: await redis(), keyPrefix: prefix, signingKey: ADMIN_TOKEN, log: quiet });
    await strict.load();
    await locked.load();
    await strict.sync();
    expect(strict.current).toEqual({ strict: true, lockdown: true });
    expect(locked.current).toEqual({ strict: true, lockdown: true });
    expect(await shared.hgetall(`${prefix}modes`)).toMatchObject({ strict: '1', lockdown: '1' });
  });

  it('treats modes written without their origin (an older engine) as merged, so they never lift a lockdown', async () => {
    const prefix = `${redisInfo.prefix}legacy:`;
    const shared = await redis();
    await shared.hset(`${prefix}modes`, { strict: '1', lockdown: '0' });
    const dir = stateDir();
    writeFileSync(join(dir, 'modes.json'), JSON.stringify({ strict: false, lockdown: true }));
    const store = new ModeStore({ stateDir: dir, redis: shared, keyPrefix: prefix, signingKey: ADMIN_TOKEN, log: quiet });
    expect(await store.load()).toEqual({ strict: true, lockdown: true });
  });

  it('lifts a merged lockdown on every replica only through an explicit change', async () => {
    const prefix = `${redisInfo.prefix}lift:`;
    const shared = await redis();
    const lockedDir = stateDir();
    writeFileSync(join(lockedDir, 'modes.json'), JSON.stringify({ strict: false, lockdown: true }));
    const locked = new ModeStore({ stateDir: lockedDir, redis: await redis(), keyPrefix: prefix, signingKey: ADMIN_TOKEN, log: quiet });
    const other = new ModeStore({ stateDir: stateDir(), redis: await redis(), keyPrefix: prefix, signingKey: ADMIN_TOKEN, log: quiet });
    await other.load();
    await locked.load();
    await other.sync();
    expect(other.current.lockdown).toBe(true);
    await other.set('lockdown', false, { actor: 'oncall', reason: 'all clear' });
    await locked.sync();
    expect(locked.current.lockdown).toBe(false);
    await locked.sync();
    expect(await shared.hgetall(`${prefix}modes`)).toMatchObject({ lockdown: '0' });
    expect(JSON.parse(readFileSync(join(lockedDir, 'modes.json'), 'utf8'))).toMatchObject({ lockdown: false });
  });

  it('brings a second replica to the modes another replica set', async () => {
    const prefix = `${redisInfo.prefix}replicas:`;
    const one = new ModeStore({ stateDir: stateDir(), redis: await redis(), keyPrefix: prefix, signingKey: ADMIN_TOKEN, log: quiet });
    const two = new ModeStore({ stateDir: stateDir(), redis: await redis(), keyPrefix: prefix, signingKey: ADMIN_TOKEN, log: quiet });
    await one.load();
    await two.load();
    const seen: EngineModes[] = [];
    two.onChange((modes) => seen.push(modes));
    await one.set('lockdown', true, { actor: 'oncall' });
    await two.sync();
    expect(two.current).toEqual({ strict: false, lockdown: true });
    expect(seen).toEqual([{ strict: false, lockdown: true }]);
  });

  it('tells listeners of modes adopted from Redis in the same step as it adopts them', async () => {
    const prefix = `${redisInfo.prefix}notify:`;
    const one = new ModeStore({ stateDir: stateDir(), redis: await redis(), keyPrefix: prefix, signingKey: ADMIN_TOKEN, log: quiet });
    const two = new ModeStore({ stateDir: stateDir(), redis: await redis(), keyPrefix: prefix, signingKey: ADMIN_TOKEN, log: quiet });
    await one.load();
    await two.load();
    const seen: EngineModes[] = [];
    two.onChange((modes) => seen.push(modes));
    await one.set('lockdown', true, { actor: 'oncall' });
    const syncing = two.sync();
    // Whoever sees the new modes first (a request computing its cache key) must find the
    // listeners (the policy's runtime data) already told, even while the state file is written.
    const listenersToldWhenVisible = await new Promise<boolean>((resolve) => {
      const check = () => (two.current.lockdown ? resolve(seen.length > 0) : setImmediate(check));
      check();
    });
    await syncing;
    expect(listenersToldWhenVisible).toBe(true);
  });

  it('keeps a change made while Redis was down and shares it once Redis is back', async () => {
    const prefix = `${redisInfo.prefix}outage:`;
    const shared = await redis();
    await shared.hset(`${prefix}modes`, { strict: '0', lockdown: '0' });
    const flaky = await redis();
    const store = new ModeStore({ stateDir: stateDir(), redis: flaky, keyPrefix: prefix, signingKey: ADMIN_TOKEN, log: quiet });
    await store.load();
    await goOffline(flaky); // the client refuses commands while disconnected
    await store.set('strict', true, { actor: 'oncall' });
    expect(store.current.strict).toBe(true);
    expect(store.inSync).toBe(false);
    await flaky.connect();
    await store.sync();
    expect(store.current.strict).toBe(true);
    expect(store.inSync).toBe(true);
    expect(await shared.hgetall(`${prefix}modes`)).toMatchObject({ strict: '1' });
  });

  it('shares only the mode changed during an outage, never lifting a lockdown declared meanwhile elsewhere', async () => {
    const prefix = `${redisInfo.prefix}outage-other:`;
    const shared = await redis();
    const flaky = await redis();
    const store = new ModeStore({ stateDir: stateDir(), redis: flaky, keyPrefix: prefix, signingKey: ADMIN_TOKEN, log: quiet });
    const other = new ModeStore({ stateDir: stateDir(), redis: await redis(), keyPrefix: prefix, signingKey: ADMIN_TOKEN, log: quiet });
    await store.load();
    await other.load();
    await goOffline(flaky);
    await store.set('strict', true, { actor: 'oncall' });
    await other.set('lockdown', true, { actor: 'oncall', reason: 'incident 11' });
    await flaky.connect();
    await store.sync();
    expect(store.current).toEqual({ strict: true, lockdown: true });
    expect(await shared.hgetall(`${prefix}modes`)).toMatchObject({ strict: '1', lockdown: '1' });
  });
});

describe('signed mode changes shared through the real Redis (db 11)', () => {
  let redisInfo: Awaited<ReturnType<typeof requireRedis>>;
  let shared: Redis;

  beforeAll(async () => {
    redisInfo = await requireRedis({ db: 11 });
    shared = new Redis(redisInfo.url, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    shared?.disconnect();
    await redisInfo?.cleanup();
  });

  /** A replica of its own (state directory, Redis connection), its audit events collected, its clock settable. */
  function replica(prefix: string, options: { signingKey?: string; replica?: string } = {}) {
    const audited: ModeAuditEvent[] = [];
    const warnings: string[] = [];
    const clock = { now: Date.now() };
    const client = new Redis(redisInfo.url, { maxRetriesPerRequest: 1 });
    cleanups.push(() => client.disconnect());
    const store = new ModeStore({
      stateDir: stateDir(),
      redis: client,
      keyPrefix: prefix,
      signingKey: 'signingKey' in options ? options.signingKey : ADMIN_TOKEN,
      replica: options.replica ?? 'replica-1',
      audit: (event) => audited.push(event),
      clock: () => clock.now,
      log: { info: () => undefined, warn: (_obj, message) => warnings.push(message) },
    });
    return { store, audited, warnings, clock };
  }

  const rejections = (events: ModeAuditEvent[]) => events.filter((event) => event.event_type === 'policy_mode_change_rejected');

  it('keeps a lockdown when someone with Redis access writes an unsigned explicit lift, restores it in Redis, and logs and audits the refusal once', async () => {
    const prefix = `${redisInfo.prefix}unsigned:`;
    const one = replica(prefix, { replica: 'replica-1' });
    const two = replica(prefix, { replica: 'replica-2' });
    await one.store.load();
    await two.store.load();
    await one.store.set('lockdown', true, { actor: 'oncall', reason: 'incident 12' });
    await two.store.sync();
    expect(two.store.current.lockdown).toBe(true);

    await shared.hset(`${prefix}modes`, { lockdown: '0', lockdown_origin: 'explicit' });
    await two.store.sync();
    await one.store.sync();

    expect(two.store.current.lockdown).toBe(true);
    expect(one.store.current.lockdown).toBe(true);
    const refused = rejections(two.audited);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({
      severity: 'critical',
      data: { mode: 'lockdown', seen: { value: '0', origin: 'explicit' }, kept: true, replica: 'replica-2', problem: expect.stringMatching(/signature is not valid/) },
    });
    expect(two.warnings).toContain('refused a mode change found in Redis');
    // The signed lockdown is back in Redis, so nobody keeps seeing the forged lift.
    expect(await shared.hgetall(`${prefix}modes`)).toMatchObject({ lockdown: '1', lockdown_origin: 'explicit', lockdown_by: 'replica-1' });
    await two.store.sync();
    expect(rejections(two.audited)).toHaveLength(1);
  });

  it('refuses an explicit lift without any signature fields, and one signed with another key', async () => {
    const prefix = `${redisInfo.prefix}foreign-key:`;
    const locked = replica(prefix);
    await locked.store.load();
    await locked.store.set('lockdown', true, { actor: 'oncall' });

    await shared.del(`${prefix}modes`);
    await shared.hset(`${prefix}modes`, { lockdown: '0', lockdown_origin: 'explicit' });
    await locked.store.sync();
    expect(locked.store.current.lockdown).toBe(true);
    expect(rejections(locked.audited).at(-1)!.data.problem).toMatch(/without a complete signature/);

    const forged = signModeChange('a-guessed-token-that-is-not-the-admin-token', 'lockdown', { value: false, at: Date.now() + 60_000, replica: 'replica-9' });
    await shared.hset(`${prefix}modes`, entryFields('lockdown', explicitEntry(forged)));
    await locked.store.sync();
    expect(locked.store.current.lockdown).toBe(true);
    expect(rejections(locked.audited)).toHaveLength(2);
    expect(rejections(locked.audited).at(-1)!.data.problem).toMatch(/signature is not valid/);
  });

  it('refuses an older signed lift copied back after a newer lockdown, and puts the newer lockdown back', async () => {
    const prefix = `${redisInfo.prefix}replay:`;
    const admin = replica(prefix, { replica: 'replica-1' });
    const other = replica(prefix, { replica: 'replica-2' });
    await admin.store.load();
    await other.store.load();
    admin.clock.now = 1_000_000;
    await admin.store.set('lockdown', false, { actor: 'oncall', reason: 'all clear' });
    const oldLift = await shared.hgetall(`${prefix}modes`);
    await other.store.sync();
    admin.clock.now = 2_000_000;
    await admin.store.set('lockdown', true, { actor: 'oncall', reason: 'incident 13' });
    await other.store.sync();
    expect(other.store.current.lockdown).toBe(true);
    const lockdownEntry = await shared.hgetall(`${prefix}modes`);

    await shared.hset(`${prefix}modes`, oldLift); // a valid signature, but an old change
    await other.store.sync();

    expect(other.store.current.lockdown).toBe(true);
    expect(rejections(other.audited)).toHaveLength(1);
    expect(rejections(other.audited)[0]!.data).toMatchObject({ mode: 'lockdown', kept: true, problem: expect.stringMatching(/older than the last one this replica knows/) });
    expect(await shared.hgetall(`${prefix}modes`)).toMatchObject({ lockdown: '1', lockdown_sig: lockdownEntry.lockdown_sig });
    // The replay is refused after a restart too: the newest change is kept in the state file.
    await shared.hset(`${prefix}modes`, oldLift);
    const restarted = new ModeStore({ stateDir: other.store.path.replace(/\/modes\.json$/, ''), redis: shared, keyPrefix: prefix, signingKey: ADMIN_TOKEN, log: quiet });
    expect(await restarted.load()).toMatchObject({ lockdown: true });
  });

  it('takes a newer signed change made on another replica, even a lift, and audits that it took it', async () => {
    const prefix = `${redisInfo.prefix}adopt:`;
    const admin = replica(prefix, { replica: 'replica-1' });
    const other = replica(prefix, { replica: 'replica-2' });
    await admin.store.load();
    await other.store.load();
    await admin.store.set('lockdown', true, { actor: 'oncall' });
    await other.store.sync();
    admin.clock.now += 1000;
    await admin.store.set('lockdown', false, { actor: 'oncall', reason: 'all clear' });
    await other.store.sync();
    expect(other.store.current.lockdown).toBe(false);
    expect(other.audited.map((event) => [event.event_type, event.data.mode, event.data.enabled, event.data.origin, event.data.changed_by])).toEqual([
      ['policy_mode_adopted', 'lockdown', true, 'explicit', 'replica-1'],
      ['policy_mode_adopted', 'lockdown', false, 'explicit', 'replica-1'],
    ]);
    expect(rejections(other.audited)).toEqual([]);
  });

  it('audits a lockdown taken from the merged modes when the shared hash was rebuilt', async () => {
    const prefix = `${redisInfo.prefix}adopt-merged:`;
    await shared.hset(`${prefix}modes`, { lockdown: '1', lockdown_origin: 'merged' });
    const fresh = replica(prefix, { replica: 'replica-3' });
    await fresh.store.load();
    expect(fresh.store.current.lockdown).toBe(true);
    expect(fresh.audited).toEqual([
      expect.objectContaining({ event_type: 'policy_mode_adopted', data: expect.objectContaining({ mode: 'lockdown', enabled: true, origin: 'merged', replica: 'replica-3' }) }),
    ]);
  });

  it('after the admin token is rotated, refuses the entry signed with the old one once, keeps its restriction, and takes the next change', async () => {
    const prefix = `${redisInfo.prefix}rotation:`;
    const before = replica(prefix, { replica: 'replica-1' });
    await before.store.load();
    await before.store.set('lockdown', true, { actor: 'oncall' });
    const rotated = 'the-rotated-admin-token-0123456789abcdef0123';
    const one = replica(prefix, { signingKey: rotated, replica: 'replica-2' });
    const two = replica(prefix, { signingKey: rotated, replica: 'replica-3' });
    await one.store.load();
    await two.store.load();
    await one.store.sync();
    expect([one.store.current.lockdown, two.store.current.lockdown]).toEqual([true, true]);
    expect(rejections([...one.audited, ...two.audited])).toHaveLength(1);
    two.clock.now += 1000;
    await two.store.set('lockdown', false, { actor: 'oncall', reason: 'all clear' });
    await one.store.sync();
    expect(one.store.current.lockdown).toBe(false);
  });

  it('follows a lockdown it cannot verify without the admin token, but no lift, and leaves the entry to the replicas that can', async () => {
    const prefix = `${redisInfo.prefix}no-token:`;
    const admin = replica(prefix);
    await admin.store.load();
    await admin.store.set('lockdown', true, { actor: 'oncall' });
    const tokenless = replica(prefix, { signingKey: undefined, replica: 'replica-4' });
    await tokenless.store.load();
    expect(tokenless.store.current.lockdown).toBe(true);
    expect(rejections(tokenless.audited)[0]!.data.problem).toMatch(/no ACGS_ADMIN_TOKEN/);
    admin.clock.now += 1000;
    await admin.store.set('lockdown', false, { actor: 'oncall' });
    const lift = await shared.hgetall(`${prefix}modes`);
    await tokenless.store.sync();
    expect(tokenless.store.current.lockdown).toBe(true);
    expect(await shared.hgetall(`${prefix}modes`)).toEqual(lift);
  });
});
