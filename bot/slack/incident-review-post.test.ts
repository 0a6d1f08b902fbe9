/**
 * The review at an incident's close, from the real store on PostgreSQL to the Slack stand-in
 * through the real WebClient: kept once and posted once however many times the close is seen
 * (closed twice, two replicas at once), the file in the incident's channel with the same bytes
 * as kept, and a refused upload that keeps the review and says where to read it.
 */
import { WebClient } from '@slack/web-api';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Incidents } from '../../commands/ports.js';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { commandIncidents, createIncidentStore, createReviewStore, INCIDENT_TABLES, incidentReviews, migrateIncidentStore, type IncidentStore } from '../incidents/index.js';
import { channelWriteQueue } from './channel-write-queue.js';
import { postIncidentReview, type PostedIncidentReview } from './incident-review-post.js';
import { startSlackStandIn, type SlackStandIn } from './stand-in/index.js';

const BOT_TOKEN = 'xoxb-incident-review-test';
const INCIDENT_CHANNEL = 'C0INCREVIEW';
const T0 = new Date('2026-12-07T03:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

let db: TestDatabase;
let pools: pg.Pool[];
let stores: IncidentStore[];
let slack: SlackStandIn;
let client: WebClient;

beforeAll(async () => {
  db = await createTestDatabase('acgs_incident_review_post');
  pools = [0, 1].map((replica) => createPool({ databaseUrl: db.url, max: 4, applicationName: `acgs-incident-review-post-${replica}` }));
  await migrateIncidentStore(pools[0]!);
  stores = pools.map((pool) => createIncidentStore(pool));
}, 30_000);
afterAll(async () => {
  await Promise.all((pools ?? []).map((pool) => pool.end()));
  await db?.drop();
});
beforeEach(async () => {
  await pools[0]!.query(`TRUNCATE ${INCIDENT_TABLES.join(', ')} RESTART IDENTITY CASCADE`);
  slack = await startSlackStandIn({ botToken: BOT_TOKEN, console: false, workspace: { channels: [{ id: INCIDENT_CHANNEL, name: 'inc-2026-12-07-policy-engine-latency' }] } });
  // No retries: a 429 reaches the poster at once, as a refusal.
  client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
});
afterEach(async () => {
  await slack?.close();
});

/** One replica's port with the review seams, posting through its own write queue; what it posted and logged. */
function replica(index: number) {
  const posted: PostedIncidentReview[] = [];
  const logged: string[] = [];
  const queue = channelWriteQueue(client);
  const reviews = incidentReviews({
    store: stores[index]!,
    reviews: createReviewStore(pools[index]!),
    timeZone: 'Europe/Berlin',
    now: () => minutes(121),
    post: async (review) => posted.push(await postIncidentReview({ client, queue }, review)),
    log: (message, error) => logged.push(`${message}: ${(error as Error).message}`),
  });
  const port: Incidents = commandIncidents(stores[index]!, { timezone: 'Europe/Berlin', closed: reviews.closed, review: reviews.review });
  return { port, reviews, posted, logged };
}

/** INC-1, running in its own channel, resolved: ready to be closed. */
async function resolvedIncident(channel: string | null = INCIDENT_CHANNEL): Promise<void> {
  const store = stores[0]!;
  await store.declare({ title: 'Policy Engine latency above 5 s', severity: 'sev2', type: 'performance', declaredBy: 'U0ALICE', at: T0 });
  if (channel) await store.setChannel('1', channel);
  await store.postUpdate('1', { author: 'U0ALICE', text: 'Scaled the policy engine to 3 replicas', at: minutes(20) });
  await store.addActionItem('1', { text: 'Alert on p99 before p95', owner: 'U0BOB', by: 'U0ALICE', at: minutes(30) });
  await store.resolve('1', 'U0ALICE', minutes(60));
}

/** Closes as `incident close` does: the seam is told only by the close that changed something. */
async function close(port: Incidents, by: string, at: Date) {
  const outcome = await port.close('INC-1', by, at);
  if (outcome.changed) await port.closed?.(outcome.incident);
  return outcome;
}

const kept = async () => (await pools[0]!.query<{ incident_id: string; markdown: string; generated_by: string }>('SELECT incident_id::text, markdown, generated_by FROM incident_reviews')).rows;

describe('the review at the close', () => {
  it('keeps the review once and posts it once, as a file in the thread of its summary, when two replicas close at once and it is closed again', async () => {
    await resolvedIncident();
    const [a, b] = [replica(0), replica(1)];
    const outcomes = await Promise.all([close(a.port, 'U0ALICE', minutes(120)), close(b.port, 'U0BOB', minutes(120))]);
    expect(outcomes.map((outcome) => outcome.changed).sort()).toEqual([false, true]);
    expect((await close(a.port, 'U0ALICE', minutes(125))).changed).toBe(false);

    const rows = await kept();
    expect(rows).toHaveLength(1);
    const closer = outcomes.find((outcome) => outcome.changed)!.incident.closedBy;
    expect(rows[0]).toMatchObject({ incident_id: '1', generated_by: closer });
    expect(rows[0]!.markdown).toContain('# INC-1 post-incident review: Policy Engine latency above 5 s');
    expect(rows[0]!.markdown).toContain('Alert on p99 before p95');

    const posted = [...a.posted, ...b.posted];
    expect(posted).toEqual([expect.objectContaining({ file: 'uploaded' })]);
    const messages = slack.messages(INCIDENT_CHANNEL);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.text).toContain('INC-1 review: Policy Engine latency above 5 s');
    const [, fileReply] = slack.thread(INCIDENT_CHANNEL, posted[0]!.ts);
    expect(fileReply?.files?.map((file) => file.name)).toEqual(['inc-1-review.md']);
    const file = slack.file((posted[0] as { fileId: string }).fileId);
    expect(file?.bytes?.toString('utf8')).toBe(rows[0]!.markdown);
    expect([...a.logged, ...b.logged]).toEqual([]);
  });

  it('keeps one review and posts one file when both replicas are told of the same close at the same moment', async () => {
    await resolvedIncident();
    const { incident } = await stores[0]!.close('1', 'U0ALICE', minutes(120));
    const [a, b] = [replica(0), replica(1)];
    const info = (await a.port.find('INC-1'))!;
    expect(info.state).toBe(incident.state);
    await Promise.all([a.port.closed!(info), b.port.closed!(info), a.port.closed!(info)]);
    expect(await kept()).toHaveLength(1);
    expect([...a.posted, ...b.posted]).toHaveLength(1);
    expect(slack.calls('files.completeUploadExternal').filter((call) => call.ok)).toHaveLength(1);
    expect(slack.messages(INCIDENT_CHANNEL)).toHaveLength(1);
  });

  it('keeps the review when Slack refuses the upload, and says in the thread why and where to read it', async () => {
    await resolvedIncident();
    const a = replica(0);
    slack.rateLimitNext('files.getUploadURLExternal', 1, 30);
    await close(a.port, 'U0ALICE', minutes(120));
    expect(await kept()).toHaveLength(1);
    expect(a.posted).toEqual([expect.objectContaining({ file: 'refused', reason: expect.stringContaining('rate_limited') })]);
    const [, notice] = slack.thread(INCIDENT_CHANNEL, a.posted[0]!.ts);
    expect(notice?.text).toContain('The review file inc-1-review.md could not be posted here (Slack said: rate_limited');
    expect(notice?.text).toContain('`/acgs incident review INC-1` shows it');
    // Asked for afterwards, it is the review kept at the close, not a new one.
    const review = await a.port.review!('INC-1', 'U0CAROL', minutes(300));
    expect(review).toMatchObject({ draft: false, generatedBy: 'U0ALICE', generatedAt: minutes(121), markdown: (await kept())[0]!.markdown });
  });

  it('keeps the review and posts nothing for an incident without a channel, and logs rather than throws when its channel refuses the post', async () => {
    await resolvedIncident(null);
    const a = replica(0);
    await close(a.port, 'U0ALICE', minutes(120));
    expect(await kept()).toHaveLength(1);
    expect(a.posted).toEqual([]);

    await pools[0]!.query(`TRUNCATE ${INCIDENT_TABLES.join(', ')} RESTART IDENTITY CASCADE`);
    await resolvedIncident();
    slack.workspace.findChannel(INCIDENT_CHANNEL)!.botIsMember = false;
    await expect(close(a.port, 'U0ALICE', minutes(120))).resolves.toMatchObject({ changed: true });
    expect(await kept()).toHaveLength(1);
    expect(a.logged).toEqual([expect.stringContaining('the review of INC-1 could not be written or posted at its close; `incident review INC-1` writes it from the records')]);
  });
});
