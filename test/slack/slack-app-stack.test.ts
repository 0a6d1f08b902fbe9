/**
 * The real bot, through its real HTTP receiver, running the real registry against the real stack
 * while parts of it fail: a service that hangs, PostgreSQL and Redis down. What on-call sees at
 * 3 a.m. must be the truth, on time, and nothing typed may be executed as markup.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommandRegistry } from '../../commands/index.js';
import { downPostgresUrl, downRedisUrl, startHungServer, startStack, type HungServer, type TestStack } from '../testing/stack.js';
import { ONCALL, OPS, blockText, startBotWithStandIn, type BotUnderTest } from '../testing/slack-harness.js';

const CHECK_TIMEOUT_MS = 1000;
let stack: TestStack;
let hung: HungServer;
let t: BotUnderTest;

beforeAll(async () => {
  stack = await startStack({ containerRuntime: 'none' });
  hung = await startHungServer();
  const services = stack.servicesWith({
    endpoints: { 'evolution-oversight': hung.url },
    postgresUrl: await downPostgresUrl(),
    redisUrl: await downRedisUrl(),
    checkTimeoutMs: CHECK_TIMEOUT_MS,
  });
  t = await startBotWithStandIn({ mode: 'http', registry: () => createCommandRegistry(), botOverrides: { services } });
}, 60_000);

afterAll(async () => {
  await t?.close();
  await hung?.close();
  await stack?.close();
});

const channelReply = (text: string) => () => t.standIn.messages(OPS).find((message) => blockText(message.blocks).includes(text));
const privateReply = (text: string) => () =>
  t.standIn.messages(OPS, { includeEphemeralFor: ONCALL }).find((message) => message.visibleTo === ONCALL && blockText(message.blocks).includes(text));

describe('/acgs through the HTTP receiver with parts of the stack failing', () => {
  it('answers health within the check timeout, marking the hung service, PostgreSQL and Redis failed and the rest healthy', async () => {
    const started = Date.now();
    const ack = await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'health' });
    expect(ack.status).toBe(200);
    const reply = await t.standIn.waitFor(channelReply('Stack health'), CHECK_TIMEOUT_MS + 3000, 'the health reply');
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(CHECK_TIMEOUT_MS - 50);
    const text = blockText(reply.blocks);
    expect(text).toMatch(/:x: \*evolution-oversight\*\s+unreachable · .* · no answer within 1000 ms/);
    expect(text).toMatch(/postgres\*?\s+.*(unreachable|refused|down)/i);
    expect(text).toMatch(/redis\*?\s+.*(unreachable|refused|down)/i);
    expect(text).toMatch(/:white_check_mark: \*policy-engine\*\s+healthy/);
    expect(text).toMatch(/:white_check_mark: \*audit-engine\*\s+healthy/);
    expect(hung.connections).toBeGreaterThanOrEqual(1);
  });

  it('says that PostgreSQL is down for db status, in words a person can act on', async () => {
    await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'db status' });
    const reply = await t.standIn.waitFor(() => channelReply('PostgreSQL')() ?? privateReply('PostgreSQL')(), 5000, 'the db status reply');
    expect(blockText(reply.blocks)).toMatch(/not reachable|unreachable|refused/i);
  });

  it('says that Redis is down for redis status', async () => {
    await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'redis status' });
    const reply = await t.standIn.waitFor(() => channelReply('Redis')() ?? privateReply('Redis')(), 5000, 'the redis status reply');
    expect(blockText(reply.blocks)).toMatch(/not reachable|unreachable|refused/i);
  });

  it('refuses a service name made of Slack markup privately, escaped, without calling anything', async () => {
    const before = hung.connections;
    await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'logs <!channel> --tail 5' });
    const reply = await t.standIn.waitFor(privateReply('logs'), 5000, 'the refusal');
    const raw = JSON.stringify(reply.blocks);
    expect(raw).not.toContain('<!channel>');
    expect(raw).toContain('&lt;!channel&gt;');
    expect(t.standIn.messages(OPS).filter((message) => !message.visibleTo && raw === JSON.stringify(message.blocks))).toHaveLength(0);
    expect(hung.connections).toBe(before);
  });

  it('refuses an absurd limit with the allowed range and runs nothing', async () => {
    await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'violations 100000' });
    const reply = await t.standIn.waitFor(privateReply('violations'), 5000, 'the refusal');
    expect(blockText(reply.blocks)).toMatch(/1\D+100/);
  });
});
