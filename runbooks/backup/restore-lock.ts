/**
 * The restore holds the stack's deploy lock (runbooks/deploy, "Deployment records and the deploy
 * lock") from after its plan until its end: a deploy, hotfix, rollback or DR failover beside a
 * restore would start, stop or replace the services it has stopped on purpose, or write into the
 * databases it is replacing. Theirs is refused naming this run, and this one is refused naming
 * theirs before anything is stopped.
 *
 * A rollback may still take the lock over (it is the way out of a bad deploy, and a person starts
 * it), so the steps that stop the writers and replace the data first check that the lock is still
 * this run's. Inside `rollback-restore` these steps are left out: that run takes the lock over in
 * its first step, and the checks pass for it as its own.
 */
import { formatTimestamp } from '../../commands/format.js';
import { DeployLockError, type DeployLockInfo } from '../../commands/ports.js';
import type { StepContext, StepDefinition } from '../engine/definition.js';
import type { DeploymentRecords, StepPorts } from '../engine/ports.js';

const holderSentence = (lock: DeployLockInfo) => `${lock.heldBy}'s ${lock.runbook} run ${lock.runId} (since ${formatTimestamp(lock.since)})`;

function deploymentsOf(ports: StepPorts): DeploymentRecords {
  // Without the records there is no lock to take: refusing is safer than restoring unguarded.
  if (!ports.deployments) throw new Error('This process keeps no deployment records, so the restore cannot take the deploy lock: run restores in the bot, whose database has them.');
  return ports.deployments;
}

export function restoreLockStep<Args>(): StepDefinition<Args> {
  return {
    id: 'lock',
    kind: 'act',
    title: "Take the stack's deploy lock (no deploy, rollback or DR test during the restore)",
    timeoutMs: 30_000,
    idempotent: true,
    skippable: false,
    async run(context) {
      try {
        return await deploymentsOf(context.ports).acquire(context.runId, 'restore', context.requester);
      } catch (error) {
        if (error instanceof DeployLockError && error.code === 'held' && error.holder) {
          throw new Error(`the deploy lock is held by ${holderSentence(error.holder)}: nothing was stopped or restored. Retry once it is free, or abort`);
        }
        throw error;
      }
    },
    async compensate(context) {
      // Compensations run in reverse: by now the writers this run stopped run again.
      return { released: await deploymentsOf(context.ports).release(context.runId).catch((error: unknown) => (error instanceof DeployLockError ? error.message : Promise.reject(error))) };
    },
    async dryRun(context) {
      const lock = await deploymentsOf(context.ports).lock();
      return { mode: 'read-only-check', text: lock ? `the deploy lock is held now: ${holderSentence(lock)}; the restore would wait for it` : 'the deploy lock is free' };
    },
  };
}

/** Throws, naming who holds it now, when the deploy lock is no longer this run's. */
export async function requireLockStillOurs<Args>(context: StepContext<Args>, doing: string): Promise<void> {
  const lock = await deploymentsOf(context.ports).lock();
  if (lock?.runId === context.runId) return;
  const now = lock ? `${holderSentence(lock)} holds it now` : 'it is free now (released or force-unlocked)';
  throw new Error(`the deploy lock is no longer this run's: ${now}. Nothing was ${doing}: abort, or retry once the stack is this run's again`);
}
