/**
 * `npx acgs alerts ...` and `silence` with DATABASE_URL: the CLI opens the bot's alerts in that
 * database and acts on them as its operator (recorded in the trail); without DATABASE_URL and
 * without a running npm start it says where the alerts are.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../bot/cli.js';
import { createAlertStore, migrateAlertStore, type AlertStore } from '../../bot/alerts/index.js';
import { createPool } from '../../services/kit/postgres.js';
import { CLI_OPERATOR, startCliOperator, type CliOperator } from '../testing/cli-operator.js';
import { firingReport } from '../../bot/alerts/testing/reported-alerts.js';

let cli: CliOperator;
let pool: pg.Pool;
let store: AlertStore;

beforeAll(async () => {
  cli = await startCliOperator('cli-alerts', {});
  pool = createPool({ databaseUrl: cli.db.url, max: 2, applicationName: 'acgs-cli-alerts-test' });
  await migrateAlertStore(pool);
  store = createAlertStore({ pool });
}, 30_000);

afterAll(async () => {
  await pool?.end();
  await cli?.close();
});

describe('acgs alerts', () => {
  it('lists the open alerts as JSON, acknowledges one as the operator and silences a rule', async () => {
    await store.report([firingReport({ labels: { service: 'audit-engine' }, startsAt: new Date() })]);
    const id = (await store.byFingerprint('monitor/ServiceDown/service=audit-engine'))!.id;
    const listed = await cli.acgs(['alerts', '--json']);
    // A firing alert needs attention: the exit code says so, as `health` does for a failing check.
    expect(listed.code).toBe(EXIT.attention);
    expect((JSON.parse(listed.stdout) as { alerts: Array<{ id: string; service: string }> }).alerts).toEqual([expect.objectContaining({ id, service: 'audit-engine' })]);

    const acked = await cli.acgs(['alerts', 'ack', id]);
    expect(acked.code, acked.stdout + acked.stderr).toBe(0);
    expect(acked.stdout).toContain(`Alert ${id} acknowledged`);
    expect(await store.get(id)).toMatchObject({ state: 'acknowledged', acknowledgedBy: CLI_OPERATOR });

    const silenced = await cli.acgs(['silence', 'HighCpu', '30m', 'load', 'test']);
    expect(silenced.code, silenced.stdout + silenced.stderr).toBe(0);
    expect((await store.activeSilences()).map((silence) => [silence.rule, silence.reason, silence.createdBy])).toEqual([['HighCpu', 'load test', CLI_OPERATOR]]);
  });

  it('says why without DATABASE_URL and without a running npm start, changing nothing', async () => {
    const answer = await cli.acgs(['alerts'], { DATABASE_URL: '' });
    expect(answer.code).not.toBe(0);
    expect(answer.stdout).toContain('The alerts cannot be reached from here.');
  });
});
