/**
 * `incident review` through the command path every surface uses (parse, authorize, record, run),
 * on the real PostgreSQL with the real authorization policy: a draft while the incident is open
 * that says so and is not kept, the review kept at the close once closed (whoever asks, however
 * often), one written from the records when the close could not keep it, and a clear answer for
 * an unknown or malformed key.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { renderText } from '../../bot/cli-render.js';
import { renderDocument } from '../../bot/slack/render.js';
import { validateBlocks } from '../../bot/slack/stand-in/block-kit.js';
import { createCommandPathDependencies, type CommandPathDependencies } from '../../bot/command-path/index.js';
import { commandIncidents, createIncidentStore, createReviewStore, INCIDENT_TABLES, incidentReviews, migrateIncidentStore, type IncidentStore } from '../../bot/incidents/index.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { commandRunner, type CommandRunner } from '../testing/commands.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';

const ONCALL = 'U0ONCALL';
/** In the workspace, with no role: reading a review is Level 0. */
const VIEWER = 'U0VIEWER';
const OPS = 'C0OPS';

let trail: TestTrail;
let store: IncidentStore;
let base: CommandPathDependencies;
let services: CommandPathDependencies;
let run: CommandRunner;
let closeFails = false;

const withReviews = (): CommandPathDependencies => {
  const reviews = incidentReviews({ store, reviews: createReviewStore(trail.pool), timeZone: 'UTC' });
  const port = commandIncidents(store, { timezone: 'UTC', opsChannel: OPS, review: reviews.review, closed: (incident) => (closeFails ? Promise.resolve() : reviews.closed(incident)) });
  return { ...base, incidents: port };
};

beforeAll(async () => {
  trail = await openTestTrail({ prefix: 'acgs_incident_review_cmd' });
  await migrateIncidentStore(trail.pool);
  store = createIncidentStore(trail.pool);
  const nowhere = await unusedLoopbackUrl();
  const plain = createCommandPathDependencies({ endpoints: Object.fromEntries(SERVICE_NAMES.map((name) => [name, nowhere])) as Record<ServiceName, string>, checkTimeoutMs: 1000 });
  base = { ...plain, authorization: await testGate({ roles: { oncall: [ONCALL] } }), trail: trail.trail };
  run = commandRunner({ services: () => services, user: ONCALL });
}, 30_000);

afterAll(async () => {
  await trail?.close();
});

beforeEach(async () => {
  closeFails = false;
  services = withReviews();
  await trail.pool.query(`TRUNCATE ${INCIDENT_TABLES.join(', ')} RESTART IDENTITY CASCADE`);
});

const text = (outcome: Awaited<ReturnType<CommandRunner>>) => renderText(outcome.document);
const keptReviews = async () => (await trail.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM incident_reviews')).rows[0]!.n;
const markdownOf = (outcome: Awaited<ReturnType<CommandRunner>>) => (outcome.document.data as { markdown: string }).markdown;

describe('incident review', () => {
  it('shows a draft of an open incident, says it is one and keeps nothing', async () => {
    await run('incident declare sev2 Policy Engine latency above 5 s', { channelId: OPS });
    await run('incident update INC-1 Scaled the policy engine to 3 replicas');
    const draft = await run('incident review INC-1', { user: VIEWER });
    expect(draft.outcome).toBe('info');
    expect(draft.document.title).toBe('INC-1 review (draft): Policy Engine latency above 5 s');
    expect(text(draft)).toContain('A draft: INC-1 is declared, not closed, so this is written now from what is recorded so far and not kept.');
    expect(draft.document.data).toMatchObject({ incident: 'INC-1', draft: true, fileName: 'inc-1-review.md', generatedBy: VIEWER });
    expect(markdownOf(draft)).toContain('Scaled the policy engine to 3 replicas');
    expect(text(draft)).not.toContain('The whole review is in inc-1-review.md');
    // As Slack shows it: Block Kit the stand-in (and Slack) accepts.
    expect(validateBlocks(renderDocument(draft.document).blocks, 'message')).toEqual([]);
    expect(await keptReviews()).toBe(0);
  });

  it('shows the review kept at the close, the same whoever asks and however often, and the close says where it is', async () => {
    await run('incident declare sev2 Policy Engine latency above 5 s', { channelId: OPS });
    await run('incident resolve INC-1');
    const closed = await run('incident close INC-1');
    expect(text(closed)).toContain('Its review: `incident review INC-1`');
    expect(await keptReviews()).toBe(1);
    const first = await run('incident review INC-1', { user: VIEWER });
    expect(first.document.title).toBe('INC-1 review: Policy Engine latency above 5 s');
    expect(first.document.data).toMatchObject({ draft: false, generatedBy: ONCALL });
    expect(text(first)).toContain('Review kept');
    expect(text(first)).not.toContain('draft');
    expect(validateBlocks(renderDocument(first.document).blocks, 'message')).toEqual([]);
    const again = await run('incident review inc-1');
    expect(markdownOf(again)).toBe(markdownOf(first));
    expect(await keptReviews()).toBe(1);
  });

  it("writes and keeps the review of a closed incident from its records when the close could not", async () => {
    closeFails = true;
    await run('incident declare sev3 cache warm-up slow', { channelId: OPS });
    await run('incident resolve INC-1');
    await run('incident close INC-1');
    expect(await keptReviews()).toBe(0);
    const asked = await run('incident review INC-1', { user: VIEWER });
    expect(asked.document.data).toMatchObject({ draft: false, generatedBy: ONCALL });
    expect(await keptReviews()).toBe(1);
  });

  it('answers an unknown, malformed or missing key with what to type, privately', async () => {
    const unknown = await run('incident review INC-99');
    expect({ outcome: unknown.outcome, rejection: unknown.rejection, ephemeral: unknown.document.ephemeral }).toEqual({ outcome: 'rejected', rejection: 'refused', ephemeral: true });
    expect(text(unknown)).toContain('There is no incident INC-99.');
    const malformed = await run('incident review INC-x');
    expect(malformed.rejection).toBe('usage');
    expect(text(malformed)).toContain("`incident review` takes only the incident's key (INC-n); unexpected `INC-x`");
    const extra = await run('incident review INC-1 now');
    expect(text(extra)).toContain('unexpected `now`');
    const none = await run('incident review');
    expect(none.rejection).toBe('usage');
    expect(text(none)).toContain('No incident is open. Name one, for example `incident review <INC-n>`');
  });

  it('says reviews are not set up where the port has none', async () => {
    services = { ...base, incidents: commandIncidents(store, { timezone: 'UTC' }) };
    await run('incident declare sev3 something', { channelId: OPS });
    const answer = await run('incident review INC-1');
    expect(answer.outcome).toBe('rejected');
    expect(text(answer)).toContain('Reviews are not set up in this process.');
  });
});
