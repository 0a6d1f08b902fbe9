/**
 * The checklist commands on the embedded default of `npm start`: the bot's database is PGlite with
 * one session, so the bot's pool has one connection shared by the checklists' transactions and the
 * trail's appends. A monthly review goes from start to completed through the commands every
 * surface uses (what the console and `npx acgs` show as text), and bad input writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandPathDependencies } from '../../bot/command-path/index.js';
import { renderText } from '../../bot/cli-render.js';
import type { ChecklistInfo } from '../../commands/ports.js';
import { allChecklists, createChecklistBook, migrateChecklistStore } from '../../runbooks/checklists/index.js';
import { testGate } from '../testing/command-access.js';
import { block, commandRunner, type CommandRunner } from '../testing/commands.js';
import { openPgliteBotDatabase, type PgliteBotDatabase } from '../testing/pglite-bot-database.js';
import { servicesNowhere } from '../testing/services-nowhere.js';

const ONCALL = 'U0ONCALL';
const VIEWER = 'U0VIEWER';

let db: PgliteBotDatabase;
let run: CommandRunner;

beforeAll(async () => {
  db = await openPgliteBotDatabase('checklists');
  await migrateChecklistStore(db.pool);
  const services: CommandPathDependencies = await servicesNowhere({ authorization: await testGate({ roles: { oncall: [ONCALL] } }), trail: db.trail });
  services.checklists = createChecklistBook({ pool: db.pool, definitions: allChecklists, services });
  run = commandRunner({ services: () => services, user: ONCALL });
}, 60_000);

afterAll(async () => {
  await db?.close();
});

const counts = async () => (await db.pool.query<{ lists: string; events: string }>('SELECT (SELECT count(*) FROM checklists) AS lists, (SELECT count(*) FROM checklist_events) AS events')).rows[0];

describe('a monthly review on PGlite', () => {
  let id: string;

  it('starts with the backup check the bot could not make, and every other item for people', async () => {
    const outcome = await run('checklist monthly-review');
    expect(outcome.document.title).toBe('Started: Monthly review checklist');
    const checklist = (outcome.document.data as { checklist: ChecklistInfo }).checklist;
    id = checklist.id;
    expect(checklist.items.map((item) => item.state)).toEqual(['open', 'open', 'open', 'unknown', 'open', 'open', 'open']);
    expect(outcome.document.summary).toMatch(/^0 of 7 items passed or ticked\. Started by U0ONCALL at /);
    // From the CLI there is no channel message: the whole checklist is the answer, as text.
    expect(outcome.document.ephemeral).toBeUndefined();
    const text = renderText(outcome.document);
    expect(text).toContain('Backup integrity verified [backup-integrity]');
    expect(text).toContain('unknown: This process has no backup catalog (ACGS_BACKUP_DIR): the bot cannot see the backups.');
    expect(text).toContain('to tick by a person: The bot does not review security: tick once the review is done.');
  });

  it('is ticked item by item until the last tick completes it, and shows who did what when', async () => {
    for (const item of ['performance-trends', 'capacity-planning', 'security-review', 'backup-integrity', 'dr-procedures-tested', 'documentation-updated']) {
      const outcome = await run(`checklist tick ${id} ${item}`);
      expect(outcome.document.title, JSON.stringify(outcome.document.summary)).toBe('Ticked: Monthly review checklist');
    }
    const unticked = await run(`checklist untick ${id} documentation-updated`);
    expect(unticked.document.title).toBe('Unticked: Monthly review checklist');
    await run(`checklist tick ${id} documentation-updated`);
    const last = await run(`checklist tick ${id} team-training`);
    expect(last.document.title).toBe('Completed: Monthly review checklist');
    expect(last.document.summary).toMatch(/^Completed by U0ONCALL at .*: all 7 items passed or ticked\./);

    const shown = await run(`checklist show ${id}`, { user: VIEWER });
    expect(block(shown.document, 'checks').items.find((item) => item.name === 'Backup integrity verified [backup-integrity]')?.text).toMatch(
      /^ticked by U0ONCALL at \d\d:\d\d:\d\d UTC \(confirmed by hand: the bot could not check it\)$/,
    );
    const history = block(shown.document, 'code').text.split('\n');
    expect(history[0]).toMatch(/ U0ONCALL checked backup-integrity: unknown$/);
    expect(history).toContainEqual(expect.stringMatching(/ U0ONCALL unticked documentation-updated: open$/));
    expect(history).toHaveLength(10);

    const listed = await run('checklists', { user: VIEWER });
    expect(JSON.stringify(listed.document.data)).toContain(id);
    expect(block(listed.document, 'table').rows.map((row) => row[0])).toEqual(['pre-deployment', 'post-deployment', 'monthly-review']);
  });

  it('refuses changes once completed, bad ids and items, an unknown checklist, and a person without the role, writing nothing', async () => {
    const before = await counts();
    const cases: Array<[string, string | undefined, RegExp]> = [
      [`checklist tick ${id} team-training`, undefined, /was completed by U0ONCALL .* it changes no more/],
      [`checklist rerun ${id}`, undefined, /was completed by U0ONCALL/],
      ['checklist tick 1234 team-training', undefined, /`1234` is not a checklist id/],
      [`checklist tick ${id.slice(0, 8)} team-training`, undefined, /is only the start of a checklist id; give the whole id, as `checklists`/],
      [`checklist tick ${id} Team_Training`, undefined, /an item id is a short kebab-case word/],
      ['checklist tick', undefined, /name the checklist: its id/],
      ['checklist weekly', undefined, /There is no checklist "weekly"; the checklists are pre-deployment, post-deployment, monthly-review\./],
      ['checklist pre-deployment', VIEWER, /you hold no role/],
    ];
    for (const [line, user, message] of cases) {
      const outcome = await run(line, user ? { user } : {});
      expect(outcome.outcome, line).toBe('rejected');
      expect(`${outcome.document.summary ?? ''} ${JSON.stringify(outcome.document)}`, line).toMatch(message);
    }
    expect(await counts()).toEqual(before);
  });
});
