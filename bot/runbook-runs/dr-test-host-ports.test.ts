/**
 * The bot's side of the DR test on the real PostgreSQL: earlier restore times read from the run
 * store (only dr-test's finished restore steps, newest first, never the asking run's), figures
 * appended to the trail as `dr_test` records, and a clear refusal when there is nowhere to post.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runbookTestDatabase, type RunbookTestDatabase } from '../../runbooks/engine/testing/database.js';
import type { ResultDocument } from '../../commands/result.js';
import { drTestHostPorts } from './dr-test-host-ports.js';

let t: RunbookTestDatabase;
const appended: Array<Record<string, unknown>> = [];
const posted: Array<{ channel: string; document: ResultDocument }> = [];
let channels: { ops?: string; reports?: string } | undefined;

const RUNS = {
  october: '00000000-0000-4000-8000-000000000010',
  november: '00000000-0000-4000-8000-000000000011',
  failedRestore: '00000000-0000-4000-8000-000000000012',
  backup: '00000000-0000-4000-8000-000000000013',
  current: '00000000-0000-4000-8000-000000000014',
};

async function attempt(runId: string, runbook: string, outcome: string, output: unknown, finishedAt: string): Promise<void> {
  await t.pool.query(`INSERT INTO runbook_runs (id, runbook, version, args, requester, origin, state) VALUES ($1, $2, 'v1', '{}', 'U0ONCALL', 'schedule', 'succeeded') ON CONFLICT DO NOTHING`, [runId, runbook]);
  await t.pool.query(
    `INSERT INTO runbook_step_attempts (run_id, step_index, step_id, attempt, started_at, finished_at, outcome, output_summary, owner, fencing_token)
     VALUES ($1, 0, 'restore-test', 1, $4, $4, $2, $3::jsonb, 'test', 1)`,
    [runId, outcome, JSON.stringify(output), finishedAt],
  );
}

const ports = () =>
  drTestHostPorts({
    pool: t.pool,
    trail: {
      append: async (record) => {
        appended.push(record as unknown as Record<string, unknown>);
        // The receipt is not read by the port.
        return {} as never;
      },
    },
    channels: () => (channels ? { ...channels, post: async (channel, document) => void posted.push({ channel, document }) } : undefined),
    levelOneAutoResolution: false,
  });

beforeAll(async () => {
  t = await runbookTestDatabase();
  await attempt(RUNS.october, 'dr-test', 'done', { restoreMs: 1500 }, '2026-10-04T03:01:00Z');
  await attempt(RUNS.november, 'dr-test', 'done', { restoreMs: 1200 }, '2026-11-01T03:01:00Z');
  await attempt(RUNS.failedRestore, 'dr-test', 'failed', null, '2026-11-15T03:01:00Z');
  await attempt(RUNS.backup, 'backup-verify', 'done', { restoreMs: 99 }, '2026-11-20T03:01:00Z');
  await attempt(RUNS.current, 'dr-test', 'done', { restoreMs: 900 }, '2026-12-06T03:01:00Z');
}, 60_000);

afterAll(async () => {
  await t?.close();
});

it("reads the earlier DR tests' restore times, newest first, without the asking run", async () => {
  expect(await ports().pastRestoreTimes(RUNS.current)).toEqual([
    { runId: RUNS.november, at: '2026-11-01T03:01:00.000Z', restoreMs: 1200 },
    { runId: RUNS.october, at: '2026-10-04T03:01:00.000Z', restoreMs: 1500 },
  ]);
});

it("records each figure in the trail as a dr_test record, keyed by the step's attempt so a replay records once and a retry apart", async () => {
  appended.length = 0;
  await ports().record({ runId: RUNS.current, attempt: 1, what: 'failover', outcome: 'recovered', details: { service: 'audit-engine', detectionMs: 300 } });
  await ports().record({ runId: RUNS.current, attempt: 2, what: 'failover', outcome: 'recovered', details: { service: 'audit-engine', detectionMs: 250 } });
  expect(appended).toEqual([
    expect.objectContaining({ kind: 'dr_test', key: `dr_test:${RUNS.current}:failover#1:recovered:audit-engine`, outcome: 'recovered', command: 'run dr-test', details: { run: RUNS.current, what: 'failover', attempt: 1, service: 'audit-engine', detectionMs: 300 } }),
    expect.objectContaining({ kind: 'dr_test', key: `dr_test:${RUNS.current}:failover#2:recovered:audit-engine`, details: { run: RUNS.current, what: 'failover', attempt: 2, service: 'audit-engine', detectionMs: 250 } }),
  ]);
});

it('posts the report where the daily report goes (else ops), and says why when it cannot', async () => {
  const report = { title: 'DR test: x', summary: 'Restore in 0.9 s; failover not tested.', lines: ['*Failover test*: not run: lockdown.'] };
  channels = undefined;
  await expect(ports().postReport(report)).rejects.toThrow('the bot cannot post yet (its Slack client is still starting); retry the step');
  channels = {};
  await expect(ports().announce('starting')).rejects.toThrow('there is no channels.ops in ACGS_CONFIG to announce the failover in');
  await expect(ports().postReport(report)).rejects.toThrow('there is no channels.reports or channels.ops in ACGS_CONFIG to post the DR report in');
  channels = { ops: 'C0OPS' };
  expect(await ports().postReport(report)).toBe('C0OPS');
  channels = { ops: 'C0OPS', reports: 'C0REPORTS' };
  expect(await ports().postReport(report)).toBe('C0REPORTS');
  expect(posted.at(-1)!.document).toMatchObject({ title: 'DR test: x', tone: 'warn', summary: report.summary, blocks: [{ type: 'text', text: report.lines[0] }] });
});
