/**
 * `npx acgs incident ...` and `incidents` with DATABASE_URL: the CLI opens the bot's incidents in
 * that database and acts on them as its operator; without DATABASE_URL and without a running npm
 * start it says where the incidents are.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIncidentStore, migrateIncidentStore, type IncidentStore } from '../../bot/incidents/index.js';
import { createPool } from '../../services/kit/postgres.js';
import { CLI_OPERATOR, startCliOperator, type CliOperator } from '../testing/cli-operator.js';

let cli: CliOperator;
let pool: pg.Pool;
let store: IncidentStore;

beforeAll(async () => {
  cli = await startCliOperator('cli-incidents', {});
  pool = createPool({ databaseUrl: cli.db.url, max: 2, applicationName: 'acgs-cli-incidents-test' });
  await migrateIncidentStore(pool);
  store = createIncidentStore(pool);
}, 30_000);

afterAll(async () => {
  await pool?.end();
  await cli?.close();
});

describe('acgs incident', () => {
  it('declares, updates, resolves and lists as the operator', async () => {
    const declared = await cli.acgs(['incident', 'declare', 'sev3', 'audit chain head stuck']);
    expect(declared.code, declared.stdout + declared.stderr).toBe(0);
    expect(declared.stdout).toContain('INC-1 declared: audit chain head stuck');
    // No channel in a terminal and no channels.ops in the config: it says so rather than guessing.
    expect(declared.stdout).toContain('It has no channel');
    expect((await cli.acgs(['incident', 'update', 'restarting the audit engine'])).code).toBe(0);
    expect((await cli.acgs(['incident', 'resolve', 'INC-1'])).code).toBe(0);
    const listed = await cli.acgs(['incidents', '--json']);
    expect((JSON.parse(listed.stdout) as { incidents: Array<{ key: string; state: string }> }).incidents).toEqual([expect.objectContaining({ key: 'INC-1', state: 'resolved' })]);
    expect(await store.find('INC-1')).toMatchObject({ declaredBy: CLI_OPERATOR, resolvedBy: CLI_OPERATOR, roles: { commander: { holder: CLI_OPERATOR } } });
    expect((await store.timeline('INC-1')).map((entry) => entry.kind)).toEqual(['declared', 'status-update', 'resolved']);
  });

  it('closes with the review kept, and shows it with its whole Markdown in --json', async () => {
    expect((await cli.acgs(['incident', 'declare', 'sev4', 'report job slow'])).code).toBe(0);
    const key = (await store.open()).at(-1)!.key;
    const draft = await cli.acgs(['incident', 'review', key]);
    expect(draft.stdout).toContain(`${key} review (draft): report job slow`);
    expect((await cli.acgs(['incident', 'resolve', key])).code).toBe(0);
    expect((await cli.acgs(['incident', 'close', key])).stdout).toContain(`Its review: \`incident review ${key}\``);
    const shown = await cli.acgs(['incident', 'review', key, '--json']);
    expect(shown.code, shown.stdout + shown.stderr).toBe(0);
    const review = JSON.parse(shown.stdout) as { draft: boolean; generatedBy: string; markdown: string };
    expect(review).toMatchObject({ draft: false, generatedBy: CLI_OPERATOR });
    expect(review.markdown).toContain(`# ${key} post-incident review: report job slow`);
    const { rows } = await pool.query<{ markdown: string }>('SELECT markdown FROM incident_reviews WHERE incident_id = $1', [key.replace('INC-', '')]);
    expect(rows.map((row) => row.markdown)).toEqual([review.markdown]);
    const unknown = await cli.acgs(['incident', 'review', 'INC-4242']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stdout + unknown.stderr).toContain('There is no incident INC-4242.');
  });

  it('says why without DATABASE_URL and without a running npm start, changing nothing', async () => {
    const answer = await cli.acgs(['incidents'], { DATABASE_URL: '' });
    expect(answer.code).not.toBe(0);
    expect(answer.stdout).toContain('The incidents cannot be reached from here.');
  });
});
