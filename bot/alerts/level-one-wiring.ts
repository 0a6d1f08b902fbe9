/**
 * Level 1 as the bot runs it: lines through the bot's own command path (executeCommandLine) as
 * the bot's actor with origin `auto`, the service's health as `health` checks it, lockdown as the
 * command gate reads it and the deploy lock from the deployment records. The bot's actor gets its
 * roles (`level_one.actor_roles` of the authorization rules) beside the config file's people.
 */
import { runHealthChecks, type HealthTarget } from '../../commands/health.js';
import { withDeadline } from '../../commands/health-probes.js';
import type { CommandDependencies } from '../../commands/dependencies.js';
import type { Deployments, RunbookRuns } from '../../commands/ports.js';
import { FINAL_RUN_STATES } from '../../runbooks/engine/run-store.js';
import type { LevelOneRules } from '../authorization/data.js';
import { executeCommandLine, type ExecutionDeps, type StackModes } from '../command-path/index.js';
import type pg from 'pg';
import type { AlertRecord, AlertStore } from './alert-store.js';
import { createLevelOneClaims } from './level-one-claims.js';
import { levelOneLimits, type StackConditions } from './level-one-guards.js';
import { createLevelOne, type LevelOne, type LevelOneOptions } from './level-one.js';
import { ALERT_RULES } from './alert-rules.js';

/** Who the audit trail says ran Level 1's lines (origin `auto`). */
export const LEVEL_ONE_ACTOR = { id: 'acgs-bot:level-1', name: 'ACGS bot (Level 1 auto-resolution)' } as const;

/** The config file's roles with the bot's actor added to the roles Level 1 acts with. */
export function withLevelOneActor(roles: Readonly<Record<string, readonly string[]>>, rules: Pick<LevelOneRules, 'actor_roles'>): Record<string, string[]> {
  const merged: Record<string, string[]> = Object.fromEntries(Object.entries(roles).map(([role, members]) => [role, [...members]]));
  for (const role of rules.actor_roles) merged[role] = [...(merged[role] ?? []), LEVEL_ONE_ACTOR.id];
  return merged;
}

/**
 * Runbooks whose runs stop services on purpose without the deploy lock: their writers are down while
 * the databases are replaced, and a restart by Level 1 would undo that (deploy, hotfix and rollback
 * hold the deploy lock, which Level 1 already respects). `dr-test` is not listed: the rest of its
 * run (the restore test, a gate that may wait a day for an approver) stops nothing, and its failover
 * wants Level 1 (FAILOVER_LOCK_RUNBOOKS).
 */
export const SERVICE_STOPPING_RUNBOOKS: readonly string[] = ['restore', 'rollback-restore'];

/**
 * Runbooks whose deploy lock does not keep Level 1 out: the DR test's failover holds the lock from
 * before its first stop until every service is back, so that no deploy, restore or second DR test
 * starts meanwhile, and stops each service to see Level 1 bring it back; that recovery is what it
 * measures and reports.
 */
export const FAILOVER_LOCK_RUNBOOKS: readonly string[] = ['dr-test'];

/** Lockdown, the deploy lock and a restore running now; a lockdown that cannot be read counts as unknown (Level 1 refuses). */
export function stackConditions(modes: StackModes, deployments: Pick<Deployments, 'lock'> | undefined, runs?: Pick<RunbookRuns, 'activeAndRecent'>): () => Promise<StackConditions> {
  return async () => {
    const [reading, lock, recent] = await Promise.all([modes.read(), deployments ? deployments.lock() : Promise.resolve(null), runs ? runs.activeAndRecent(0) : Promise.resolve(undefined)]);
    const stopping = recent?.find((run) => SERVICE_STOPPING_RUNBOOKS.includes(run.runbook) && !(FINAL_RUN_STATES as readonly string[]).includes(run.state));
    return {
      lockdown: reading.known ? reading.lockdown : undefined,
      ...(reading.known ? {} : { modesProblem: reading.problem }),
      deployLock: lock && !FAILOVER_LOCK_RUNBOOKS.includes(lock.runbook) ? { runbook: lock.runbook, heldBy: lock.heldBy, since: lock.since } : null,
      ...(recent ? { stackRun: stopping ? { runbook: stopping.runbook, runId: stopping.id, requester: stopping.requester } : null } : {}),
    };
  };
}

/**
 * A cache warm's alert read again: the Policy Engine's cache hit rate against LowCacheHitRate's
 * threshold, as the monitor judges it. A prune has no figure here (only Prometheus counts sandbox
 * failures): the alert resolving is its evidence.
 */
export function levelOneCondition(services: Pick<CommandDependencies, 'policyEngine' | 'checkTimeoutMs'>): LevelOneOptions['condition'] {
  return async (action) => {
    if (action !== 'cache-warm') return undefined;
    const metrics = await withDeadline(services.checkTimeoutMs, new AbortController().signal, () => services.policyEngine.metrics());
    const { threshold } = ALERT_RULES.LowCacheHitRate;
    const lookups = metrics.cache_stats.l1.hits + metrics.cache_stats.l1.misses;
    if (lookups === 0) return { cleared: false, detail: 'the Policy Engine had no cache lookups to judge by' };
    const percent = metrics.cache_hit_rate * 100;
    return { cleared: percent >= threshold, detail: `the cache hit rate was ${percent.toFixed(1)} % (threshold ${threshold} %)` };
  };
}

export interface LevelOneWiring {
  execution: ExecutionDeps;
  alerts: AlertStore;
  pool: pg.Pool;
  rules: LevelOneRules;
  modes: StackModes;
  holder: string;
  escalateNow?(alert: AlertRecord, reason: string): Promise<void> | void;
  verifyPollMs?: number;
  log(message: string, error?: unknown): void;
}

/** Level 1 listening to the alert store; `stop` unsubscribes it and ends what it does. */
export function startLevelOne(wiring: LevelOneWiring): LevelOne {
  const services: CommandDependencies = wiring.execution.services;
  const levelOne = createLevelOne({
    alerts: wiring.alerts,
    claims: createLevelOneClaims(wiring.pool),
    limits: levelOneLimits(wiring.rules),
    holder: wiring.holder,
    run: async (line, signal) => {
      const outcome = await executeCommandLine(wiring.execution, { line, actor: { ...LEVEL_ONE_ACTOR }, origin: 'auto', signal });
      return { outcome: outcome.outcome, document: outcome.document, ...(outcome.approval ? { approval: { id: outcome.approval.id } } : {}) };
    },
    health: async (service) => {
      const rows = await runHealthChecks({ services, signal: AbortSignal.timeout(services.checkTimeoutMs * 2) }, service as HealthTarget);
      const row = rows.find((check) => check.name === check.target);
      const healthy = row !== undefined && (row.status === 'healthy' || row.status === 'degraded');
      return { healthy, detail: row ? `${row.status}${row.detail ? `: ${row.detail}` : ''}` : 'no health check for it' };
    },
    condition: levelOneCondition(services),
    conditions: stackConditions(wiring.modes, services.deployments, services.runs),
    ...(wiring.escalateNow ? { escalateNow: wiring.escalateNow } : {}),
    ...(wiring.verifyPollMs !== undefined ? { verifyPollMs: wiring.verifyPollMs } : {}),
    log: wiring.log,
  });
  const unsubscribe = wiring.alerts.onChange((change) => levelOne.onChange(change));
  // Alerts already firing when the bot starts get their look too (the store tells only of changes).
  void levelOne.sweep().catch((error: unknown) => wiring.log('level 1: the open alerts could not be read at the start', error));
  return {
    ...levelOne,
    async stop() {
      unsubscribe();
      await levelOne.stop();
    },
  };
}
