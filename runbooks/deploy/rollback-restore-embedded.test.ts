/**
 * `rollback-restore` end to end on the embedded stack of `npm start` (deploy-harness.ts): 9.1.0 is
 * deployed by the deploy runbook, which takes its backup (the rollback point); audit events are
 * written after it; the rollback-restore to that backup puts every service back on 9.0.0 with the
 * embedded databases as the backup holds them, the Audit Engine's chain re-anchored at the restored
 * head, the records and the rolled-back notice saying so, and the lock free.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandDependencies } from '../../commands/dependencies.js';
import { ROLLOUT_ORDER } from './release-plan.js';
import { deployHarness, type DeployHarness } from './testing/deploy-harness.js';

let h: DeployHarness;
let audit: CommandDependencies['auditEngine'];

beforeAll(async () => {
  h = await deployHarness();
  audit = (h.stepPorts.commands as CommandDependencies).auditEngine;
  await h.deployByHand('9.0.0');
}, 300_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

const AFTER_BACKUP = 'test.after_backup';

describe('rollback-restore on the embedded stack', () => {
  let backupId: string;
  let deployRun: string;

  it('deploys 9.1.0 with its backup, the rollback point', async () => {
    const run = await h.run('deploy', { version: '9.1.0' });
    expect(run.state, run.reason ?? '').toBe('succeeded');
    deployRun = run.id;
    backupId = ((await h.output(run.id, 'backup')) as { id: string }).id;
    expect(backupId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
  }, 300_000);

  it('puts 9.0.0 back with the databases of the backup, the audit chain re-anchored, recorded and announced', async () => {
    await audit.postEvents([1, 2, 3].map((n) => ({ event_type: AFTER_BACKUP, source: 'rollback-restore-test', data: { n } })));
    expect((await audit.listEvents({ event_type: AFTER_BACKUP })).events).toHaveLength(3);
    const noticesBefore = h.notices.length;

    const run = await h.run('rollback-restore', { backup: backupId, unverified: 'allow' });
    expect(run.state, run.reason ?? '').toBe('succeeded');
    expect(run.reason).toBe(`Rolled back: ${ROLLOUT_ORDER.map((service) => `${service} runs 9.0.0`).join(', ')}. The databases were restored from backup ${backupId}.`);
    const attempts = (await h.t.store.attempts(run.id)).filter((attempt) => attempt.action === 'run').map((attempt) => `${attempt.stepId} ${attempt.outcome}`);
    expect(attempts).toEqual(
      ['take-over-lock', 'plan', 'check-backup', 'safety-backup', 'stop-writers', 'restore-databases', 'verify-restored', 'start-writers', 'reanchor-audit-chain', 'roll-back', 'verify', 'notice-rolled-back', 'watch', 'unlock'].map(
        (step) => `${step} done`,
      ),
    );

    // Services back on 9.0.0, each recorded as this rollback, the deploy's records rolled back.
    for (const service of ROLLOUT_ORDER) {
      expect(await h.health(service)).toEqual({ status: 200, version: '9.0.0' });
      const [now, replaced] = await h.records.history(service, 2);
      expect(now).toMatchObject({ version: '9.0.0', kind: 'rollback', outcome: 'live', runId: run.id, replacedVersion: '9.1.0' });
      expect(replaced).toMatchObject({ version: '9.1.0', kind: 'deploy', outcome: 'rolled-back', runId: deployRun });
    }

    // Both embedded databases replaced by the backup's dumps; what was written after it is gone
    // (kept in the safety backup taken first).
    const restored = (await h.output(run.id, 'restore-databases')) as { restored: Array<{ file: string }> };
    expect(restored.restored.map((entry) => entry.file).sort()).toEqual(['audit-engine.sql', 'evolution-oversight.sql']);
    expect((await audit.listEvents({ event_type: AFTER_BACKUP })).events).toEqual([]);
    const safety = (await h.output(run.id, 'safety-backup')) as { id: string };
    expect(safety.id).not.toBe(backupId);

    // The chain accepted at the restored head, with an event naming the restore; it verifies whole.
    const reanchor = (await h.output(run.id, 'reanchor-audit-chain')) as { audit_chain: string; head: { sequence: number }; event: { sequence: number; event_type: string } };
    expect(reanchor.audit_chain).toMatch(/^re-anchored: checkpoint #\d+ \(.*\) -> head #\d+ \(.*\), recorded as event #\d+$/);
    expect(reanchor.event.sequence).toBe(reanchor.head.sequence + 1);
    const integrity = await audit.verify();
    expect(integrity).toMatchObject({ valid: true });

    expect(h.notices.slice(noticesBefore)).toEqual([
      expect.objectContaining({
        kind: 'rolled-back',
        runId: run.id,
        // What was rolled back: the services ran 9.1.0 (where they went is in services).
        version: '9.1.0',
        reason: 'rolled back by hand by U0ONCALL',
        services: ROLLOUT_ORDER.map((service) => ({ service, from: '9.1.0', to: '9.0.0' })),
      }),
    ]);
    expect(await h.records.lock()).toBeNull();
  }, 300_000);
});
