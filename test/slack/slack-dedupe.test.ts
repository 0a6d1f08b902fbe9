/**
 * The delivery ledger that keeps retries and replays from running a command twice: in memory, in
 * a real Redis shared by two bot replicas, and falling back to memory when Redis fails.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlackBot, type SlackBot } from '../../bot/slack/app.js';
import { deliveryKey, memoryLedger, redisLedger } from '../../bot/slack/delivery-ledger.js';
import { migrateDeliveryStore, postgresEvictedDeliveries } from '../../bot/slack/delivery-store.js';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase } from '../testing/postgres.js';
import { startBotWithStandIn } from '../testing/slack-harness.js';
import { startSlackStandIn, type SlackStandIn } from '../../bot/slack/stand-in/index.js';
import { createCommandPathDependencies } from '../../bot/command-path/index.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { requireRedis } from '../testing/redis.js';
import { openStackRedis } from '../../services/stack/stack-connections.js';
import { BOT_TOKEN, fixtureRegistry, ONCALL, OPS, RunLog, SIGNING_SECRET } from '../testing/slack-harness.js';

let redisKit: Awaited<ReturnType<typeof requireRedis>>;
let redis: Redis;

beforeAll(async () => {
  redisKit = await requireRedis();
  redis = new Redis(redisKit.url, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  redis?.disconnect();
  await redisKit?.cleanup();
});

describe('delivery keys', () => {
  it('use the event id, then the trigger id, then a hash of the payload', () => {
    expect(deliveryKey({ event_id: 'Ev1', trigger_id: 'T1' })).toBe('event:Ev1');
    expect(deliveryKey({ trigger_id: '123.456.abc' })).toBe('trigger:123.456.abc');
    const hashed = deliveryKey({ type: 'view_closed', view: { id: 'V1' } });
    expect(hashed).toMatch(/^payload:[A-Za-z0-9_-]{43}$/);
    expect(deliveryKey({ type: 'view_closed', view: { id: 'V1' } })).toBe(hashed);
    expect(deliveryKey({ type: 'view_closed', view: { id: 'V2' } })).not.toBe(hashed);
  });
});

describe('the in-memory ledger', () => {
  it('claims a key once, and again after its window has passed', async () => {
    const ledger = memoryLedger({ ttlMs: 60 });
    expect(await ledger.claim('event:Ev1')).toBe(true);
    expect(await ledger.claim('event:Ev1')).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await ledger.claim('event:Ev1')).toBe(true);
  });
});

describe('the in-memory ledger past its size, with the durable store of evicted keys (real PostgreSQL)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: ReturnType<typeof createPool>;

  beforeAll(async () => {
    database = await createTestDatabase('acgs_slack_deliveries');
    pool = createPool({ databaseUrl: database.url, max: 4, applicationName: 'acgs-slack-dedupe-test' });
    await migrateDeliveryStore(pool);
  });

  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it('still refuses a repeat of a key it had to evict, at once and after the write, and claims new keys', async () => {
    const ledger = memoryLedger({ max: 3, evicted: postgresEvictedDeliveries(pool) });
    for (const key of ['trigger:A', 'trigger:B', 'trigger:C', 'trigger:D', 'trigger:E']) expect(await ledger.claim(key)).toBe(true);
    // A and B left memory; a retry of A arriving while its write is under way is a repeat too.
    expect(await ledger.claim('trigger:A')).toBe(false);
    await expect.poll(async () => (await pool.query('SELECT key FROM bot_slack_deliveries ORDER BY key')).rows.map((row) => row.key as string)).toEqual(['trigger:A', 'trigger:B']);
    expect(await ledger.claim('trigger:B')).toBe(false);
    expect(await ledger.claim('trigger:A')).toBe(false);
    expect(await ledger.claim('trigger:F')).toBe(true);
  });

  it('runs an evicted key again without the durable store (the hole it closes)', async () => {
    const ledger = memoryLedger({ max: 3 });
    for (const key of ['trigger:A1', 'trigger:B1', 'trigger:C1', 'trigger:D1']) await ledger.claim(key);
    expect(await ledger.claim('trigger:A1')).toBe(true);
  });

  it('runs a Slack retry of an evicted slash command once through the real bot', async () => {
    const t = await startBotWithStandIn({ mode: 'http', botOverrides: { ledgerMax: 2, evictedDeliveries: postgresEvictedDeliveries(pool) } });
    try {
      const first = await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'status' });
      await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'status' });
      await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'status' });
      await t.standIn.waitFor(() => t.log.count('status') === 3 || undefined, 5000, 'three status runs');
      const retried = await first.redeliver({ retry: { num: 1, reason: 'http_timeout' } });
      expect(retried.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(t.log.count('status')).toBe(3);
      expect(await t.metric('duplicateDeliveries', { kind: 'command' })).toBe(1);
    } finally {
      await t.close();
    }
  });
});

describe('the Redis ledger', () => {
  it('lets only one of two replicas claim a delivery, and sets the key to expire', async () => {
    const prefix = `${redisKit.prefix}ledger:`;
    const first = redisLedger(redis, { prefix, ttlMs: 60_000 });
    const second = redisLedger(redis, { prefix, ttlMs: 60_000 });
    const answers = await Promise.all([first.claim('trigger:T42'), second.claim('trigger:T42')]);
    expect(answers.sort()).toEqual([false, true]);
    const ttl = await redis.pttl(`${prefix}trigger:T42`);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('claims in Redis from the first delivery through the client the bot opens (lazy, no offline queue)', async () => {
    const prefix = `${redisKit.prefix}lazy:`;
    const botClient = openStackRedis(redisKit.url);
    const errors: unknown[] = [];
    try {
      const ledger = redisLedger(botClient, { prefix, onError: (error) => errors.push(error) });
      expect(await ledger.claim('trigger:TFirst')).toBe(true);
      expect(errors).toEqual([]);
      expect(await redis.exists(`${prefix}trigger:TFirst`)).toBe(1);
      // Another replica's ledger (its own client) sees the claim.
      expect(await redisLedger(redis, { prefix }).claim('trigger:TFirst')).toBe(false);
    } finally {
      botClient.disconnect();
    }
  });

  it('answers from memory when Redis fails, reporting each failure', async () => {
    const down = new Redis(await unusedLoopbackUrl(), { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const errors: unknown[] = [];
    try {
      const ledger = redisLedger(down, { onError: (error) => errors.push(error) });
      expect(await ledger.claim('event:EvDown')).toBe(true);
      expect(await ledger.claim('event:EvDown')).toBe(false);
      expect(errors).toHaveLength(2);
    } finally {
      down.disconnect();
    }
  });
});

describe('two bot replicas sharing Redis', () => {
  let standIn: SlackStandIn;
  const bots: SlackBot[] = [];
  const log = new RunLog();

  beforeAll(async () => {
    standIn = await startSlackStandIn({ botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, transport: 'http', console: false });
    const unused = await unusedLoopbackUrl();
    for (let replica = 0; replica < 2; replica += 1) {
      const bot = createSlackBot({
        settings: { mode: 'http', botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, apiUrl: standIn.apiUrl, port: 0 },
        registry: fixtureRegistry(log),
        services: createCommandPathDependencies({ endpoints: { 'policy-engine': unused, 'audit-engine': unused, 'evolution-oversight': unused, 'sandbox-controller': unused } }),
        logger: pino({ level: 'silent' }),
        defaultMetrics: false,
        redis,
        ledgerPrefix: `${redisKit.prefix}replicas:`,
      });
      bots.push(bot);
      await bot.start();
    }
  });

  afterAll(async () => {
    for (const bot of bots) await bot.stop();
    await standIn?.close();
  });

  it('run a slash command once when Slack retries it to the other replica', async () => {
    const urls = bots.map((bot) => `http://127.0.0.1:${(bot.server.address() as { port: number }).port}/slack/events`);
    standIn.setBotEventsUrl(urls[0]!);
    const reply = await standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'status' });
    expect(reply.status).toBe(200);
    await standIn.waitFor(() => log.count('status') === 1, 5000, 'the first replica to run it');
    standIn.setBotEventsUrl(urls[1]!);
    const retry = await reply.redeliver({ retry: { num: 1, reason: 'http_timeout' } });
    expect(retry.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(log.count('status')).toBe(1);
    const duplicates = (await bots[1]!.metrics.duplicateDeliveries.get()).values;
    expect(duplicates).toEqual([expect.objectContaining({ labels: { kind: 'command' }, value: 1 })]);
  });
});
