/**
 * A run's Slack message kept current by the publisher, against the Slack stand-in (through the
 * real WebClient with retries, so a 429 is waited out) and the real PostgreSQL, with a real
 * RunExecutor driving scripted runbooks (runbooks/engine/testing/).
 */
import { randomUUID } from 'node:crypto';
import { WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRunbookRegistry, type RunbookRegistry } from '../../runbooks/engine/registry.js';
import { createRunExecutor, type RunExecutor } from '../../runbooks/engine/run-executor.js';
import type { RunRecord } from '../../runbooks/engine/run-store.js';
import { runbookTestDatabase, type RunbookTestDatabase } from '../../runbooks/engine/testing/database.js';
import { scriptedRunbook } from '../../runbooks/engine/testing/scripted-runbooks.js';
import { startSlackStandIn, type SlackStandIn, type StandInMessage } from './stand-in/index.js';
import { channelWriteQueue } from './channel-write-queue.js';
import { createRunMessagePublisher, type FollowEnd, type RunMessages } from './run-message-publisher.js';
import { createRunMessageStore, migrateRunMessageStore } from './run-message-store.js';

const BOT_TOKEN = 'xoxb-run-message-test';
const OPS = 'C0ACGSOPS01';
let t: RunbookTestDatabase;
let slack: SlackStandIn;
let client: WebClient;
let registry: RunbookRegistry;
let executor: RunExecutor;
const publishers: Array<RunMessages & { start(): void }> = [];
const ends: Array<[string, FollowEnd]> = [];

beforeAll(async () => {
  t = await runbookTestDatabase();
  await migrateRunMessageStore(t.pool);
  registry = createRunbookRegistry([
    scriptedRunbook(t.pool, 'three-steps', [{ id: 'first', title: 'Check first' }, { id: 'second', title: 'Then second' }, { id: 'third', title: 'Verify third' }]),
    scriptedRunbook(t.pool, 'many-steps', Array.from({ length: 12 }, (_, index) => ({ id: `step-${index}` }))),
    scriptedRunbook(t.pool, 'watching', [{ id: 'deploy', title: 'Deploy' }, { id: 'watch', title: 'Watch the stack' }]),
  ]);
  executor = createRunExecutor({ store: t.store, registry, leaseMs: 2000, renewEveryMs: 200 });
}, 30_000);

// A fresh Slack per test: Slack's rate limits count per channel, and the file's tests one after
// another post into one channel faster than one a second, which no single test does.
beforeEach(async () => {
  slack = await startSlackStandIn({ botToken: BOT_TOKEN, appToken: 'xapp-run-message-test', console: false });
  client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 4, factor: 2, minTimeout: 50, maxTimeout: 2000 } });
});

afterEach(async () => {
  for (const publisher of publishers.splice(0)) await publisher.stop();
  await executor.idle();
  await slack?.close();
});

afterAll(async () => {
  await executor?.stop();
  await t?.close();
});

function publisher(instance: string, options: { pollMs?: number; lease?: { leaseMs: number; renewEveryMs: number } } = {}) {
  const created = createRunMessagePublisher({
    client,
    queue: channelWriteQueue(client),
    runs: t.store,
    registry,
    messages: createRunMessageStore({ pool: t.pool, instance, publishLeaseMs: 1500 }),
    pollMs: options.pollMs ?? 100,
    scanEveryMs: 200,
    onFollowEnd: (runId, end) => ends.push([runId, end]),
    ...(options.lease ? { lease: options.lease } : {}),
  });
  publishers.push(created);
  return created;
}

const submit = (runbook: string, args: unknown = {}) => executor.submit({ runbook, args, requester: 'U0ONCALL', origin: 'test' });
const runToStop = async (runId: string) => {
  await executor.scanNow();
  await executor.idle();
  return (await t.store.get(runId))!;
};

/** The run's top-level messages (there must be exactly one). */
const parentsOf = (run: RunRecord): StandInMessage[] => slack.messages(OPS).filter((message) => !message.threadTs && JSON.stringify(message.blocks).includes(run.id));
const onlyParent = (run: RunRecord): StandInMessage => {
  const parents = parentsOf(run);
  expect(parents).toHaveLength(1);
  return parents[0]!;
};
const headerOf = (message: StandInMessage | undefined) => ((message?.blocks?.[0] as { text?: { text?: string } } | undefined)?.text?.text ?? '');
const updatesOf = (ts: string) => slack.calls('chat.update').filter((call) => call.args.ts === ts && call.ok);
const buttonsOf = (message: StandInMessage) =>
  (message.blocks ?? []).filter((block) => (block as { type: string }).type === 'actions').flatMap((block) => (block as { elements: Array<{ action_id: string }> }).elements.map((element) => element.action_id));
const ended = (runId: string) => ends.find(([id]) => id === runId)?.[1];

describe('a run\'s message', () => {
  it('is posted once while the run waits, follows it to succeeded, shows that final state once, and gets each step\'s detail in its thread', async () => {
    const run = await submit('three-steps');
    const p = publisher('replica-a');
    expect(await p.publish(run.id, OPS)).toBe(true);
    const posted = await slack.waitFor(() => parentsOf(run)[0], 5000, 'the run message');
    expect(headerOf(posted)).toBe(':hourglass_flowing_sand: Runbook three-steps: waiting to start');
    expect(buttonsOf(posted)).toEqual(['acgs_runbook_abort']);

    await runToStop(run.id);
    await slack.waitFor(() => ended(run.id), 10_000, 'the publisher to close the message');
    const message = onlyParent(run);
    expect(message.ts).toBe(posted.ts);
    expect(headerOf(message)).toBe(':white_check_mark: Runbook three-steps: succeeded');
    expect(buttonsOf(message)).toEqual([]);
    expect(ended(run.id)).toBe('closed');
    // The final state went to Slack once: no edit repeats it.
    expect(updatesOf(message.ts).filter((call) => String(call.args.text).includes('succeeded'))).toHaveLength(1);
    const replies = slack.thread(OPS, message.ts).slice(1);
    expect(replies.map((reply) => reply.text)).toEqual(['Step 1 (Check first) done', 'Step 2 (Then second) done', 'Step 3 (Verify third) done']);
    expect((await createRunMessageStore({ pool: t.pool, instance: 'x' }).get(run.id))).toMatchObject({ ts: message.ts, finalState: 'succeeded', closed: true });
  });

  it('shows Retry / Skip / Abort when a step fails, and loses them once the decision let the run finish', async () => {
    const run = await submit('three-steps', { failAttempts: { second: 1 } });
    const p = publisher('replica-a');
    await p.publish(run.id, OPS);
    expect((await runToStop(run.id)).state).toBe('needs_decision');
    const waiting = await slack.waitFor(() => parentsOf(run).find((message) => headerOf(message).includes('needs a decision')), 5000, 'the decision buttons');
    expect(buttonsOf(waiting)).toEqual(['acgs_runbook_retry', 'acgs_runbook_skip', 'acgs_runbook_decide_abort']);
    expect(JSON.stringify(waiting.blocks)).toContain('second failed on attempt 1 as scripted');
    await slack.waitFor(() => slack.thread(OPS, waiting.ts).find((reply) => reply.text === 'Step 2 (Then second) failed'), 5000, 'the failed step\'s detail');

    await executor.decide(run.id, 'retry', 'U0ONCALL');
    await runToStop(run.id);
    await slack.waitFor(() => ended(run.id), 10_000, 'the publisher to close the message');
    const message = onlyParent(run);
    expect(headerOf(message)).toContain('succeeded');
    expect(JSON.stringify(message.blocks)).toContain('2 attempts');
    expect(buttonsOf(message)).toEqual([]);
  });

  it('is edited at most about once a second through a burst of step changes, and ends showing the final state', async () => {
    const run = await submit('many-steps', { stepMs: 120 });
    const p = publisher('replica-a', { pollMs: 50 });
    await p.publish(run.id, OPS);
    const posted = await slack.waitFor(() => parentsOf(run)[0], 5000, 'the run message');
    const started = Date.now();
    await runToStop(run.id);
    await slack.waitFor(() => ended(run.id), 10_000, 'the publisher to close the message');
    const tookMs = Date.now() - started;
    const edits = updatesOf(posted.ts);
    // Twelve steps (24 changes) over about 1.5 s, polled every 50 ms: far fewer edits than changes.
    expect(edits.length).toBeGreaterThanOrEqual(2);
    expect(edits.length).toBeLessThanOrEqual(Math.ceil(tookMs / 1000) + 1);
    for (let index = 1; index < edits.length; index += 1) expect(edits[index]!.at - edits[index - 1]!.at).toBeGreaterThanOrEqual(950);
    expect(headerOf(onlyParent(run))).toContain('succeeded');
    expect(slack.thread(OPS, posted.ts).slice(1)).toHaveLength(12);
  });

  it('shows a running step\'s progress under it, edited in place no more often than the engine records it (every 2 s), the latest one included', { timeout: 20_000 }, async () => {
    // 20 reports 150 ms apart (3 s), then the step holds 2.5 s: the last report lands while it holds.
    const run = await submit('watching', { progress: { watch: { count: 20, everyMs: 150 } }, holdMs: { watch: 2500 } });
    const p = publisher('replica-a', { pollMs: 50 });
    await p.publish(run.id, OPS);
    const posted = await slack.waitFor(() => parentsOf(run)[0], 5000, 'the run message');
    await runToStop(run.id);
    await slack.waitFor(() => ended(run.id), 10_000, 'the publisher to close the message');

    const shownReports = updatesOf(posted.ts)
      .map((call) => /↳ report (\d+) of 20/.exec(JSON.stringify(call.args.blocks))?.[1])
      .filter((k): k is string => k !== undefined)
      .map(Number)
      .filter((k, index, all) => index === 0 || k !== all[index - 1]);
    expect(shownReports[0]).toBe(1);
    expect(shownReports.at(-1)).toBe(20);
    // Reports come every 150 ms and the engine records one per 2 s: while they come, two shown ones
    // are about 13 reports apart (the last, 20, waited for its turn after the reports stopped).
    expect(shownReports.length).toBeLessThanOrEqual(3);
    for (let index = 1; index < shownReports.length - 1; index += 1) expect(shownReports[index]! - shownReports[index - 1]!).toBeGreaterThanOrEqual(10);
    // Shown under its own step, in the same message; once the step is done the line goes.
    const during = updatesOf(posted.ts).find((call) => JSON.stringify(call.args.blocks).includes('report 20 of 20'))!;
    const blocks = (typeof during.args.blocks === 'string' ? JSON.parse(during.args.blocks) : during.args.blocks) as Array<{ text?: { text?: string } }>;
    const stepsText = blocks.map((block) => block.text?.text ?? '').join('\n');
    expect(stepsText).toMatch(/2\. Watch the stack\* {2}running since [0-9:]+ UTC\n {6}↳ report 20 of 20 _\([0-9:]+ UTC\)_/);
    expect(JSON.stringify(onlyParent(run).blocks)).not.toContain('↳');
    expect(headerOf(onlyParent(run))).toContain('succeeded');
  });

  it('waits out a 429 with Retry-After on an edit and still shows the final state', async () => {
    const run = await submit('three-steps');
    const p = publisher('replica-a');
    await p.publish(run.id, OPS);
    const posted = await slack.waitFor(() => parentsOf(run)[0], 5000, 'the run message');
    const limitedBefore = slack.rateLimitedCount('chat.update');
    slack.rateLimitNext('chat.update', 1, 1);
    const started = Date.now();
    await runToStop(run.id);
    await slack.waitFor(() => ended(run.id), 10_000, 'the publisher to close the message');
    expect(slack.rateLimitedCount('chat.update') - limitedBefore).toBe(1);
    const firstLanded = updatesOf(posted.ts)[0]!;
    expect(firstLanded.at - started).toBeGreaterThanOrEqual(1000);
    expect(headerOf(onlyParent(run))).toContain('succeeded');
  });
});

describe('two replicas on one run', () => {
  it('post one message: one claim wins, the other posts nothing', async () => {
    const run = await submit('three-steps', { stepMs: 100 });
    const [a, b] = [publisher('replica-a'), publisher('replica-b')];
    const won = await Promise.all([a.publish(run.id, OPS), b.publish(run.id, OPS), a.publish(run.id, OPS), b.publish(run.id, OPS)]);
    expect(won.filter(Boolean)).toHaveLength(1);
    await runToStop(run.id);
    await slack.waitFor(() => ended(run.id), 10_000, 'the publisher to close the message');
    const message = onlyParent(run);
    expect(headerOf(message)).toContain('succeeded');
    expect(slack.thread(OPS, message.ts).slice(1)).toHaveLength(3);
    expect(slack.calls('chat.postMessage').filter((call) => call.ok && !call.args.thread_ts && String(JSON.stringify(call.args.blocks)).includes(run.id))).toHaveLength(1);
  });

  it('a replica that stops hands the message over: the other edits the same message to the end, without posting it again', async () => {
    const run = await submit('three-steps', { holdMs: { second: 1500 } });
    const a = publisher('replica-a');
    const b = publisher('replica-b');
    expect(await a.publish(run.id, OPS)).toBe(true);
    expect(await b.publish(run.id, OPS)).toBe(false);
    const posted = await slack.waitFor(() => parentsOf(run)[0], 5000, 'the run message');
    await executor.scanNow();
    await slack.waitFor(() => headerOf(parentsOf(run)[0]).includes('running') || undefined, 5000, 'the run to show running');
    await a.stop();
    expect(ended(run.id)).toBe('stopped');
    b.start();
    await executor.idle();
    await slack.waitFor(() => ends.filter(([id]) => id === run.id).length === 2 || undefined, 10_000, 'replica b to close the message');
    expect(ends.filter(([id]) => id === run.id).map(([, end]) => end)).toEqual(['stopped', 'closed']);
    const message = onlyParent(run);
    expect(message.ts).toBe(posted.ts);
    expect(headerOf(message)).toContain('succeeded');
    // Each step's detail once, whoever posted it.
    expect(slack.thread(OPS, message.ts).slice(1).map((reply) => reply.text)).toEqual(['Step 1 (Check first) done', 'Step 2 (Then second) done', 'Step 3 (Verify third) done']);
  });
});

describe('a run\'s message that Slack no longer has', () => {
  it('is posted again, with its thread, when an edit finds it gone (deleted, or the local console started afresh), and closed at the end', async () => {
    const run = await submit('three-steps', { holdMs: { second: 1500 } });
    const p = publisher('replica-a');
    await p.publish(run.id, OPS);
    const first = await slack.waitFor(() => parentsOf(run)[0], 5000, 'the run message');
    await executor.scanNow();
    await slack.waitFor(() => slack.thread(OPS, first.ts).find((reply) => reply.text === 'Step 1 (Check first) done'), 5000, 'the first step\'s detail');
    await client.chat.delete({ channel: OPS, ts: first.ts });
    await executor.idle();
    await slack.waitFor(() => ended(run.id), 10_000, 'the publisher to close the message');
    expect(ended(run.id)).toBe('closed');
    const message = onlyParent(run);
    expect(message.ts).not.toBe(first.ts);
    expect(headerOf(message)).toContain('succeeded');
    // The new message's thread holds every step's detail, the ones the deleted thread had too.
    expect(slack.thread(OPS, message.ts).slice(1).map((reply) => reply.text)).toEqual(['Step 1 (Check first) done', 'Step 2 (Then second) done', 'Step 3 (Verify third) done']);
    expect(await createRunMessageStore({ pool: t.pool, instance: 'x' }).get(run.id)).toMatchObject({ ts: message.ts, finalState: 'succeeded', closed: true });
  });
});

describe('a replica that dies', () => {
  it('stops renewing; once its lease runs out another replica\'s scan takes the message over and edits the same one', async () => {
    const run = await submit('three-steps');
    // Replica "dead" claimed and posted the message, then died: no renewal, no release.
    const dead = createRunMessageStore({ pool: t.pool, instance: 'dead', publishLeaseMs: 500 });
    const claim = (await dead.claim(run.id, OPS))!;
    const posted = await client.chat.postMessage({ channel: OPS, text: 'run message', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `run ${run.id}` } }] });
    expect(await dead.posted(claim, posted.ts!)).toBe(true);
    const b = publisher('replica-b');
    expect(await b.publish(run.id, OPS)).toBe(false);
    await runToStop(run.id);
    await new Promise((resolve) => setTimeout(resolve, 600));
    await b.scanNow();
    await slack.waitFor(() => ended(run.id), 10_000, 'replica b to close the message');
    const message = onlyParent(run);
    expect(message.ts).toBe(posted.ts);
    expect(headerOf(message)).toContain('succeeded');
    expect(await dead.renew(claim)).toBe(false);
    expect(await dead.get(run.id)).toMatchObject({ publisher: 'replica-b', closed: true, finalState: 'succeeded' });
  });
});

describe('a run whose runner went silent', () => {
  /** Every version of the run's message Slack accepted: its post and each edit. */
  const shownBlocks = (run: RunRecord) =>
    [...slack.calls('chat.postMessage'), ...slack.calls('chat.update')]
      .filter((call) => call.ok && !call.args.thread_ts)
      .map((call) => JSON.stringify(call.args.blocks ?? ''))
      .filter((blocks) => blocks.includes(run.id));

  it('says so while the run is running on a lease nobody renews, naming the runner; the line goes once the run ended', async () => {
    const run = await submit('three-steps');
    // A runner claimed the run and died at once: no renewal, and its lease runs for 5 s more.
    const claim = (await t.store.claim(run.id, 'dead-runner/42', 5000))!;
    const p = publisher('replica-a', { lease: { leaseMs: 5000, renewEveryMs: 200 } });
    expect(await p.publish(run.id, OPS)).toBe(true);
    const silent = await slack.waitFor(() => parentsOf(run).find((message) => JSON.stringify(message.blocks).includes('Runner silent for')), 5000, 'the message to say the runner is silent');
    const said = JSON.stringify(silent.blocks);
    expect(said).toMatch(/Runner silent for \d+\.0 s\*: `dead-runner\/42` has not renewed its lease/);
    expect(headerOf(silent)).toContain('running');

    // A runner that took over ends the run: what the message shows is the end, and no silence.
    await t.store.settle(claim.lease, { state: 'failed', reason: 'ended by the test' });
    await slack.waitFor(() => ended(run.id), 10_000, 'the publisher to close the message');
    const last = onlyParent(run);
    expect(headerOf(last)).toContain('failed');
    expect(JSON.stringify(last.blocks)).not.toContain('Runner silent');
  });

  it('never says so of a runner that renews its lease on time', async () => {
    const run = await submit('three-steps', { holdMs: { second: 1500 } });
    const p = publisher('replica-a', { lease: { leaseMs: executor.leaseMs, renewEveryMs: executor.renewEveryMs } });
    expect(await p.publish(run.id, OPS)).toBe(true);
    await slack.waitFor(() => parentsOf(run)[0], 5000, 'the run message');
    await runToStop(run.id);
    await slack.waitFor(() => ended(run.id), 10_000, 'the publisher to close the message');
    const shown = shownBlocks(run);
    expect(shown.some((blocks) => blocks.includes('Then second*  running since')), 'the message showed the held step running').toBe(true);
    expect(shown.filter((blocks) => blocks.includes('Runner silent'))).toEqual([]);
  });
});

describe('bad input', () => {
  it('refuses what is not a run id, before anything is written or posted', async () => {
    const p = publisher('replica-a');
    const before = slack.calls('chat.postMessage').length;
    await expect(p.publish('backup; DROP TABLE x', OPS)).rejects.toThrow('not a run id: "backup; DROP TABLE x"');
    expect(slack.calls('chat.postMessage').length).toBe(before);
  });

  it('posts nothing for a run the RunStore does not have, and leaves no claim behind', async () => {
    const p = publisher('replica-a');
    const missing = randomUUID();
    const before = slack.calls('chat.postMessage').length;
    expect(await p.publish(missing, OPS)).toBe(true);
    await slack.waitFor(() => ended(missing), 5000, 'the publisher to give up');
    expect(ended(missing)).toBe('gone');
    expect(slack.calls('chat.postMessage').length).toBe(before);
    expect(await createRunMessageStore({ pool: t.pool, instance: 'x' }).get(missing)).toBeUndefined();
  });

  it('gives the claim back when Slack refuses the post (the bot is not in the channel), so it can be tried again', async () => {
    const run = await submit('three-steps');
    const p = publisher('replica-a');
    expect(await p.publish(run.id, 'C0NOSUCHCHAN')).toBe(true);
    await slack.waitFor(() => ended(run.id), 5000, 'the publisher to give up');
    expect(ended(run.id)).toBe('not-posted');
    expect(await createRunMessageStore({ pool: t.pool, instance: 'x' }).get(run.id)).toBeUndefined();
    expect(await p.publish(run.id, OPS)).toBe(true);
    await slack.waitFor(() => parentsOf(run)[0], 5000, 'the run message in the right channel');
    await runToStop(run.id);
  });
});
