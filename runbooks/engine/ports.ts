/**
 * What the engine needs from the process that hosts it, and what steps may talk to. The bot
 * implements these later (its audit trail, its command dependencies); runbooks/ never imports
 * bot/ (.dependency-cruiser.cjs), so the shapes are declared here and the compiler checks the fit
 * wherever the bot hands them in.
 */
import type { CommandDependencies } from '../../commands/dependencies.js';
import type { StepKind } from './step-kinds.js';
import type { EmbeddedDumpSource } from '../../services/stack/backup/pglite-dump.js';

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
  /** The approvals `gate` steps wait for (the bot's approval requests). */
  gates?: GatePorts;
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
   * The bot's audit trail in a restored copy (`databaseUrl`, a scratch database) verified by the
   * code that verifies it live, from the genesis; `hashAt` asks for one record's hash too (the head
   * a backup recorded). runbooks/ may not import the bot's verifier, so the bot hands it in.
   */
  verifyTrailCopy(databaseUrl: string, options: { hashAt?: number }): Promise<RestoredChainCheck>;
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
