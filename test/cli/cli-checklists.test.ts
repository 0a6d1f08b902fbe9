/**
 * `npx acgs checklist ...` with DATABASE_URL: the CLI reaches the bot's checklists in that
 * database itself (migrating their tables if the bot has not), records each tick in the bot's
 * trail as the operator (`cli:<user>`, on-call through cli_users), and prints the checklist as text or JSON.
 * The real Policy Engine answers for the stack's modes; the other services are not there.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../services/kit/postgres.js';
import { CLI_OPERATOR as OPERATOR, startCliOperator, type CliOperator } from '../testing/cli-operator.js';

let cli: CliOperator;

beforeAll(async () => {
  cli = await startCliOperator('cli-checklists', { ACGS_STACK: 'local' });
}, 30_000);

afterAll(async () => {
  await cli?.close();
});

const acgs = (args: string[]) => cli.acgs(args);

describe('acgs checklist', () => {
  it('starts one, ticks an item as the mapped user, lists and shows it as text', async () => {
    const started = await acgs(['checklist', 'pre-deployment', '--json']);
    // Exit 1 (needs attention): there is no backup yet in the state directory, so `backup-created` failed.
    expect(started.code, started.stdout + started.stderr).toBe(1);
    const { checklist } = JSON.parse(started.stdout) as { checklist: { id: string; startedBy: string; origin: string; channel: null; items: Array<{ id: string; state: string; evidence: string }> } };
    expect(checklist).toMatchObject({ startedBy: OPERATOR, origin: 'cli', channel: null });
    expect(checklist.items.find((item) => item.id === 'backup-created')).toMatchObject({ state: 'fail', evidence: `No complete backup under ${join(cli.scratch, 'backups')}.` });

    const ticked = await acgs(['checklist', 'tick', checklist.id, 'rollback-plan']);
    // The tick itself succeeded: exit 0, whatever the checks say.
    expect(ticked.code, ticked.stdout + ticked.stderr).toBe(0);
    expect(ticked.stdout).toContain('Ticked: Pre-deployment checklist');
    expect(ticked.stdout).toMatch(new RegExp(`Rollback plan prepared \\[rollback-plan\\].*ticked by ${OPERATOR} at \\d\\d:\\d\\d:\\d\\d UTC`));

    const listed = await acgs(['checklists']);
    expect(listed.stdout).toContain(checklist.id);
    const shown = await acgs(['checklist', 'show', checklist.id]);
    expect(shown.stdout).toContain(`${OPERATOR} ticked rollback-plan: ticked`);

    const pool = createPool({ databaseUrl: cli.db.url, max: 1, applicationName: 'acgs-cli-checklists-test' });
    try {
      const { rows } = await pool.query<{ kind: string; actor: string; origin: string }>(`SELECT kind, actor, origin FROM bot_audit_trail WHERE command = 'checklist tick' ORDER BY sequence`);
      expect(rows).toEqual([
        { kind: 'command', actor: OPERATOR, origin: 'cli' },
        { kind: 'execution', actor: OPERATOR, origin: 'cli' },
        { kind: 'result', actor: OPERATOR, origin: 'cli' },
      ]);
    } finally {
      await pool.end();
    }
  });
});
