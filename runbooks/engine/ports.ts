/**
 * What the engine needs from the process that hosts it, and what steps may talk to. The bot
 * implements these later (its audit trail, its command dependencies); runbooks/ never imports
 * bot/ (.dependency-cruiser.cjs), so the shapes are declared here and the compiler checks the fit
 * wherever the bot hands them in.
 */
import type { CommandDependencies } from '../../commands/dependencies.js';
import type { DeployedArtifact, DeploymentKind, DeploymentOutcome, DeploymentRecordInfo, Deployments, DeployLockInfo, Incidents, IncidentSeverity, IncidentTypeName } from '../../commands/ports.js';
import type { StepKind } from './step-kinds.js';
import type { ChainQuery } from '../../services/kit/hash-chain/chain-query.js';
import type { EmbeddedDumpSource } from '../../services/stack/backup/pglite-dump.js';
import type { ReleaseBuilder } from '../../services/stack/releases/release.js';
import type { DeploySettings } from '../deploy/deploy-settings.js';

/** One step attempt starting or ending, as the audit trail records it. */
export interface StepAuditEvent {
  runId: string;
  runbook: string;
  version: string;
  requester: string;
  origin: string;
  stepIndex: number;
  stepId: string;
  kind: StepKind;
  title: string;
  attempt: number;
  /** `run` for the step itself, `compensate` for undoing it during an abort. */
  action: 'run' | 'compensate';
}

export interface StepFinishedEvent extends StepAuditEvent {
  outcome: 'done' | 'failed' | 'compensated' | 'interrupted';
  durationMs: number;
  error?: string;
}

export interface RunStateEvent {
  runId: string;
  runbook: string;
  version: string;
  state: string;
  reason: string | null;
}

/**
 * Where every step's start and end go (the bot's audit trail). `stepStarted` is awaited before the
 * step runs and a refusal fails the step: a step must not act without its start on record.
 */
export interface RunAuditSink {
  stepStarted(event: StepAuditEvent): Promise<void>;
  stepFinished(event: StepFinishedEvent): Promise<void>;
  runStateChanged(event: RunStateEvent): Promise<void>;
}

/** An audit sink that records nothing: for tests and tools that do not keep a trail. */
export const silentAuditSink: RunAuditSink = {
  async stepStarted() {},
  async stepFinished() {},
  async runStateChanged() {},
};

/**
 * What steps may call: the same things commands call (the Stack port, the service clients, the
 * stack's database and Redis), when this process has them. A runbook whose step needs one that is
 * absent fails that step with a sentence saying so.
 */
export interface StepPorts {
  commands?: Partial<CommandDependencies>;
  /** What the `backup` runbooks read and where they write (runbooks/backup/backup-ports.ts builds it). */
  backup?: BackupPorts;
  /** Where `notify` steps send deployment notices (the bot implements it: bot/notices/). */
  notices?: NoticesPort;
  /** What is deployed and the stack's deploy lock (runbooks/deploy/release-records.ts implements it). */
  deployments?: DeploymentRecords;
  /** The approvals `gate` steps wait for (the bot's approval requests). */
  gates?: GatePorts;
  /** Turns a version into what this stack runs (a checkout for the local stack, images for Docker). */
  releases?: ReleaseBuilder;
  /** The deploy runbooks' watch and timeouts; the runbook's values when absent (deploy-settings.ts). */
  deploySettings?: DeploySettings;
  /** How long `high-latency` watches p99 after its cache warm; the engine's window when absent. */
  latencyRecheck?: LatencyRecheckSettings;
  /** What the `dr-test` runbook needs from the bot: its trail, the ops and reports channels, the standing approval. */
  drTest?: DrTestPorts;
  /** The bot's incidents (issue 16): the emergency runbooks declare or join one and put their steps on its timeline. */
  incidents?: Incidents;
  /** The bot's command path, as the run's requester: what an emergency runbook asks for (a lockdown, a restart) is decided and approved as if typed. */
  commandLines?: RunCommandLines;
  /** The config's contacts (bot/paging) the escalation matrix names for an incident's type: the emergency runbooks page them. */
  contactPages?: ContactPages;
  /** What the security-breach runbook (runbooks/emergency/) needs from the bot: incidents, the command path, contacts, the trail. */
  incidentResponse?: IncidentResponsePorts;
}

/** What became of a command line a run put through the command path. */
export type RunCommandOutcome =
  /** It ran at once (the policy allowed it): its result document's words. */
  | { kind: 'ran'; outcome: string; title: string; summary?: string }
  /** It waits for approvers: the request's id and where it was posted. */
  | { kind: 'approval'; request: string; approvalsRequired: number; postedTo: readonly string[] }
  /** The command path said no (the policy, a mode, bad input): its sentence; nothing ran. */
  | { kind: 'refused'; title: string; summary?: string };

/**
 * The command path for a run (bot/runbook-runs/run-command-lines.ts): the line is authorized as the
 * run's requester, recorded in the trail, and run or turned into an approval request posted where
 * the run is shown. Asked again for the same run and line, an approval request is the same one.
 */
export interface RunCommandLines {
  run(line: string, from: { runId: string; requester: string }): Promise<RunCommandOutcome>;
}

/** A page about an incident, to the contacts its type names. */
export interface IncidentContactPage {
  incidentKey: string;
  title: string;
  severity: IncidentSeverity;
  type: IncidentTypeName;
  /** One or two sentences: what happened and what is done. */
  summary: string;
  runId: string;
}

/** What became of one contact's page, channel by channel. */
export interface ContactPageOutcome {
  contact: string;
  channel: 'webhook' | 'email' | 'slack';
  /** The webhook's origin (never its path), an address, or Slack IDs. */
  target: string;
  delivered: boolean;
  detail?: string;
}

/** Pages the config's contacts for an incident's type (bot/paging/incident-pages.ts); never throws for one contact's failure. */
export interface ContactPages {
  page(page: IncidentContactPage): Promise<ContactPageOutcome[]>;
}

/** What a line asked through the bot's command path became. */
export interface CommandRequestOutcome {
  /** `ran`: it ran at once (break-glass, or no approval needed); `approval`: an approval request waits; `refused`: neither. */
  state: 'ran' | 'approval' | 'refused';
  /** The answer's title and summary, in one sentence. */
  said: string;
  /** The approval request's id, when one waits. */
  approvalId?: string;
}

/** A notice to the contacts of an incident type (config `contacts:`, as the escalation matrix names them for the type). */
export interface ContactNotice {
  /** Who it is for: `security` reaches the contacts of the matrix's security column. */
  issueType: 'performance' | 'security' | 'constitutional' | 'infrastructure';
  /** Once per key: the same notice again (a retried step) carries the same delivery id. */
  key: string;
  subject: string;
  text: string;
  /** Machine-readable facts for a paging service (incident key, run id, archive hash). */
  details: Record<string, unknown>;
}

/**
 * The bot's side of the emergency procedures as runbooks (issue 16). runbooks/ never imports bot/,
 * and the engine starts before the incident store and the command path exist, so the commands'
 * ports are read through a getter.
 */
export interface IncidentResponsePorts {
  /** The commands' Incidents and Checklists ports, once the bot has them; undefined while it starts. */
  services(): Pick<Partial<CommandDependencies>, 'incidents' | 'checklists'> | undefined;
  /** Puts a run's step on an incident's timeline (kind `runbook-step`), once per request key. */
  timeline(incidentKey: string, entry: { text: string; actor: string; at: Date; reference: string; requestKey: string }): Promise<void>;
  /**
   * Asks for a command line through the bot's command path as `actor` (the run's requester), so the
   * policy, the trail and approvals treat it as typed; an approval request is created with
   * `approvalId` (asking again with it answers the same request) and shown where the run is.
   */
  requestCommand(request: { line: string; actor: string; runId: string; approvalId: string }): Promise<CommandRequestOutcome>;
  /** Tells the contacts of the notice's type by e-mail and signed webhook; never throws for one that cannot be reached. */
  notifyContacts(notice: ContactNotice): Promise<NoticeDelivery>;
  /** Appends one record to the bot's audit trail (the evidence archive's manifest hash); a refusal fails the step. */
  record(entry: { kind: string; key: string; runId: string; outcome: string; details: Record<string, unknown> }): Promise<void>;
  /** Where evidence archives go: ACGS_EVIDENCE_DIR, else `$ACGS_STATE_DIR/evidence`. */
  evidenceDir: string;
  /** The config files the archive keeps (ACGS_CONFIG), redacted. */
  configFiles: ReadonlyArray<{ name: string; path: string }>;
  /** The process's settings the archive keeps (the ACGS_* environment and the like), redacted. */
  settings: Readonly<Record<string, string>>;
  /** Exact secret values this process holds (tokens), blanked wherever they appear in the evidence. */
  secrets: readonly string[];
}

/** A standing approval of the scheduled DR test's failover, as the config records it. */
export interface StandingApproval {
  approvedBy: string;
  reason: string;
}

/** One figure of the DR test, recorded in the bot's audit trail as it is measured. */
export interface DrTestRecord {
  runId: string;
  /** `restore-test`, `standing-approval`, `failover`, `report`. */
  what: string;
  /** The attempt of the step that measured it: a retried step's figures are new ones, recorded apart. */
  attempt: number;
  outcome: string;
  details: Record<string, unknown>;
}

/** A restore time an earlier DR test measured, for the report's comparison. */
export interface PastRestoreTime {
  runId: string;
  at: string;
  restoreMs: number;
}

/**
 * The bot's side of the monthly DR test (runbooks/dr-test/): runbooks/ never imports bot/, so the
 * trail, the channels and the config's standing approval are handed in here.
 */
export interface DrTestPorts {
  /** Appends one record to the bot's audit trail; a refusal fails the step that records. */
  record(entry: DrTestRecord): Promise<void>;
  /** Posts to the ops channel before the failover starts; returns where it went. */
  announce(text: string): Promise<string>;
  /** Posts the DR report to channels.reports (else ops), as the daily report is; returns where it went. */
  postReport(report: DrReport): Promise<string>;
  /** The restore times of earlier DR tests that got that far, newest first (the bot's run store). */
  pastRestoreTimes(excludingRunId: string): Promise<PastRestoreTime[]>;
  /** The config's `schedules.dr-test.standing_approval`, used only by a run the scheduler started. */
  standingApproval?: StandingApproval;
  /** Whether the alerts' Level 1 auto-resolution is on: then the failover waits for it before restarting a service itself. */
  levelOneAutoResolution(): Promise<boolean>;
  /** Shorter waits for tests (runbooks/dr-test/failover.ts has the defaults). */
  failoverTimings?: Partial<{ pollMs: number; detectWithinMs: number; levelOneWaitMs: number; recoverWithinMs: number }>;
}

/** The DR report as a document: a title, a summary sentence and its lines (runbooks/dr-test/dr-report.ts makes it). */
export interface DrReport {
  title: string;
  summary: string;
  lines: string[];
}

/**
 * The Policy Engine's p99 covers its last 60 s (services/policy-engine/latency-window.ts): right
 * after a cache warm it still holds the slow decisions from before. `high-latency` reads it every
 * `pollMs` and calls the warm enough as soon as p99 is under the alert, and not enough only once
 * `windowMs` has passed, when no decision from before the warm is left in it.
 */
export interface LatencyRecheckSettings {
  windowMs: number;
  pollMs: number;
}

/**
 * Deployment notices: to the deploys channel, to the `stakeholders` role by direct message and by
 * e-mail when the bot has an SMTP server. A target that cannot be reached never throws: each
 * target's outcome comes back, for the step's output, so a notice lost is never a silent one.
 */
export interface NoticesPort {
  deploymentNotice(notice: DeploymentNotice): Promise<NoticeDelivery>;
}

export type DeploymentNotice = DeploymentStarted | DeploymentFinished | DeploymentRolledBack;

interface DeploymentNoticeBase {
  /** The run that deploys: the pointer people follow (`/acgs run status <runId>`). */
  runId: string;
  /** The release as typed ('1.4.0') and the commit it resolved to, when known. */
  version: string;
  commit?: string;
  /** Who asked for the deployment. */
  requester: string;
  /** What ran: a deploy (when absent), a hotfix, or a rollback by hand (then `version` is what it rolled back from). */
  release?: 'deploy' | 'hotfix' | 'rollback';
  /** Every service the deployment touches, with what it ran before and what it runs (or is to run). */
  services: ServiceVersionChange[];
  /** ISO time the deployment started. */
  startedAt: string;
}

export interface ServiceVersionChange {
  service: string;
  from: string;
  to: string;
}

export interface DeploymentStarted extends DeploymentNoticeBase {
  kind: 'started';
}

export interface DeploymentFinished extends DeploymentNoticeBase {
  kind: 'finished';
  finishedAt: string;
  /** What the post-deploy watch measured against its limits (p99, error rate, health). */
  verification: VerificationFigure[];
}

export interface DeploymentRolledBack extends DeploymentNoticeBase {
  kind: 'rolled-back';
  rolledBackAt: string;
  /** Why, in one sentence a person can act on. */
  reason: string;
  /** The samples that breached a limit, oldest first. */
  breaches: BreachSample[];
}

/** One measured figure of a deployment's verification: `p99 latency 3.1 ms (limit 5 ms)`. */
export interface VerificationFigure {
  name: string;
  value: string;
  limit?: string;
  ok: boolean;
}

/** One sample of the watch that broke a limit. */
export interface BreachSample {
  /** ISO time of the sample. */
  at: string;
  metric: string;
  value: string;
  limit: string;
  service?: string;
}

/** What became of one notice, target by target. */
export interface NoticeDelivery {
  /** One line for the step's output: `posted to C0DEPLOYS (channels.deploys); DM to 2 of 3 stakeholders: ...`. */
  summary: string;
  /** How many targets got it, and how many were tried. */
  delivered: number;
  attempted: number;
  targets: NoticeTargetOutcome[];
}

export interface NoticeTargetOutcome {
  kind: 'channel' | 'direct-message' | 'email';
  /** A channel ID, a user ID, or an e-mail address. */
  target: string;
  delivered: boolean;
  /** Why it was not delivered, or where the channel came from. */
  detail?: string;
}

/** A deployment a run made, to record. */
export interface NewDeploymentRecord {
  service: string;
  version: string;
  ref: string;
  commit: string;
  artifact: DeployedArtifact;
  kind: Exclude<DeploymentKind, 'initial'>;
  runId: string;
  /** The run's requester as the engine knows it. */
  requestedBy: string;
  outcome: DeploymentOutcome;
}

/** What a service runs when the bot first sees it with no record. */
export interface InitialVersion {
  version: string;
  /** The release repository's HEAD, when known. */
  commit: string | null;
  artifact: DeployedArtifact | null;
}

/**
 * The deploy, hotfix and rollback runbooks' records and lock. Every refusal is a DeployLockError
 * (commands/ports.ts) thrown before anything is written. A lock whose run has ended (or is gone)
 * is free: a crashed bot never leaves one behind.
 */
export interface DeploymentRecords extends Deployments {
  /** Takes the lock for the run; again for the run that holds it is a no-op. Refused (`held`) with the holder otherwise. */
  acquire(runId: string, runbook: string, who: string): Promise<DeployLockInfo>;
  /** Frees the lock the run holds; false when nobody holds it; refused (`not-holder`) when another run does. */
  release(runId: string): Promise<boolean>;
  /** Takes the lock whoever holds it (a rollback); says whose it took. */
  takeOver(runId: string, who: string): Promise<{ lock: DeployLockInfo; took: DeployLockInfo | null }>;
  /** The run that took the lock over from this run, if one ever did, even when it has freed the lock since. */
  takenOverBy(runId: string): Promise<Pick<DeployLockInfo, 'runId' | 'runbook' | 'heldBy'> | null>;
  record(entry: NewDeploymentRecord): Promise<DeploymentRecordInfo>;
  /** Changes a record's outcome (a watch that failed after the record said live). */
  setOutcome(id: number, outcome: DeploymentOutcome): Promise<DeploymentRecordInfo>;
  current(service: string): Promise<DeploymentRecordInfo | null>;
  previous(service: string): Promise<DeploymentRecordInfo | null>;
  /** Records what runs now, by `stack start`, only when the service has no record; null when it has one. */
  recordInitial(service: string, seen: InitialVersion): Promise<DeploymentRecordInfo | null>;
}

/** One database of the stack that a backup dumps: `name` labels its dump (`<name>.dump`, `<name>.sql`). */
export type BackupDatabase = PostgresBackupDatabase | EmbeddedBackupDatabase;

/** A PostgreSQL server's database, dumped with pg_dump. */
export interface PostgresBackupDatabase {
  kind?: 'postgres';
  name: string;
  url: string;
}

/** An embedded PGlite database of `npm start`, dumped by the thread that holds it. */
export interface EmbeddedBackupDatabase {
  kind: 'pglite';
  name: string;
  source: EmbeddedDumpSource;
}

export interface BackupPorts {
  /** ACGS_BACKUP_DIR: one directory per backup under it. */
  root: string;
  /** The Audit Engine's, Evolution Oversight's and the bot's databases, each once. */
  databases: ReadonlyArray<BackupDatabase>;
  /** Why there is nothing to dump, when `databases` is empty (the embedded PGlite default). */
  databasesProblem?: string;
  /** A server where the role may CREATE DATABASE, for `backup verify`'s scratch restores; default the first database's. */
  scratchServerUrl?: string;
  /** Told the name of each scratch database `backup verify` makes, as it makes it (tests watch only their own). */
  scratchDatabaseMade?(name: string): void;
  /** The policy engine's modes (strict, lockdown), which it keeps in Redis and shares between replicas. */
  modes(signal: AbortSignal): Promise<Record<string, unknown>>;
  /** Files copied into the backup as they are (ACGS_CONFIG); `name` is the copy's file name. */
  configFiles: ReadonlyArray<{ name: string; path: string }>;
  /** Each service's running version, from its /health; a service that does not answer says why. */
  serviceVersions(signal: AbortSignal): Promise<Record<string, string>>;
  /** The bot's audit chain's head (null when the trail is empty); the bot implements it. */
  auditChainHead(): Promise<{ sequence: number; hash: string } | null>;
  retention: { keepCount: number; keepDays: number };
  /**
   * Ids of the runs of `runbook` that have not ended (the bot reads its run store): retention
   * leaves the unfinished directory of such a run alone, however old, while it waits for a decision.
   */
  unfinishedRuns(runbook: string): Promise<readonly string[]>;
  /**
   * The bot's audit trail in a restored copy (a scratch database, or an embedded dump's copy in its
   * thread), read through `copy`, verified by the code that verifies it live, from the genesis;
   * `hashAt` asks for one record's hash too (the head a backup recorded). runbooks/ may not import
   * the bot's verifier, so the bot hands it in.
   */
  verifyTrailCopy(copy: ChainQuery, options: { hashAt?: number }): Promise<RestoredChainCheck>;
}

/** A hash chain verified in a restored copy. */
export interface RestoredChainCheck {
  valid: boolean;
  /** Records that passed every check before the first bad one (all of them when valid). */
  checked: number;
  head: { sequence: number; hash: string };
  /** The first altered or missing record, and a sentence naming it. */
  firstBad?: { sequence: number; problem: string };
  /** The hash of the record asked for with `hashAt`; null when the copy has no such record. */
  hashAt?: string | null;
}

/** One gate step of one run: what the host's approvals are asked about. */
export interface GateRef {
  runId: string;
  stepId: string;
}

/**
 * Where a gate's approval request stands: still `waiting` for approvers, `passed` (approved and
 * the pass recorded), or `refused` (denied, cancelled, expired, superseded), with who and why.
 */
export type GateState =
  | { state: 'waiting'; request: string }
  | { state: 'passed'; request: string; by: readonly string[] }
  | { state: 'refused'; request: string; why: string };

/**
 * The approvals a `gate` step waits for (engine/gate-step.ts), implemented by the bot over its
 * approval requests: runbooks/ never builds a second approval system.
 */
export interface GatePorts {
  /**
   * Opens the approval request for this gate, or finds the one already open for it (a takeover
   * runs the step again and must wait on the same request, not ask twice). A request that ended
   * without a pass (a retry after a denial) is replaced by a new one.
   */
  open(gate: GateRef): Promise<GateState>;
  /** Where `request` stands now. */
  check(gate: GateRef, request: string): Promise<GateState>;
}
