/**
 * Started checklists on the real PostgreSQL, through the port the commands use: automatic checks
 * recorded with their evidence, ticks and unticks with who and when, completion exactly once
 * (also when two people tick the last items at the same moment), and every refusal before
 * anything is written.
 */
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CommandDependencies } from '../../commands/dependencies.js';
import { ChecklistRequestError, type ChecklistInfo } from '../../commands/ports.js';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { createChecklistBook } from './checklist-book.js';
import { migrateChecklistStore } from './checklist-store.js';
import { defineChecklist, type CheckOutcome } from './definition.js';

let db: TestDatabase;
let pool: pg.Pool;
/** What the `deploy-ready` check answers next; a test sets it. */
let readiness: () => Promise<CheckOutcome>;
const changes: ChecklistInfo[] = [];

const practice = defineChecklist({
  name: 'practice',
  title: 'Practice checklist',
  summary: 'A checklist for the tests',
  items: [
    { id: 'deploy-ready', mode: 'auto', text: 'Deploy ready', note: 'what the test says', check: () => readiness() },
    { id: 'looks-odd', mode: 'auto', text: 'Nothing odd', note: 'throws', check: async () => Promise.reject(new Error('the probe fell over')) },
    { id: 'plan-written', mode: 'manual', text: 'Plan written', note: 'people write it' },
    { id: 'people-told', mode: 'manual', text: 'People told', note: 'people tell them' },
  ],
});
const hanging = defineChecklist({
  name: 'hanging',
  title: 'Hanging checklist',
  summary: 'One check never answers',
  items: [{ id: 'never-answers', mode: 'auto', text: 'Never answers', note: 'hangs', check: () => new Promise<CheckOutcome>(() => undefined) }],
});

const book = () =>
  createChecklistBook({
    pool,
    definitions: [practice, hanging],
    services: {} as CommandDependencies,
    checkTimeoutMs: 300,
    onChanged: async (checklist) => {
      changes.push(checklist);
    },
  });

beforeAll(async () => {
  db = await createTestDatabase('acgs_checklists');
  pool = createPool({ databaseUrl: db.url, max: 4, applicationName: 'acgs-checklists-test' });
  await migrateChecklistStore(pool);
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

beforeEach(() => {
  readiness = async () => ({ status: 'pass', evidence: 'Ready: 4 of 4.' });
  changes.length = 0;
});

const counts = async () => (await pool.query<{ lists: string; events: string }>('SELECT (SELECT count(*) FROM checklists) AS lists, (SELECT count(*) FROM checklist_events) AS events')).rows[0];

async function refusal(work: Promise<unknown>): Promise<ChecklistRequestError> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ChecklistRequestError);
  return error as ChecklistRequestError;
}

describe('starting a checklist', () => {
  it('runs the automatic checks and records them with evidence, the manual items open, and who started it where', async () => {
    const started = await book().start({ checklist: 'practice', startedBy: 'U0ONCALL', origin: 'slash', channel: 'C0OPS' });
    expect(started).toMatchObject({ checklist: 'practice', title: 'Practice checklist', startedBy: 'U0ONCALL', origin: 'slash', channel: 'C0OPS', completedAt: null, revision: 1 });
    expect(started.items.map((item) => [item.id, item.mode, item.state, item.evidence])).toEqual([
      ['deploy-ready', 'auto', 'pass', 'Ready: 4 of 4.'],
      ['looks-odd', 'auto', 'unknown', 'The check could not finish: the probe fell over.'],
      ['plan-written', 'manual', 'open', null],
      ['people-told', 'manual', 'open', null],
    ]);
    expect(started.items[0]!.checkedAt).not.toBeNull();
    expect(changes.map((change) => change.id)).toEqual([started.id]);
    const { events } = await book().get(started.id);
    expect(events.map((event) => [event.itemId, event.action, event.actor, event.state])).toEqual([
      ['deploy-ready', 'check', 'U0ONCALL', 'pass'],
      ['looks-odd', 'check', 'U0ONCALL', 'unknown'],
    ]);
  });

  it('records a check that does not answer in time as unknown, saying so', async () => {
    const started = await book().start({ checklist: 'hanging', startedBy: 'U0ONCALL', origin: 'cli' });
    expect(started.items[0]).toMatchObject({ state: 'unknown', evidence: 'The check could not finish: no answer within 300 ms.' });
    expect(started.channel).toBeNull();
  });

  it('refuses an unknown checklist by naming the ones there are, and records nothing', async () => {
    const before = await counts();
    const error = await refusal(book().start({ checklist: 'post-deploy', startedBy: 'U0ONCALL', origin: 'slash' }));
    expect(error.code).toBe('unknown-checklist');
    expect(error.message).toBe('There is no checklist "post-deploy"; the checklists are practice, hanging.');
    expect(await counts()).toEqual(before);
  });
});

describe('ticking', () => {
  it('records who ticked and unticked what and when; an unknown check may be confirmed by hand; the last tick completes it, by whom', async () => {
    const port = book();
    const { id } = await port.start({ checklist: 'practice', startedBy: 'U0ONCALL', origin: 'slash' });
    const ticked = await port.tick(id, 'plan-written', 'U0ALICE');
    expect(ticked.items[2]).toMatchObject({ state: 'ticked', tickedBy: 'U0ALICE' });
    expect(Date.now() - Date.parse(ticked.items[2]!.tickedAt!)).toBeLessThan(60_000);
    expect(ticked.revision).toBe(2);
    const unticked = await port.untick(id, 'plan-written', 'U0BOB');
    expect(unticked.items[2]).toMatchObject({ state: 'open', tickedBy: null, tickedAt: null });
    await port.tick(id, 'plan-written', 'U0BOB');
    await port.tick(id, 'looks-odd', 'U0ALICE');
    expect((await port.get(id)).checklist.completedAt).toBeNull();
    const completed = await port.tick(id, 'people-told', 'U0CAROL');
    expect(completed).toMatchObject({ completedBy: 'U0CAROL' });
    expect(completed.completedAt).not.toBeNull();
    const { events } = await port.get(id);
    expect(events.filter((event) => event.action !== 'check').map((event) => [event.itemId, event.action, event.actor, event.state])).toEqual([
      ['plan-written', 'tick', 'U0ALICE', 'ticked'],
      ['plan-written', 'untick', 'U0BOB', 'open'],
      ['plan-written', 'tick', 'U0BOB', 'ticked'],
      ['looks-odd', 'tick', 'U0ALICE', 'ticked'],
      ['people-told', 'tick', 'U0CAROL', 'ticked'],
    ]);
    expect(changes.length).toBe(6);
  });

  it('refuses a completed checklist, a passed or failed check, a second tick, an untick of an open item, an unknown item or id, writing nothing', async () => {
    const port = book();
    readiness = async () => ({ status: 'fail', evidence: 'Not ready.' });
    const open = await port.start({ checklist: 'practice', startedBy: 'U0ONCALL', origin: 'slash' });
    await port.tick(open.id, 'plan-written', 'U0ALICE');
    const done = await book().start({ checklist: 'hanging', startedBy: 'U0ONCALL', origin: 'slash' });
    await port.tick(done.id, 'never-answers', 'U0ALICE');
    const before = await counts();

    const cases: Array<[() => Promise<unknown>, string, RegExp]> = [
      [() => port.tick(done.id, 'never-answers', 'U0BOB'), 'completed', /was completed by U0ALICE at .* UTC; it changes no more\. Start a new one with `checklist hanging`/],
      [() => port.untick(done.id, 'never-answers', 'U0BOB'), 'completed', /was completed by U0ALICE/],
      [() => port.rerun(done.id, 'U0BOB'), 'completed', /was completed by U0ALICE/],
      [() => port.tick(open.id, 'deploy-ready', 'U0BOB'), 'automatic', /"Deploy ready" is checked by the bot \(it failed\); fix what it found and re-run the checks/],
      [() => port.tick(open.id, 'plan-written', 'U0BOB'), 'already-ticked', /"Plan written" is ticked already \(by U0ALICE at/],
      [() => port.untick(open.id, 'people-told', 'U0BOB'), 'not-ticked', /"People told" is not ticked/],
      [() => port.tick(open.id, 'launch-missiles', 'U0BOB'), 'unknown-item', /has no item "launch-missiles"; its items are deploy-ready, looks-odd, plan-written, people-told/],
      [() => port.tick('6b1f0c2a-3d4e-4f5a-8b6c-7d8e9f0a1b2c', 'plan-written', 'U0BOB'), 'unknown-instance', /No checklist has the id 6b1f0c2a/],
      [() => port.tick("x' OR 1=1 --", 'plan-written', 'U0BOB'), 'unknown-instance', /No checklist has the id x' OR 1=1/],
      [() => port.get('6b1f0c2a-3d4e-4f5a-8b6c-7d8e9f0a1b2c'), 'unknown-instance', /No checklist/],
    ];
    for (const [work, code, message] of cases) {
      const error = await refusal(work());
      expect(error.code, error.message).toBe(code);
      expect(error.message).toMatch(message);
    }
    expect(await counts()).toEqual(before);
  });

  it('completes exactly once when two people tick the last two items at the same moment', async () => {
    readiness = async () => ({ status: 'pass', evidence: 'Ready.' });
    for (let round = 0; round < 5; round += 1) {
      const port = book();
      const { id } = await port.start({ checklist: 'practice', startedBy: 'U0ONCALL', origin: 'slash' });
      await port.tick(id, 'looks-odd', 'U0ONCALL');
      const [first, second] = await Promise.all([port.tick(id, 'plan-written', 'U0ALICE'), port.tick(id, 'people-told', 'U0BOB')]);
      const { checklist } = await port.get(id);
      expect(checklist.completedAt).not.toBeNull();
      // Whoever's tick came second completed it, and that tick's answer says so; the other's does not.
      expect([first.completedBy, second.completedBy].filter(Boolean)).toEqual([checklist.completedBy]);
    }
  });
  it('lets only one of two people who tick the same item at the same moment have it; the other is told who did', async () => {
    for (let round = 0; round < 5; round += 1) {
      const port = book();
      const { id } = await port.start({ checklist: 'practice', startedBy: 'U0ONCALL', origin: 'slash' });
      const outcomes = await Promise.allSettled([port.tick(id, 'plan-written', 'U0ALICE'), port.tick(id, 'plan-written', 'U0BOB')]);
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
      const refused = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
      expect((refused.reason as ChecklistRequestError).code).toBe('already-ticked');
      expect((await port.get(id)).events.filter((event) => event.action === 'tick')).toHaveLength(1);
    }
  });
});

describe('re-running the checks', () => {
  it('records what they see now, replaces a hand confirmation when the bot can look again, and completes it for whoever re-ran them', async () => {
    const port = book();
    readiness = async () => ({ status: 'fail', evidence: 'Not ready: 1 of 4.' });
    const { id } = await port.start({ checklist: 'practice', startedBy: 'U0ONCALL', origin: 'slash' });
    await port.tick(id, 'plan-written', 'U0ALICE');
    await port.tick(id, 'people-told', 'U0ALICE');
    await port.tick(id, 'looks-odd', 'U0ALICE');
    readiness = async () => ({ status: 'pass', evidence: 'Ready: 4 of 4.' });
    const rerun = await port.rerun(id, 'U0BOB');
    expect(rerun.items.map((item) => [item.id, item.state])).toEqual([
      ['deploy-ready', 'pass'],
      // Still unknown to the bot: the hand confirmation stands.
      ['looks-odd', 'ticked'],
      ['plan-written', 'ticked'],
      ['people-told', 'ticked'],
    ]);
    expect(rerun.items[0]!.evidence).toBe('Ready: 4 of 4.');
    expect(rerun.completedBy).toBe('U0BOB');
  });
});

describe('listing', () => {
  it('gives the open ones and the newest completed ones', async () => {
    const port = book();
    const open = await port.start({ checklist: 'practice', startedBy: 'U0ONCALL', origin: 'slash' });
    const { open: opened, completed } = await port.recent(2);
    expect(opened.map((checklist) => checklist.id)).toContain(open.id);
    expect(opened.every((checklist) => checklist.completedAt === null)).toBe(true);
    expect(completed).toHaveLength(2);
    expect(completed.every((checklist) => checklist.completedAt !== null)).toBe(true);
  });

  it('keeps a change when showing it fails', async () => {
    const failing = createChecklistBook({ pool, definitions: [practice], services: {} as CommandDependencies, onChanged: () => Promise.reject(new Error('Slack is down')) });
    const { id } = await failing.start({ checklist: 'practice', startedBy: 'U0ONCALL', origin: 'slash' });
    expect((await failing.tick(id, 'plan-written', 'U0ALICE')).items[2]!.state).toBe('ticked');
  });
});
