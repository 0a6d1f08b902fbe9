/**
 * The deployment records and the deploy lock on the embedded default of `npm start`: the bot's
 * database is PGlite with one session, so the bot's pool has one connection shared by the lock's
 * transactions, the run store and the trail's appends. Opened as bot/main.ts opens them, driven
 * through the commands every surface uses (what the console and `npx acgs` show as text).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandPathDependencies } from '../../bot/command-path/index.js';
import { renderText } from '../../bot/cli-render.js';
import { openBotDeployments } from '../../bot/runbook-runs/index.js';
import { DeployLockError } from '../../commands/ports.js';
import type { DeploymentRecords } from '../../runbooks/engine/ports.js';
import { createRunStore, migrateRunStore } from '../../runbooks/engine/run-store.js';
import { testGate } from '../testing/command-access.js';
import { commandRunner, type CommandRunner } from '../testing/commands.js';
import { openPgliteBotDatabase, type PgliteBotDatabase } from '../testing/pglite-bot-database.js';
import { servicesNowhere } from '../testing/services-nowhere.js';

const ONCALL = 'U0ONCALL';
const ADMIN = 'U0ADMIN';

let db: PgliteBotDatabase;
let deployments: DeploymentRecords;
let run: CommandRunner;

beforeAll(async () => {
  db = await openPgliteBotDatabase('deployments');
  await migrateRunStore(db.pool);
  // No service answers here: nothing is seen, so nothing gets an initial record.
  const base = await servicesNowhere();
  deployments = await openBotDeployments({ pool: db.pool, stack: { kind: 'local', description: 'local processes' }, services: base, env: {} });
  const services: CommandPathDependencies = { ...base, authorization: await testGate({ roles: { oncall: [ONCALL], admins: [ADMIN] } }), trail: db.trail, deployments };
  run = commandRunner({ services: () => services, user: ONCALL });
}, 60_000);

afterAll(async () => {
  await db?.close();
});

const newRun = async (runbook: string) => (await createRunStore(db.pool).create({ runbook, version: 'v1', args: {}, requester: ONCALL, origin: 'cli' })).id;

describe('deployments on PGlite', () => {
  it('list no version for services that never answered', async () => {
    const text = renderText((await run('releases')).document);
    expect(text).toContain('No record of what sandbox-controller, evolution-oversight, audit-engine, policy-engine run');
    expect(text).toContain('not recorded yet');
  });

  it('record deploys and a rollback, and show them as the CLI prints them', async () => {
    const deploy = await newRun('deploy');
    const artifact = { kind: 'directory' as const, directory: '/state/releases/v1.1.0' };
    await deployments.record({ service: 'policy-engine', version: '1.1.0', ref: 'v1.1.0', commit: 'a'.repeat(40), artifact, kind: 'deploy', runId: deploy, requestedBy: 'cli:alice', outcome: 'live' });
    await deployments.record({ service: 'policy-engine', version: '1.2.0', ref: 'v1.2.0', commit: 'b'.repeat(40), artifact, kind: 'deploy', runId: await newRun('deploy'), requestedBy: 'cli:alice', outcome: 'live' });
    await deployments.record({ service: 'policy-engine', version: '1.1.0', ref: 'v1.1.0', commit: 'a'.repeat(40), artifact, kind: 'rollback', runId: await newRun('rollback'), requestedBy: ONCALL, outcome: 'live' });

    const listed = renderText((await run('releases')).document);
    // The version before is the one the rollback took back.
    expect(listed).toMatch(/policy-engine\s+1\.1\.0 \(v1\.1\.0 · aaaaaaa\)\s+1\.2\.0 \(v1\.2\.0 · bbbbbbb\) \(rolled back\)\s+rollback\s+U0ONCALL/);
    const one = (await run('releases policy-engine')).document;
    expect(one.summary).toMatch(/^Runs 1\.1\.0 \(v1\.1\.0 · aaaaaaa\) since .* \(rollback by U0ONCALL\)\.$/);
    const history = (one.data as { history: Array<{ version: string; outcome: string }> }).history;
    expect(history.map((record) => `${record.version} ${record.outcome}`)).toEqual(['1.1.0 live', '1.2.0 rolled-back', '1.1.0 live']);
  });

  it('keep one holder of the lock on the one connection, and free it for an admin', async () => {
    const [a, b] = [await newRun('deploy'), await newRun('hotfix')];
    const outcomes = await Promise.allSettled([deployments.acquire(a, 'deploy', ONCALL), deployments.acquire(b, 'hotfix', ONCALL)]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(DeployLockError);

    const status = await run('deploy status');
    expect(status.document.summary).toMatch(/^A (deploy|hotfix) is in progress: U0ONCALL holds the deploy lock since/);
    // This process has no runbook engine: the lock is still the answer, its step is unknown.
    expect(renderText(status.document)).toContain('unknown here: the runbook engine is not reachable from this process');

    const unlocked = await run('deploy unlock the runner hung, incident 9', { user: ADMIN });
    expect(unlocked.document.title).toBe('Deploy lock forced open');
    expect(await deployments.lock()).toBeNull();
  });
});
