/**
 * What commands need from the bot, and no more: commands never import bot/ (DESIGN.md, the
 * dependency rules in .dependency-cruiser.cjs), so the bot's authorization gate and audit trail
 * reach them through these ports. The bot implements them (bot/command-path/command-gate.ts,
 * bot/audit-trail); the compiler checks that its types still fit wherever it hands them in.
 */
import type { ResultDocument } from './result.js';
/** The authorization policy's decision, as `can` and a refusal explain it. */
export interface PolicyDecision {
  /** With approvals_required > 0: the person may request it, and it waits for approvals. */
  allow: boolean;
  code: string;
  /** A sentence a person understands; may quote configured text, so every renderer escapes it. */
  reason: string;
  /** 0 read-only, 1 to 4 the runbook's escalation levels. */
  level: 0 | 1 | 2 | 3 | 4;
  approvals_required: number;
  approver_roles: string[];
  distinct_approvers: boolean;
  break_glass: boolean;
}

/** A runbook a run starts, as the bot's runbook registry has it (CommandDefinition.authorizationSubject). */
export interface AuthorizationSubject {
  runbook: {
    name: string;
    level: 0 | 1 | 2 | 3 | 4;
    /** Only reads: decided as a read-only command. */
    dryRun: boolean;
    /** The approvals a gate step of it asks for (`run pass`): at least this many, whatever the rules say. */
    approvals?: number;
  };
}

/** Written out rather than imported from command.ts, which imports this file (no cycles). */
export interface AuthorizationQuestion {
  actor: { id: string };
  command: { name: string; level: 'read' | 1 | 2 | 3 | 4 };
  args: unknown;
  channelId?: string;
  /** The runbook a run starts: the policy decides at its level. */
  subject?: AuthorizationSubject;
}

/** Who may run what, here and now (for `can`): the command path hands in the gate it decides with. */
export interface CommandAuthorization {
  decide(question: AuthorizationQuestion): Promise<{ decision: PolicyDecision }>;
}

/** Most records one audit query returns, and how many when none is asked for. */
export const MAX_QUERY_LIMIT = 200;
export const DEFAULT_QUERY_LIMIT = 20;

/** The kind of the note the trail leaves when records could be stored nowhere (`audit verify` reads them). */
export const LOSS_NOTE_KIND = 'records_lost';

/** The bot's audit log cannot be read (or written) now; the message is safe to show. */
export class AuditLogUnavailableError extends Error {
  override readonly name: string = 'AuditLogUnavailableError';
}

export interface AuditLogQuery {
  limit?: number;
  user?: string;
  command?: string;
  since?: Date;
  kind?: string;
  /** Only records older than this sequence: the next page after a page's last record. */
  beforeSequence?: number;
}

/** One record as `audit` shows it. */
export interface AuditLogRecord {
  sequence: number;
  /** When it happened (ISO 8601). */
  at: string;
  kind: string;
  actor: string | null;
  command: string | null;
  args: unknown;
  decision: string | null;
  level: 'read' | 1 | 2 | 3 | 4 | null;
  outcome: string | null;
  details: Record<string, unknown> | null;
}

export interface AuditLogPage {
  records: AuditLogRecord[];
  /** More records match than were returned. */
  more: boolean;
  /** Records still in the bot's local spool, not yet in the chain. */
  waiting: number;
}

export type AuditLogCheck = 'missing' | 'content' | 'hash' | 'link' | 'head' | 'checkpoint';

/** The walk of the bot's hash chain, as `audit verify` reports it. */
export interface AuditLogVerification {
  valid: boolean;
  checked: number;
  head: { sequence: number; hash: string };
  firstBad?: { sequence: number; check: AuditLogCheck; problem: string };
  checkedAt: string;
  durationMs: number;
  scope?: 'checkpoint' | 'full';
  checkpoint?: { sequence: number; at: string };
  missing?: { sequence: number; key: string }[];
  notes?: string[];
  waiting: number;
}

/** Records the trail could store nowhere (a full disk while PostgreSQL was away). */
export interface AuditLogLoss {
  count: number;
  /** When the first and the last of them happened (ISO 8601). */
  firstAt: string;
  lastAt: string;
  /** Why the last one could not be stored. */
  reason: string;
}

/** The bot's own audit trail as `audit`, `audit verify` and `can` read it. */
export interface AuditLogReader {
  /** Whether an escalated command's record could be stored now, and why not. */
  available(): Promise<{ ok: true } | { ok: false; reason: string }>;
  query(filter: AuditLogQuery): Promise<AuditLogPage>;
  verify(options: { scope: 'checkpoint' | 'full' }): Promise<AuditLogVerification>;
  /** This process's losses; `unnoted` of them are not yet named by a note in the trail. */
  status(): { lost?: AuditLogLoss & { unnoted: number } };
}

/** 0 read-only, 1 to 4 the runbook's escalation levels. */
export type RunbookLevelNumber = 0 | 1 | 2 | 3 | 4;

/** One step of a runbook as people see it (the runbook engine's definition, as plain data). */
export interface RunbookStepInfo {
  index: number;
  id: string;
  /** check, act, verify, gate, notify, wait */
  kind: string;
  title: string;
  idempotent: boolean;
  /** False when later steps need its output: a run stopped there can be retried or aborted, not skipped. */
  skippable: boolean;
  canBeUndone: boolean;
  /** A gate step's level: its approval (`run pass`) is decided at it. */
  gateLevel?: RunbookLevelNumber;
  /** How many approvals a gate step asks for, when it says (at least; the rules may ask more). */
  gateApprovals?: number;
}

/** A gate step that waits for approvers now, and what it guards (the titles of the steps after it). */
export interface RunGateInfo {
  run: RunInfo;
  step: { id: string; title: string; level: RunbookLevelNumber; approvals?: number };
  guards: string[];
  /**
   * The approval request the gate asks with: its id is kept before the request is made, so
   * `state` is absent while it is being made (or its asker died and the next runner makes it).
   * Absent before the gate asked at all.
   */
  request?: RunGateRequest;
}

export interface RunGateRequest {
  id: string;
  state?: string;
  approvalsRequired?: number;
  approvedBy?: readonly string[];
  /** The channels where its message with the buttons is. */
  channels?: readonly string[];
}

/** A runbook as `runbooks` lists it. */
export interface RunbookInfo {
  name: string;
  summary: string;
  level: RunbookLevelNumber;
  version: string;
  steps: RunbookStepInfo[];
}

/** What a dry run found for one step: a real read-only check, or only a description. */
export interface RunPlanStep extends RunbookStepInfo {
  /** `target`: what the step acts on, hashed into the plan an approval is bound to; `text` is evidence, not hashed. */
  dryRun: { mode: 'read-only-check' | 'description'; text: string; target?: string; error?: string };
}

export interface RunPlanInfo {
  runbook: string;
  version: string;
  level: RunbookLevelNumber;
  args: unknown;
  steps: RunPlanStep[];
}

/** A run's state as the end of a sentence about it; the engine's refusals and the commands' documents say the same. */
export const RUN_STATE_WORDS: Readonly<Record<string, string>> = {
  pending: 'is waiting to start',
  running: 'is running',
  needs_decision: 'is waiting for a decision',
  succeeded: 'has succeeded',
  failed: 'has failed',
  aborting: 'is being aborted',
  aborted: 'was aborted',
};

/**
 * Whether a person may skip the step a run stopped at: there is one (`detail.step`, which the
 * engine writes when a step stops the run), and its runbook did not mark it as one later steps need.
 */
export function stoppedStepSkippable(detail: Record<string, unknown> | null | undefined): boolean {
  const step = detail?.step as { index?: unknown; id?: unknown; skippable?: unknown } | undefined;
  return typeof step?.index === 'number' && typeof step.id === 'string' && step.skippable !== false;
}

/** A run as stored (states: pending, running, needs_decision, succeeded, failed, aborting, aborted). */
export interface RunInfo {
  id: string;
  runbook: string;
  version: string;
  args: unknown;
  requester: string;
  origin: string;
  state: string;
  reason: string | null;
  detail: Record<string, unknown> | null;
  decision: string | null;
  decidedBy: string | null;
  /** ISO 8601. */
  createdAt: string;
  updatedAt: string;
  /** The runner holding the run now, if any. */
  runner: string | null;
  /**
   * While a runner holds it: how long ago the lease was claimed or last renewed (ms, on the
   * database's clock), and how often its holder renews it. A lease older than a renewal period
   * or so means the runner is silent (dead, or cut off) although the run still shows it, until the
   * lease runs out and another runner takes the run over.
   */
  lease?: { ageMs: number; renewEveryMs: number; expiresInMs: number };
}

/** A run just recorded, and whether the bot shows it in the channel it was asked for in. */
export interface SubmittedRunInfo extends RunInfo {
  /**
   * The run has its own message in `channel`, kept current with its state, steps and buttons: the
   * answer to `run` then only points to it, so the channel holds one message per run.
   */
  shownInChannel?: boolean;
}

export interface RunAttemptInfo {
  stepIndex: number;
  stepId: string;
  attempt: number;
  /** `run`, or `compensate` while undoing it during an abort. */
  action: string;
  /** running, done, failed, skipped, interrupted, compensated */
  outcome: string;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
  /** What a finished step returned (JSON), shown as its detail; absent when it returned nothing. */
  output?: unknown;
  /** What the step last reported while it ran (kept after it ended or its runner died); `at` ISO 8601. */
  progress?: { text: string; data?: unknown; at: string };
}

export interface RunDetailInfo {
  run: RunInfo;
  /** The steps of the version the run started with; absent when this process no longer has it. */
  steps?: RunbookStepInfo[];
  attempts: RunAttemptInfo[];
  /** The gate step the run waits at now, and the approval request it asked for (once it asked). */
  gate?: { stepId: string; request?: RunGateRequest };
}

/**
 * A request the runbook engine refused before writing anything (an unknown run, a decision on a run
 * that waits for none, arguments the runbook's schema refuses): the message is safe to show.
 */
export class RunRequestError extends Error {
  override readonly name: string = 'RunRequestError';
  constructor(
    readonly code: string,
    message: string,
    /** What to do instead, when the engine knows. */
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** The bot's runbook engine as commands use it (`runbooks`, `run`, `runs`, `run status|abort|decide`). */
export interface RunbookRuns {
  list(): RunbookInfo[];
  /** Every step's dry run; records nothing. */
  plan(runbook: string, args: unknown, who?: { requester: string; origin: string }): Promise<RunPlanInfo>;
  /**
   * Records a pending run on the runbook's current version; a runner starts it. `channel`: the
   * Slack channel the run was asked for in, where the bot shows it (none from the CLI).
   * `execution`: the key of the committed execution record the command runs under, which an engine
   * in another process (the CLI's relay) requires as proof that the request was allowed and recorded.
   * `version`: the version an approved plan was made on; another current version refuses the run
   * (RunRequestError `version-changed`) and records nothing. `approvedBy`: the approvers of an
   * approved run's request, which its steps may name (StepContext.approvedBy).
   */
  submit(request: { runbook: string; args: unknown; requester: string; origin: string; channel?: string; execution?: string; version?: string; approvedBy?: readonly string[] }): Promise<SubmittedRunInfo>;
  get(runId: string): Promise<RunDetailInfo>;
  /** Every active run however old, then the `endedLimit` newest ended ones; each part newest first. */
  activeAndRecent(endedLimit: number): Promise<RunInfo[]>;
  abort(runId: string, by: string, execution?: string): Promise<RunInfo>;
  decide(runId: string, decision: string, by: string, execution?: string): Promise<RunInfo>;
  /**
   * The gate `stepId` of run `runId` (of `runbook`) while it waits for approvers; a RunRequestError
   * when the run is unknown, of another runbook, the step is no gate, or it does not wait now.
   * Absent where the engine has no gates (the CLI's relay).
   */
  gate?(runId: string, runbook: string, stepId: string): Promise<RunGateInfo>;
  /**
   * Records that approvers let the waiting gate pass (`run pass`, once approved), when `request`
   * (the approved request) is the one the gate waits on; refused like `gate`.
   */
  pass?(runId: string, runbook: string, stepId: string, request?: string): Promise<RunGateInfo>;
}

/** One backup as `backups` lists it (runbooks/backup/backups-overview.ts, as plain data). */
export interface BackupListing {
  id: string;
  /** complete, incomplete (no manifest yet: an unfinished or failed backup) or unreadable. */
  state: string;
  bytes: number;
  ageSeconds: number;
  /** `verified` (ok), `failed` (with the problem) or `never`. */
  verification: { state: 'verified' | 'failed' | 'never'; at?: string; problem?: string };
  /** Why the backup is incomplete or unreadable. */
  problem?: string;
}

/** The backups under the backup directory (ACGS_BACKUP_DIR), for `backups` and `backup verify`. */
export interface BackupCatalog {
  /** The backup directory, shown so people know where to look. */
  root: string;
  /** Newest first. */
  list(): Promise<BackupListing[]>;
}

/** An item's state: `open` (nobody ticked it), `ticked` by a person, or an automatic check's `pass`, `fail`, `unknown`. */
export type ChecklistItemState = 'open' | 'ticked' | 'pass' | 'fail' | 'unknown';

/** One item of a started checklist, as stored (its text is kept as it was when the checklist started). */
export interface ChecklistItemInfo {
  id: string;
  text: string;
  /** `auto`: the bot checks it; `manual`: a person ticks it. */
  mode: 'auto' | 'manual';
  /** Why it is manual, or what the automatic check looks at. */
  note: string;
  state: ChecklistItemState;
  /** The sentence an automatic check gave (what it saw). */
  evidence: string | null;
  /** When the automatic check last ran (ISO 8601). */
  checkedAt: string | null;
  /** Who ticked it and when (ISO 8601), while it is ticked. */
  tickedBy: string | null;
  tickedAt: string | null;
}

/** One tick, untick or check of an item: the checklist's own history (the trail has the commands). */
export interface ChecklistEventInfo {
  itemId: string;
  action: 'tick' | 'untick' | 'check';
  actor: string;
  state: ChecklistItemState;
  at: string;
}

/** A started checklist (states: open, completed). */
export interface ChecklistInfo {
  id: string;
  /** pre-deployment, post-deployment, monthly-review */
  checklist: string;
  title: string;
  startedBy: string;
  origin: string;
  /** The Slack channel it was started in, and its message there once posted. */
  channel: string | null;
  messageTs: string | null;
  createdAt: string;
  updatedAt: string;
  /** Set once every item passed or is ticked: who made the last of them so, and when. */
  completedAt: string | null;
  completedBy: string | null;
  /** Grows by one with every change: a message rendered from an older one is stale. */
  revision: number;
  items: ChecklistItemInfo[];
}

/** A checklist that can be started, as `checklists` lists it. */
export interface ChecklistDefinitionInfo {
  name: string;
  title: string;
  summary: string;
  items: Array<{ id: string; text: string; mode: 'auto' | 'manual'; note: string }>;
}

/** A checklist request refused before anything was written; the message is safe to show. */
export class ChecklistRequestError extends Error {
  override readonly name: string = 'ChecklistRequestError';
  constructor(
    /** unknown-checklist, unknown-instance, unknown-item, completed, automatic, already-ticked, not-ticked */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The runbook's checklists (runbooks/checklists) as commands use them; the bot implements it. */
export interface Checklists {
  definitions(): ChecklistDefinitionInfo[];
  /**
   * Runs the automatic checks and records the checklist; `channel`: where the bot shows it.
   * `execution` (here and on each change): the key of the committed execution record the command
   * runs under, which the checklists of another process (the CLI's relay) require as proof.
   */
  start(request: { checklist: string; startedBy: string; origin: string; channel?: string; execution?: string }): Promise<ChecklistInfo>;
  tick(id: string, itemId: string, by: string, execution?: string): Promise<ChecklistInfo>;
  untick(id: string, itemId: string, by: string, execution?: string): Promise<ChecklistInfo>;
  /** Runs the automatic checks again and records what they saw. */
  rerun(id: string, by: string, execution?: string): Promise<ChecklistInfo>;
  get(id: string): Promise<{ checklist: ChecklistInfo; events: ChecklistEventInfo[] }>;
  /** The open ones (oldest first), then the `limit` newest completed ones. */
  recent(limit: number): Promise<{ open: ChecklistInfo[]; completed: ChecklistInfo[] }>;
}

/** How a version reached a service: a deploy, a hotfix, a rollback, or what the bot found running the first time it looked. */
export type DeploymentKind = 'deploy' | 'hotfix' | 'rollback' | 'initial';
/** live: it went live (and may since have been replaced); rolled-back: a rollback took it back; failed: it never went live. */
export type DeploymentOutcome = 'live' | 'rolled-back' | 'failed';
/** What a service runs: an image (Docker) or a checkout (the local stack). Same shape as services/stack/releases' ReleaseArtifact. */
export type DeployedArtifact = { kind: 'image'; image: string } | { kind: 'directory'; directory: string };

/** One deployment of one service, as the bot recorded it (runbooks/deploy/release-records.ts). */
export interface DeploymentRecordInfo {
  id: number;
  service: string;
  version: string;
  ref: string | null;
  commit: string | null;
  artifact: DeployedArtifact | null;
  kind: DeploymentKind;
  /** The run that deployed it; null for an initial record. */
  runId: string | null;
  /** The requester as the engine knows it (a Slack user, `cli:<user>`), or `stack start`. */
  requestedBy: string;
  /** ISO 8601. */
  at: string;
  outcome: DeploymentOutcome;
  /** What was running before it, when anything was recorded. */
  replacedVersion: string | null;
}

/** A service's running and previous versions, from the records only. */
export interface ServiceReleaseInfo {
  service: string;
  current: DeploymentRecordInfo | null;
  previous: DeploymentRecordInfo | null;
}

/** Who holds the stack's deploy lock. */
export interface DeployLockInfo {
  /** The stack the lock is for (its kind and description). */
  stack: string;
  runId: string;
  runbook: string;
  heldBy: string;
  /** ISO 8601. */
  since: string;
  /** A rollback that took the lock over: the run and person it took it from. */
  takenFrom: { runId: string; heldBy: string } | null;
}

/** A run whose deploy lock an admin forced open (`deploy unlock`) and which has not ended: it goes on without the lock. */
export interface ForcedOpenRun {
  runId: string;
  runbook: string;
  heldBy: string;
  /** The admin who forced it open, why, and when (ISO 8601). */
  unlockedBy: string;
  reason: string;
  at: string;
}

/** A lock request refused before anything was written; the message is safe to show. */
export class DeployLockError extends Error {
  override readonly name: string = 'DeployLockError';
  constructor(
    /** held, not-holder, not-locked, unknown-run, run-ended, bad-reason */
    readonly code: string,
    message: string,
    /** Who holds the lock, when that is why. */
    readonly holder?: DeployLockInfo,
  ) {
    super(message);
  }
}

/** What `releases`, `deploy status` and `deploy unlock` need: the bot's records of what is deployed, and its deploy lock. */
export interface Deployments {
  /** Each service's running and previous version (from the records; a service seen for the first time gets its initial record). */
  releases(): Promise<ServiceReleaseInfo[]>;
  /** One service's records, newest first. */
  history(service: string, limit: number): Promise<DeploymentRecordInfo[]>;
  /** The lock, when a run that has not ended holds it. */
  lock(): Promise<DeployLockInfo | null>;
  /** Frees the lock whoever holds it (an admin's decision); DeployLockError `not-locked` when nobody does. Returns what it freed. */
  forceUnlock(who: string, reason: string): Promise<DeployLockInfo>;
  /** Runs whose lock was forced open and that have not ended, newest first. */
  forcedOpen(): Promise<ForcedOpenRun[]>;
}

/** An alert's state: `firing`, `acknowledged` by a person, `resolved` by its source or a person. */
export type AlertStateName = 'firing' | 'acknowledged' | 'resolved';

/** One alert as the alert commands show it (bot/alerts' record, as plain data). */
export interface AlertInfo {
  id: string;
  rule: string;
  /** `monitor` (the bot's own) or `alertmanager`. */
  source: string;
  /** The service it is about (its `service` label), when it names one. */
  service: string | null;
  labels: Record<string, string>;
  state: AlertStateName;
  /** ISO 8601, as every time below. */
  firedAt: string;
  resolvedAt: string | null;
  resolvedBy: string | null;
  value: number | null;
  /** The rule's threshold and unit, when the rule is one of the runbook's. */
  threshold: { value: number; unit: string } | null;
  acknowledgedBy: string | null;
  acknowledgedAt: string | null;
  snoozedUntil: string | null;
  snoozedBy: string | null;
  flapping: boolean;
  /** The silence its last change happened under. */
  silencedBy: string | null;
}

/** What a person's action did: `changed` is false when the alert already was that way (a double click). */
export interface AlertActionInfo {
  alert: AlertInfo;
  changed: boolean;
}

/** One event of the alerts' history: fired, resolved, acknowledged, snoozed, auto-action, escalated, ... */
export interface AlertHistoryInfo {
  alertId: string;
  rule: string;
  service: string | null;
  at: string;
  kind: string;
  /** The alert's state after the event. */
  state: AlertStateName;
  /** The person (or the bot's own part) who did it; null for the alert's source. */
  actor: string | null;
  value: number | null;
  silenced: boolean;
  details: Record<string, unknown> | null;
}

export interface AlertSilenceInfo {
  id: string;
  rule: string;
  until: string;
  reason: string;
  createdBy: string;
  createdAt: string;
}

/** An alert action refused before anything changed; the message is safe to show. */
export class AlertRequestError extends Error {
  override readonly name: string = 'AlertRequestError';
  constructor(
    /** not-found, resolved, past, unknown-rule, invalid */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The bot's alerts (bot/alerts' store) as the alert commands use them; the bot implements it. */
export interface Alerts {
  /** The bot's timezone (IANA name, config `timezone:`), in which "tomorrow" begins. */
  timezone: string;
  /** The runbook's alert rules, for `silence` and the answers. */
  rules: ReadonlyArray<{ name: string; summary: string }>;
  /** Alerts not resolved, oldest first. */
  open(): Promise<AlertInfo[]>;
  /** Events since a time, newest first, at most `limit`. */
  history(since: Date, limit: number): Promise<AlertHistoryInfo[]>;
  acknowledge(alertId: string, by: string): Promise<AlertActionInfo>;
  snooze(alertId: string, until: Date, by: string): Promise<AlertActionInfo>;
  resolve(alertId: string, by: string): Promise<AlertActionInfo>;
  silence(silence: { rule: string; until: Date; reason: string; by: string }): Promise<AlertSilenceInfo>;
  /** Silences not yet expired, the soonest to end first. */
  silences(): Promise<AlertSilenceInfo[]>;
}

/** One run of a scheduled job (bot/schedules), as plain data. */
export interface ScheduledRunInfo {
  id: string;
  /** `schedule` (on time), `catch-up` (missed while no replica ran the scheduler) or `manual` (`schedule run`). */
  trigger: 'schedule' | 'catch-up' | 'manual' | 'retry';
  /** `running`, `ok`, `failed`, `timed-out`, `skipped` (overlap or a missed time the job skips) or `abandoned`. */
  outcome: string;
  scheduledFor: Date;
  startedAt: Date;
  endedAt?: Date;
  detail?: string;
  requestedBy?: string;
}

/** A scheduled job as `schedule` lists it. */
export interface ScheduledJobInfo {
  name: string;
  summary: string;
  cron: string;
  enabled: boolean;
  nextRunAt?: Date;
  lastRun?: ScheduledRunInfo;
  /** Set while its overdue alert (ScheduledJobOverdue) is raised: the run it owes was due then. */
  overdueSince?: Date;
}

export type ScheduleRunNow =
  | { kind: 'started'; run: ScheduledRunInfo }
  /** A run of the job is still going: this one was recorded as skipped and nothing ran. */
  | { kind: 'overlap'; running: ScheduledRunInfo }
  | { kind: 'unknown'; known: string[] }
  | { kind: 'disabled' };

/** The bot's scheduler as `schedule` and `schedule run` use it; the bot implements it. */
export interface Schedules {
  /** The config's `timezone:`, in which the cron expressions are read and times are shown. */
  timezone: string;
  jobs(): Promise<ScheduledJobInfo[]>;
  runNow(job: string, by: string): Promise<ScheduleRunNow>;
}

/**
 * The reports of issue 15 (bot/reports/), as the `report` commands use them: the bot gathers the
 * parts, renders the charts and, where it has Slack, posts both to channels.reports (else ops).
 */
export interface Reports {
  /**
   * The daily health report as a document; `post`: post it with its charts to the reports channel,
   * when this process has one. Asked from a channel (`askedIn`), the answer is then a short note
   * pointing at the posted report, so the report itself appears once (issue 15).
   */
  daily(options: { post: boolean; askedIn?: string }): Promise<ResultDocument>;
  /** The monthly capacity report (resource trends over 30 days and their projections); `post` and `askedIn` as for `daily`. */
  capacity(options: { post: boolean; askedIn?: string }): Promise<ResultDocument>;
  /** The weekly performance report (this week against last); `post` and `askedIn` as for `daily`. */
  weeklyPerformance(options: { post: boolean; askedIn?: string }): Promise<ResultDocument>;
  /** The weekly security report (the last 7 days' refusals, failed authentication, break-glass, chains ...); `post` and `askedIn` as for `daily`. */
  security(options: { post: boolean; askedIn?: string }): Promise<ResultDocument>;
}

/** The incident vocabulary (issue 16); bot/incidents' store checks its records against the same lists. */
export const INCIDENT_SEVERITIES = ['sev1', 'sev2', 'sev3', 'sev4'] as const;
export const INCIDENT_TYPES = ['performance', 'security', 'constitutional', 'infrastructure'] as const;
export const INCIDENT_ROLES = ['commander', 'communications', 'scribe'] as const;
export type IncidentSeverity = (typeof INCIDENT_SEVERITIES)[number];
export type IncidentTypeName = (typeof INCIDENT_TYPES)[number];
export type IncidentRoleName = (typeof INCIDENT_ROLES)[number];

/** An incident as the incident commands show it. */
export interface IncidentInfo {
  id: string;
  /** INC-<id> */
  key: string;
  title: string;
  severity: IncidentSeverity;
  type: IncidentTypeName;
  private: boolean;
  /** `declared` until resolved; `resolved` until closed. */
  state: 'declared' | 'resolved' | 'closed';
  /** Its own channel, or channels.ops when it runs there; null before either. */
  channelId: string | null;
  declaredBy: string;
  declaredAt: Date;
  detectedAt: Date;
  resolvedAt: Date | null;
  resolvedBy: string | null;
  closedAt: Date | null;
  closedBy: string | null;
  /** The latest status update, or the declaration before the first. */
  lastUpdateAt: Date;
  /** Who holds each role handed out (Slack user IDs). */
  roles: Partial<Record<IncidentRoleName, string>>;
}

/** What a change did: `changed` is false when it already was so (a double click, another replica). */
export interface IncidentChange {
  incident: IncidentInfo;
  changed: boolean;
}

export interface IncidentActionItemInfo {
  /** Its number, as `incident actions` shows it. */
  id: string;
  text: string;
  owner: string;
  state: 'open' | 'done' | 'dropped';
  createdBy: string;
  createdAt: Date;
  updatedBy: string;
  updatedAt: Date;
}

/** Medians over the incidents declared in a period: one long outage would drag a mean away. */
export interface IncidentTimesInfo {
  declared: number;
  resolved: number;
  medianDetectionMs: number | undefined;
  medianResolutionMs: number | undefined;
}

/** The channel the Slack side made for an incident, and what it could not do there. */
export interface OpenedIncidentChannel {
  channelId: string;
  /** `inc-2026-12-07-policy-engine-latency` */
  name?: string;
  /** People who could not be invited, with why, in words: said in the answer. */
  notInvited?: ReadonlyArray<{ user: string; reason: string }>;
}

/** An incident request refused before anything changed; the message is safe to show. */
/** The post-incident review as `incident review` shows it. */
export interface IncidentReviewInfo {
  incident: IncidentInfo;
  /** True for an incident not closed yet: written now from what is recorded so far, and not kept. */
  draft: boolean;
  /** `inc-7-review.md` */
  fileName: string;
  /** The whole review. */
  markdown: string;
  generatedAt: Date;
  generatedBy: string;
  /** Its short form: the figures, the first timeline entries and the action items. */
  summary: ResultDocument;
}

export class IncidentRequestError extends Error {
  override readonly name: string = 'IncidentRequestError';
  constructor(
    readonly code: 'invalid' | 'not-found' | 'closed' | 'transition',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The bot's incidents (bot/incidents' store) as the incident commands use them; the bot
 * implements it. `requestKey` is the command's request id: the same request again records nothing
 * new. The optional methods are the Slack side's seams (issue 16): without them the incident runs
 * in channels.ops and nothing is posted beyond the command's answer.
 */
export interface Incidents {
  /** The bot's timezone (config `timezone:`), for the times people read. */
  timezone: string;
  /** channels.ops: where an incident runs without a channel of its own; undefined when the config names none. */
  opsChannel?: string;
  declare(input: { title: string; severity: string; type: string; by: string; at: Date; requestKey?: string }): Promise<{ incident: IncidentInfo; created: boolean }>;
  /** By key (INC-3, inc-3, 3); undefined when there is none. */
  find(key: string): Promise<IncidentInfo | undefined>;
  /** Not closed (declared or resolved), oldest first. */
  open(): Promise<IncidentInfo[]>;
  /** The incidents run in a channel (their own, or channels.ops several may share), newest first. */
  inChannel(channelId: string): Promise<IncidentInfo[]>;
  /** Open ones whatever their age and the others declared since, newest first. */
  list(since: Date): Promise<IncidentInfo[]>;
  /** The incidents declared in the period [from, to), as medians. */
  times(period: { from: Date; to: Date }): Promise<IncidentTimesInfo>;
  /** Sets the channel an incident runs in, once: one already running somewhere stays there. */
  setChannel(key: string, channelId: string): Promise<IncidentChange>;
  changeRole(key: string, change: { role: string; holder: string; by: string; at: Date }): Promise<IncidentChange>;
  changeSeverity(key: string, severity: string, by: string, at: Date): Promise<IncidentChange>;
  changeType(key: string, type: string, by: string, at: Date): Promise<IncidentChange>;
  postUpdate(key: string, update: { author: string; text: string; at: Date; requestKey?: string }): Promise<{ created: boolean }>;
  note(key: string, note: { actor: string; text: string; at: Date; requestKey?: string }): Promise<void>;
  resolve(key: string, by: string, at: Date): Promise<IncidentChange>;
  close(key: string, by: string, at: Date): Promise<IncidentChange>;
  actionItems(key: string): Promise<IncidentActionItemInfo[]>;
  addActionItem(key: string, item: { text: string; owner: string; by: string; at: Date; requestKey?: string }): Promise<IncidentActionItemInfo>;
  /** Refused when the item is not one of this incident's. */
  setActionItemState(key: string, itemId: string, state: 'open' | 'done' | 'dropped', by: string, at: Date): Promise<IncidentActionItemInfo>;
  /** Seam for the Slack side: makes the incident's own channel; throws (a sentence) when Slack refuses. */
  openChannel?(incident: IncidentInfo): Promise<OpenedIncidentChannel>;
  /** Seam for the Slack side: tells the update in the incident's channel and channels.ops, stakeholders for sev1/sev2. */
  announceUpdate?(incident: IncidentInfo, update: { author: string; text: string; at: Date }): Promise<void>;
  /** Seam for the review: told once when an incident is closed. */
  closed?(incident: IncidentInfo): Promise<void>;
  /** The review kept at the close, or a draft written now for an incident not closed yet. */
  review?(key: string, asker: string, at: Date): Promise<IncidentReviewInfo>;
}
