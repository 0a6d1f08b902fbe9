/** Every /acgs command, in one list: Slack, the console, the CLI and help all read it. */
import { alertsAck, alertsResolve, alertsSnooze } from './alert-actions.js';
import { alerts, alertsHistory } from './alerts.js';
import { audit } from './audit.js';
import { auditVerify } from './audit-verify.js';
import { backup } from './backup.js';
import { backupVerify } from './backup-verify.js';
import { backups } from './backups.js';
import { reportCapacity } from './report-capacity.js';
import { reportDaily } from './report-daily.js';
import { reportWeekly } from './report-weekly.js';
import { reportSecurity } from './report-security.js';
import { cacheClear } from './cache-clear.js';
import { cacheStats } from './cache-stats.js';
import { cacheWarm } from './cache-warm.js';
import { can } from './can.js';
import { checklist } from './checklist.js';
import { checklistTick, checklistUntick } from './checklist-marks.js';
import { checklistRerun } from './checklist-rerun.js';
import { checklistShow } from './checklist-show.js';
import { checklists } from './checklists.js';
import type { CommandDefinition } from './command.js';
import { dbConnections } from './db-connections.js';
import { dbKillIdle } from './db-kill-idle.js';
import { dbStatus } from './db-status.js';
import { drTest } from './dr-test.js';
import { deploy } from './deploy.js';
import { deployStatus } from './deploy-status.js';
import { hotfix } from './hotfix.js';
import { deployUnlock } from './deploy-unlock.js';
import { evolutionReview } from './evolution-review.js';
import { evolutions } from './evolutions.js';
import { health } from './health.js';
import { help } from './help.js';
import { incidentAction, incidentActions } from './incident-actions.js';
import { incidentCommander, incidentNote, incidentRole, incidentSeverity, incidentType, incidentUpdate } from './incident-changes.js';
import { incidentDeclare } from './incident-declare.js';
import { incidentClose, incidentResolve } from './incident-lifecycle.js';
import { incidentReview } from './incident-review.js';
import { incidents } from './incidents.js';
import { logs } from './logs.js';
import { metrics } from './metrics.js';
import { lockdown, lockdownLift, strictMode } from './policy-modes.js';
import { redisFlush } from './redis-flush.js';
import { redisMemory } from './redis-memory.js';
import { redisStatus } from './redis-status.js';
import { releases } from './releases.js';
import { createRegistry, type Registry } from './registry.js';
import { restart } from './restart.js';
import { restore } from './restore.js';
import { rollback } from './rollback.js';
import { run } from './run.js';
import { runAbort } from './run-abort.js';
import { runDecide } from './run-decide.js';
import { runPass } from './run-pass.js';
import { runStatus } from './run-status.js';
import { runbooks } from './runbooks.js';
import { runs } from './runs.js';
import { sandboxPrune } from './sandbox-prune.js';
import { sandboxStatus } from './sandbox-status.js';
import { scale } from './scale.js';
import { schedule, scheduleRun } from './schedule.js';
import { silence, silences } from './silence.js';
import { stats } from './stats.js';
import { troubleshoot } from './troubleshoot.js';
import { status } from './status.js';
import { violations } from './violations.js';

/**
 * Slack's usage hint for /acgs (manifest.yml, scripts/manifest-commands.ts) names the commands in
 * this order, and the start of a long hint is what people read: so the runbook's first steps come
 * first (help, the health checks), then diagnosis and stack control, then authorization, the audit
 * trail and the escalated actions.
 */
export const allCommands: readonly CommandDefinition[] = [
  help,
  health,
  metrics,
  violations,
  auditVerify,
  cacheStats,
  dbStatus,
  redisStatus,
  sandboxStatus,
  evolutions,
  status,
  stats,
  logs,
  restart,
  scale,
  cacheWarm,
  dbConnections,
  redisMemory,
  sandboxPrune,
  can,
  audit,
  strictMode,
  lockdown,
  lockdownLift,
  cacheClear,
  dbKillIdle,
  redisFlush,
  evolutionReview,
  runbooks,
  runs,
  runStatus,
  run,
  runAbort,
  runDecide,
  runPass,
  backups,
  reportDaily,
  reportWeekly,
  reportSecurity,
  reportCapacity,
  backup,
  backupVerify,
  drTest,
  troubleshoot,
  restore,
  checklists,
  checklistShow,
  checklist,
  checklistTick,
  checklistUntick,
  checklistRerun,
  releases,
  deploy,
  hotfix,
  deployStatus,
  deployUnlock,
  rollback,
  alerts,
  alertsHistory,
  alertsAck,
  alertsSnooze,
  alertsResolve,
  silence,
  silences,
  schedule,
  scheduleRun,
  incidents,
  incidentDeclare,
  incidentUpdate,
  incidentNote,
  incidentCommander,
  incidentRole,
  incidentSeverity,
  incidentType,
  incidentResolve,
  incidentClose,
  incidentActions,
  incidentAction,
  incidentReview,
] as CommandDefinition[];

export function createCommandRegistry(): Registry {
  return createRegistry(allCommands);
}
