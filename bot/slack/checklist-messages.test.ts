/**
 * Two replicas keeping one checklist's message current in the Slack stand-in, on the real
 * PostgreSQL: a change made on the replica that did not start the checklist, while the message
 * is not posted yet, never becomes a second message; the starter posts once and catches up.
 */
import { WebClient } from '@slack/web-api';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateChecklistStore, createChecklistStore } from '../../runbooks/checklists/checklist-store.js';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { blockText, BOT_TOKEN, OPS } from '../../test/testing/slack-harness.js';
import { channelWriteQueue } from './channel-write-queue.js';
import { createChecklistMessages } from './checklist-messages.js';
import { startSlackStandIn, type SlackStandIn } from './stand-in/index.js';

let db: TestDatabase;
let pool: pg.Pool;
let standIn: SlackStandIn;

beforeAll(async () => {
  db = await createTestDatabase('acgs_checklist_messages');
  pool = createPool({ databaseUrl: db.url, max: 4, applicationName: 'acgs-checklist-messages-test' });
  await migrateChecklistStore(pool);
  standIn = await startSlackStandIn({ botToken: BOT_TOKEN, console: false, transport: 'http', signingSecret: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' });
}, 30_000);

afterAll(async () => {
  await standIn?.close();
  await pool?.end();
  await db?.drop();
});

const replica = () => {
  const client = new WebClient(BOT_TOKEN, { slackApiUrl: standIn.apiUrl, retryConfig: { retries: 0 } });
  return createChecklistMessages({ queue: channelWriteQueue(client, { minEditIntervalMs: 10 }), store: createChecklistStore(pool) });
};

describe("a checklist's message across replicas", () => {
  it('is posted only by the start, once, and shows a change another replica made before it was posted', async () => {
    const store = createChecklistStore(pool);
    const id = '7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6';
    const started = await store.create({
      id,
      checklist: 'monthly-review',
      title: 'Monthly review checklist',
      startedBy: 'U0ONCALL',
      origin: 'slash',
      channel: OPS,
      items: [
        { id: 'team-training', text: 'Team training conducted', mode: 'manual', note: 'people' },
        { id: 'security-review', text: 'Security review completed', mode: 'manual', note: 'people' },
      ],
    });
    // Replica B has a tick while replica A's post is still on its way: B must not post a message of its own.
    const ticked = await store.mark(id, 'team-training', 'U0APPROVER1', 'tick');
    const b = replica();
    await b.show(ticked);
    expect(standIn.messages(OPS).filter((message) => message.text.startsWith('Monthly review checklist'))).toEqual([]);

    const a = replica();
    await a.show(started);
    const posted = standIn.messages(OPS).filter((message) => message.text.startsWith('Monthly review checklist'));
    expect(posted).toHaveLength(1);
    expect(blockText(posted[0]!.blocks)).toContain('Ticked by <@U0APPROVER1>');
    expect((await store.get(id))!.messageTs).toBe(posted[0]!.ts);

    // Once posted, either replica edits the one message.
    const completed = await store.mark(id, 'security-review', 'U0APPROVER2', 'tick');
    await b.show(completed);
    const after = standIn.messages(OPS).filter((message) => message.text.startsWith('Monthly review checklist'));
    expect(after).toHaveLength(1);
    expect(blockText(after[0]!.blocks)).toContain('completed by <@U0APPROVER2>');
  });

  it('is posted again, once across replicas, at the next change after Slack lost it (deleted)', async () => {
    const store = createChecklistStore(pool);
    const id = '8e2f3a4b-5c6d-4e7f-8a91-a2b3c4d5e6f7';
    const started = await store.create({
      id,
      checklist: 'monthly-review',
      title: 'Monthly review checklist (lost)',
      startedBy: 'U0ONCALL',
      origin: 'slash',
      channel: OPS,
      items: [
        { id: 'team-training', text: 'Team training conducted', mode: 'manual', note: 'people' },
        { id: 'security-review', text: 'Security review completed', mode: 'manual', note: 'people' },
      ],
    });
    const shown = () => standIn.messages(OPS).filter((message) => message.text.startsWith('Monthly review checklist (lost)'));
    const a = replica();
    await a.show(started);
    const [first] = shown();
    const client = new WebClient(BOT_TOKEN, { slackApiUrl: standIn.apiUrl, retryConfig: { retries: 0 } });
    await client.chat.delete({ channel: OPS, ts: first!.ts });
    expect(shown()).toEqual([]);

    // Both replicas find it gone at the same change: one posts it again, the other leaves it.
    const ticked = await store.mark(id, 'team-training', 'U0APPROVER1', 'tick');
    await Promise.all([a.show(ticked), replica().show(ticked)]);
    const again = shown();
    expect(again).toHaveLength(1);
    expect(again[0]!.ts).not.toBe(first!.ts);
    expect(blockText(again[0]!.blocks)).toContain('Ticked by <@U0APPROVER1>');
    expect((await store.get(id))!.messageTs).toBe(again[0]!.ts);

    // Then it is edited in place as before.
    await a.show(await store.mark(id, 'security-review', 'U0APPROVER2', 'tick'));
    expect(shown()).toHaveLength(1);
    expect(blockText(shown()[0]!.blocks)).toContain('completed by <@U0APPROVER2>');
  });
});
