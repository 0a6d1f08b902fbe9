import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireRedis } from '../../test/kit/redis.js';
import type { EngineModes } from './contract.js';
import { ModeStore, writeFileAtomic } from './mode-store.js';
import { tempDir } from './testing.js';

const quiet = { warn: () => undefined, info: () => undefined };
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
    const admin = new ModeStore({ stateDir: stateDir(), redis: await redis(), keyPrefix: prefix, log: quiet });
    await admin.load();
    await admin.set('strict', true, { actor: 'oncall' });
    await admin.set('lockdown', false, { actor: 'oncall', reason: 'incident over' });
    const dir = stateDir();
    writeFileSync(join(dir, 'modes.json'), JSON.stringify({ strict: false, lockdown: true }));
    const store = new ModeStore({ stateDir: dir, redis: await redis(), keyPrefix: prefix, log: quiet });
    expect(await store.load()).toEqual({ strict: true, lockdown: false });
    expect(JSON.parse(readFileSync(join(dir, 'modes.json'), 'utf8'))).toMatchObject({ strict: true, lockdown: false });
  });

  it('seeds Redis from the state file when Redis has no modes yet, without an expiry', async () => {
    const prefix = `${redisInfo.prefix}seed:`;
    const shared = await redis();
    const dir = stateDir();
    writeFileSync(join(dir, 'modes.json'), JSON.stringify({ strict: true, lockdown: false }));
    const store = new ModeStore({ stateDir: dir, redis: shared, keyPrefix: prefix, log: quiet });
    await store.load();
    expect(await shared.hgetall(`${prefix}modes`)).toMatchObject({ strict: '1', lockdown: '0' });
    // No TTL: under volatile-* eviction policies the key is never evicted.
    expect(await shared.ttl(`${prefix}modes`)).toBe(-1);
  });

  it('keeps a lockdown when Redis lost the modes and a fresh replica in normal mode seeds them first', async () => {
    const prefix = `${redisInfo.prefix}lost:`;
    const shared = await redis();
    const locked = new ModeStore({ stateDir: stateDir(), redis: await redis(), keyPrefix: prefix, log: quiet });
    await locked.load();
    await locked.set('lockdown', true, { actor: 'oncall', reason: 'incident 9' });
    await shared.del(`${prefix}modes`); // Redis restarted empty, or allkeys-lru evicted the key
    const fresh = new ModeStore({ stateDir: stateDir(), redis: await redis(), keyPrefix: prefix, log: quiet });
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
    const strict = new ModeStore({ stateDir: strictDir, redis: await redis(), keyPrefix: prefix, log: quiet });
    const locked = new ModeStore({ stateDir: lockedDir, redis: await redis(), keyPrefix: prefix, log: quiet });
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
    const store = new ModeStore({ stateDir: dir, redis: shared, keyPrefix: prefix, log: quiet });
    expect(await store.load()).toEqual({ strict: true, lockdown: true });
  });

  it('lifts a merged lockdown on every replica only through an explicit change', async () => {
    const prefix = `${redisInfo.prefix}lift:`;
    const shared = await redis();
    const lockedDir = stateDir();
    writeFileSync(join(lockedDir, 'modes.json'), JSON.stringify({ strict: false, lockdown: true }));
    const locked = new ModeStore({ stateDir: lockedDir, redis: await redis(), keyPrefix: prefix, log: quiet });
    const other = new ModeStore({ stateDir: stateDir(), redis: await redis(), keyPrefix: prefix, log: quiet });
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
    const one = new ModeStore({ stateDir: stateDir(), redis: await redis(), keyPrefix: prefix, log: quiet });
    const two = new ModeStore({ stateDir: stateDir(), redis: await redis(), keyPrefix: prefix, log: quiet });
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
    const one = new ModeStore({ stateDir: stateDir(), redis: await redis(), keyPrefix: prefix, log: quiet });
    const two = new ModeStore({ stateDir: stateDir(), redis: await redis(), keyPrefix: prefix, log: quiet });
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
    const store = new ModeStore({ stateDir: stateDir(), redis: flaky, keyPrefix: prefix, log: quiet });
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
    const store = new ModeStore({ stateDir: stateDir(), redis: flaky, keyPrefix: prefix, log: quiet });
    const other = new ModeStore({ stateDir: stateDir(), redis: await redis(), keyPrefix: prefix, log: quiet });
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
