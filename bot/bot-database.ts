/**
 * The bot's database with two roles (issue 10, item 5). The role in DATABASE_URL runs the bot; a
 * role that owns a table can switch its triggers off, so the bot's role must not own the audit
 * trail. ACGS_MIGRATIONS_DATABASE_URL names the owner role: it runs the migrations of the bot's
 * tables (trail, approvals, evolution review cards, runbook runs, checklists, notice deliveries, deployments, alerts, alert messages, escalations, alert pages, leases, metrics history, schedules, incidents), takes over trail objects the bot's role
 * owned before, and grants the bot's role only what the bot does:
 *
 *   bot_audit_trail, bot_audit_trail_checkpoints   SELECT, INSERT
 *   bot_audit_trail_head                           SELECT, UPDATE (only forward: its trigger)
 *   approval_requests, approval_votes,
 *   evolution_review_cards                         SELECT, INSERT, UPDATE, DELETE
 *   runbook_runs, runbook_step_attempts            SELECT, INSERT, UPDATE (the runbook engine)
 *   checklists, checklist_items                    SELECT, INSERT, UPDATE (started checklists)
 *   checklist_events                               SELECT, INSERT (their history)
 *   deployment_notice_deliveries                   SELECT, INSERT (who got which notice)
 *   deployment_records, deploy_locks               SELECT, INSERT, UPDATE (what is deployed, the deploy lock)
 *   deploy_lock_events                             SELECT, INSERT (the lock's history)
 *   alerts                                         SELECT, INSERT, UPDATE (one per fingerprint)
 *   alert_events, alert_reports, alert_silences    SELECT, INSERT (their history, reports taken in, silences)
 *   bot_slack_alert_messages, bot_slack_alert_storms SELECT, INSERT, UPDATE (where each alert is shown in Slack)
 *   alert_escalations                              SELECT, INSERT (the levels each alert episode reached)
 *   alert_pages                                    SELECT, INSERT, UPDATE (each page of an escalated alert, its attempts)
 *   alert_level_one_actions                        SELECT, INSERT, UPDATE (Level 1's claims and their outcome)
 *   leadership_leases                              SELECT, INSERT, UPDATE (who leads which duty)
 *   metric_samples, metric_hourly                  SELECT, INSERT, UPDATE, DELETE (the sampler's rows, rolled up and pruned)
 *   schedule_jobs                                  SELECT, INSERT, UPDATE (the scheduled jobs, what each owes)
 *   schedule_runs                                  SELECT, INSERT, UPDATE, DELETE (every run; cleanup removes old ones)
 *   schedule_report_posts                          SELECT, INSERT, UPDATE, DELETE (each scheduled report's post; cleanup removes old ones)
 *   incidents, incident_action_items               SELECT, INSERT, UPDATE (an incident's state, an item's progress)
 *   incident_role_changes, incident_timeline,
 *   incident_status_updates                        SELECT, INSERT (an incident's history)
 *   incident_reviews                               SELECT, INSERT (kept once at the close)
 *   incident_update_reminders                      SELECT, INSERT, DELETE (a failed post's claim given back)
 *   the migrations bookkeeping tables              SELECT, REFERENCES (so the bot sees nothing is pending)
 *
 * Without ACGS_MIGRATIONS_DATABASE_URL (the embedded default) one role does both, as before; the
 * signed checkpoints still show a rewrite, but the role can make one.
 */
import type pg from 'pg';
import { APPROVALS_MIGRATIONS_TABLE, migrateApprovalStore } from './approvals/index.js';
import { TRAIL_TABLES } from './audit-trail/trail-chain.js';
import { createTrailStore, TRAIL_MIGRATIONS_TABLE } from './audit-trail/trail-store.js';
import { EVOLUTION_REVIEW_MIGRATIONS_TABLE, migrateEvolutionReviewCards } from './evolution-reviews/card-store.js';
import { grantRuntimeRole, roleOf, takeOverFrom, type RestrictionPlan } from '../services/kit/database-roles.js';
import { chainRestrictionPlan } from '../services/kit/hash-chain/chain-schema.js';
import { createPool } from '../services/kit/postgres.js';
import { migrateRunStore, RUNBOOK_MIGRATIONS_TABLE } from '../runbooks/engine/run-store.js';
import { CHECKLIST_MIGRATIONS_TABLE, migrateChecklistStore } from '../runbooks/checklists/checklist-store.js';
import { migrateNoticeLedger, NOTICE_MIGRATIONS_TABLE } from './notices/notice-ledger.js';
import { migrateReleaseRecords, RELEASE_RECORDS_MIGRATIONS_TABLE } from '../runbooks/deploy/release-records.js';
import { ALERT_MIGRATIONS_TABLE, migrateAlertStore } from './alerts/alert-store.js';
import { ALERT_MESSAGE_MIGRATIONS_TABLE, ALERT_MESSAGE_TABLES, migrateAlertMessageStore } from './slack/alert-message-store.js';
import { ESCALATION_MIGRATIONS_TABLE, migrateEscalationRecords } from './alerts/escalation-records.js';
import { migratePageLedger, PAGING_MIGRATIONS_TABLE, PAGING_TABLES } from './paging/page-ledger.js';
import { LEASE_MIGRATIONS_TABLE, migrateLeaseStore } from './leadership/lease-store.js';
import { METRIC_MIGRATIONS_TABLE, METRIC_TABLES, migrateMetricsHistory } from './metrics-history/sample-store.js';
import { migrateScheduleStore, SCHEDULE_MIGRATIONS_TABLE } from './schedules/schedule-store.js';
import { INCIDENT_MIGRATIONS_TABLE, migrateIncidentStore } from './incidents/incident-store.js';

export const MIGRATIONS_DATABASE_URL_ENV = 'ACGS_MIGRATIONS_DATABASE_URL';

/** The trail's tables and functions are never owned by the bot's role (services/kit/hash-chain/chain-schema.ts). */
export const BOT_DATABASE_PLAN: RestrictionPlan = chainRestrictionPlan(TRAIL_TABLES, TRAIL_MIGRATIONS_TABLE, {
  migrationsTables: [APPROVALS_MIGRATIONS_TABLE, EVOLUTION_REVIEW_MIGRATIONS_TABLE, RUNBOOK_MIGRATIONS_TABLE, CHECKLIST_MIGRATIONS_TABLE, NOTICE_MIGRATIONS_TABLE, RELEASE_RECORDS_MIGRATIONS_TABLE, ALERT_MIGRATIONS_TABLE, ALERT_MESSAGE_MIGRATIONS_TABLE, ESCALATION_MIGRATIONS_TABLE, PAGING_MIGRATIONS_TABLE, LEASE_MIGRATIONS_TABLE, METRIC_MIGRATIONS_TABLE, SCHEDULE_MIGRATIONS_TABLE, INCIDENT_MIGRATIONS_TABLE],
  // The bot's other tables, which it reads and changes freely.
  grants: [
    { privileges: 'SELECT, INSERT, UPDATE, DELETE', tables: ['approval_requests', 'approval_votes', 'evolution_review_cards'] },
    // Runs and attempts are history: the engine never deletes them.
    { privileges: 'SELECT, INSERT, UPDATE', tables: ['runbook_runs', 'runbook_step_attempts'] },
    // A checklist's ticks are history too: its events are only ever added.
    { privileges: 'SELECT, INSERT, UPDATE', tables: ['checklists', 'checklist_items'] },
    { privileges: 'SELECT, INSERT', tables: ['checklist_events'] },
    // A notice's deliveries are only ever added.
    { privileges: 'SELECT, INSERT', tables: ['deployment_notice_deliveries'] },
    // A record's outcome changes (rolled back, failed after its watch) and the lock changes hands;
    // the lock's history is only ever added to.
    { privileges: 'SELECT, INSERT, UPDATE', tables: ['deployment_records', 'deploy_locks'] },
    { privileges: 'SELECT, INSERT', tables: ['deploy_lock_events'] },
    // An alert changes state; its history, the reports taken in and the silences are only added.
    { privileges: 'SELECT, INSERT, UPDATE', tables: ['alerts'] },
    { privileges: 'SELECT, INSERT', tables: ['alert_events', 'alert_reports', 'alert_silences'] },
    // Where each alert is shown changes (posted, lost and posted again, its replies told); rows stay.
    { privileges: 'SELECT, INSERT, UPDATE', tables: [...ALERT_MESSAGE_TABLES] },
    // A level an episode reached is claimed by its insert and never changes.
    { privileges: 'SELECT, INSERT', tables: ['alert_escalations'] },
    // A page's row is claimed by its insert, then counts its attempts and ends sent, failed or cancelled.
    { privileges: 'SELECT, INSERT, UPDATE', tables: [...PAGING_TABLES] },
    // A Level 1 claim gets its outcome once verified; leases change hands. Neither is ever deleted.
    { privileges: 'SELECT, INSERT, UPDATE', tables: ['alert_level_one_actions', 'leadership_leases'] },
    // Samples are measurements, not history: hours are rolled up again as they fill, and retention deletes both.
    { privileges: 'SELECT, INSERT, UPDATE, DELETE', tables: [...METRIC_TABLES] },
    // A job's next time and what it owes change; its runs end, and the cleanup job removes old ones.
    { privileges: 'SELECT, INSERT, UPDATE', tables: ['schedule_jobs'] },
    { privileges: 'SELECT, INSERT, UPDATE, DELETE', tables: ['schedule_runs'] },
    // A scheduled report's post is claimed, then given its ts, or taken over by a retry; cleanup
    // removes those as old as the runs it removes.
    { privileges: 'SELECT, INSERT, UPDATE, DELETE', tables: ['schedule_report_posts'] },
    // An incident moves through its states and its action items get done; its roles, timeline and
    // updates are what the review is written from, so they are only ever added.
    { privileges: 'SELECT, INSERT, UPDATE', tables: ['incidents', 'incident_action_items'] },
    { privileges: 'SELECT, INSERT', tables: ['incident_role_changes', 'incident_timeline', 'incident_status_updates'] },
    // A review is kept once, as written at the close; a reminder's claim is given back when its post fails.
    { privileges: 'SELECT, INSERT', tables: ['incident_reviews'] },
    { privileges: 'SELECT, INSERT, DELETE', tables: ['incident_update_reminders'] },
  ],
});

export interface BotDatabaseRoles {
  /** The role of DATABASE_URL, which runs the bot. */
  runtimeRole: string;
  /** The role of ACGS_MIGRATIONS_DATABASE_URL, which owns the tables. */
  ownerRole: string;
  /** False when both URLs name the same role (nothing is restricted then). */
  restricted: boolean;
  /** A superuser can do anything whatever is granted: worth a warning. */
  runtimeIsSuperuser: boolean;
}

export interface BotDatabaseSetup {
  ownerUrl: string;
  runtimeUrl: string;
  log?(line: string): void;
}

/**
 * Migrates the bot's database as the owner role and restricts the bot's role; safe to repeat and
 * to run from several replicas at once (migrations hold an advisory lock; grants are idempotent).
 */
export async function prepareBotDatabase(setup: BotDatabaseSetup): Promise<BotDatabaseRoles> {
  const runtime = await roleOf(setup.runtimeUrl);
  const ownerRole = await roleOf(setup.ownerUrl);
  const owner: pg.Pool = createPool({ databaseUrl: setup.ownerUrl, max: 1, applicationName: 'acgs-bot-migrations' });
  try {
    const restricted = runtime.name !== ownerRole.name;
    if (restricted) {
      const taken = await takeOverFrom(owner, runtime.name, BOT_DATABASE_PLAN);
      if (taken.length > 0) setup.log?.(`took the audit trail's ${taken.join(', ')} over from the bot's role "${runtime.name}"`);
    }
    await createTrailStore(owner).initialize();
    await migrateApprovalStore(owner, setup.log);
    await migrateEvolutionReviewCards(owner, setup.log);
    await migrateRunStore(owner, setup.log);
    await migrateChecklistStore(owner, setup.log);
    await migrateNoticeLedger(owner, setup.log);
    await migrateReleaseRecords(owner, setup.log);
    await migrateAlertStore(owner, setup.log);
    await migrateAlertMessageStore(owner, setup.log);
    await migrateEscalationRecords(owner, setup.log);
    await migratePageLedger(owner, setup.log);
    await migrateLeaseStore(owner, setup.log);
    await migrateMetricsHistory(owner, setup.log);
    await migrateScheduleStore(owner, setup.log);
    await migrateIncidentStore(owner, setup.log);
    if (restricted) await grantRuntimeRole(owner, runtime.name, BOT_DATABASE_PLAN);
    return { runtimeRole: runtime.name, ownerRole: ownerRole.name, restricted, runtimeIsSuperuser: runtime.superuser };
  } finally {
    await owner.end().catch(() => undefined);
  }
}

/** One start-up line about who owns the trail. */
export function describeBotRoles(roles: BotDatabaseRoles): string {
  if (!roles.restricted) {
    return `bot database: ${MIGRATIONS_DATABASE_URL_ENV} and DATABASE_URL both name the role "${roles.runtimeRole}", so the bot's role owns its audit trail; give DATABASE_URL a role of its own to make the trail append-only for the bot`;
  }
  const warning = roles.runtimeIsSuperuser ? ` WARNING: "${roles.runtimeRole}" is a superuser, whom no grant restricts` : '';
  return `bot database: migrated as "${roles.ownerRole}"; the bot runs as "${roles.runtimeRole}", which may only append to the audit trail${warning}`;
}
