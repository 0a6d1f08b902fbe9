/**
 * `npx acgs <command> [args] [--json]`: the /acgs registry in a terminal. It runs the same
 * execution path as Slack (origin `cli`, actor `cli:<os user>` with the roles the config file's
 * `cli_users` lends it: bot/cli-identity.ts; no break-glass) against the stack the environment
 * names, prints text or JSON, and exits 0 when the verdict is ok/info, 1 for warn/fail, 2 when the
 * line itself was wrong. This file only parses and calls; the one error boundary is in `main`.
 */
import { createPrometheusHistory, createSampleStore, historySettingsFromEnv, migrateMetricsHistory, type MetricsHistory } from './metrics-history/index.js';
import { createReports } from './reports/daily-report-service.js';
import { resolve } from 'node:path';
import { createCommandRegistry } from '../commands/index.js';
import { breakGlassOf, executeCommandLine, type ExecutionOutcome } from './command-path/index.js';
import type { Registry } from '../commands/registry.js';
import type { ResultDocument } from '../commands/result.js';
import { loadCommandGate, openCommandTrail, type OpenedTrail } from './command-path/index.js';
import { allChecklists, createChecklistBook, migrateChecklistStore } from '../runbooks/checklists/index.js';
import { backupRootFromEnv } from '../runbooks/backup/backup-ports.js';
import { createBackupCatalog, openBotDeployments } from './runbook-runs/index.js';
import { commandAlerts, createAlertStore, migrateAlertStore } from './alerts/index.js';
import { commandIncidents, createIncidentStore, createReviewStore, incidentCommandTimeline, incidentReviews, migrateIncidentStore } from './incidents/index.js';
import type { CommandPathDependencies } from './command-path/index.js';
import { commandDependenciesFromEnv } from './command-path/index.js';
import { loadBotConfig } from './config.js';
import { connectLocalControl, LocalStackNotRunningError, type ControlChannel } from '../services/stack/local/local-control-client.js';
import { createLocalStackClient } from '../services/stack/local/local-stack-client.js';
import { selectStack } from '../services/stack/select-stack.js';
import type { AuditTrail } from './audit-trail/index.js';
import { createRelayedTrail, TRAIL_RELAY_FEATURE } from './audit-trail/trail-relay.js';
import { trailCheckpointSettings } from './audit-trail/trail-checkpoints.js';
import type { Stack } from '../services/stack/stack.js';
import { renderText, terminalSafe } from './cli-render.js';
import { runStatusDocument } from '../commands/run-documents.js';
import type { ProgressReporter } from '../commands/progress.js';
import type { RunbookRuns } from '../commands/ports.js';
import type { CommandDependencies } from '../commands/dependencies.js';
import { cliProgress } from './cli-progress.js';
import { databaseRuns, relayedRuns, type CliRuns } from './cli-runs.js';
import { CHECKLIST_RELAY_FEATURE, createRelayedChecklists } from './runbook-runs/checklist-relay.js';
import { createRelayedIncidents, INCIDENT_RELAY_FEATURE } from './incidents/incident-relay.js';
import { createRelayedSchedules, SCHEDULE_RELAY_FEATURE } from './schedules/schedule-relay.js';
import { tapCommittedExecution } from './cli-execution-tap.js';
import { DEFAULT_UNCLAIMED_MS, followRun, type FollowEnd, type FollowOptions } from './cli-follow.js';
import { cliIdentity, ignoredRolesWarning, operatingSystemUser, refuseBreakGlass, rolesNote } from './cli-identity.js';

export const EXIT = { ok: 0, attention: 1, usage: 2 } as const;

export interface CliIo {
  env: Record<string, string | undefined>;
  cwd: string;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stdout is a terminal (colours). */
  isTty?: boolean;
  /** Whether stderr is a terminal (colours of the steps printed there). */
  stderrIsTty?: boolean;
  signal?: AbortSignal;
}

export interface ParsedCli {
  line: string;
  json: boolean;
  /** Whether a run the line starts is followed to its end (off with `--no-follow`). */
  follow: boolean;
}

/**
 * The command line the registry parses, rebuilt from argv. The shell already split it, so an
 * argument with spaces is quoted again to stay one argument.
 */
export function commandLineFromArgv(argv: readonly string[]): ParsedCli {
  let json = false;
  let follow = true;
  const words: string[] = [];
  for (const arg of argv) {
    if (arg === '--json') json = true;
    else if (arg === '--no-follow') follow = false;
    else if (arg === '--help' || arg === '-h') words.unshift('help');
    else words.push(arg);
  }
  return { line: words.map(quoteArgument).join(' '), json, follow };
}

function quoteArgument(arg: string): string {
  if (arg !== '' && !/[\s'"\u201c\u201d\u201e\u2018\u2019]/.test(arg)) return arg;
  // The registry's tokenizer knows quotes but no escapes: pick the quote the argument lacks.
  if (!arg.includes('"')) return `"${arg}"`;
  if (!arg.includes("'")) return `'${arg}'`;
  // Both kinds: no quoting keeps it one argument, so let the registry see it as given and refuse it.
  return arg;
}

/** `cli:<os user>`, from the operating system: $USER and $LOGNAME are the caller's to set (bot/cli-identity.ts). */
export function actorId(): string {
  return `cli:${operatingSystemUser()}`;
}

export function exitCodeFor(outcome: Pick<ExecutionOutcome, 'outcome' | 'rejection' | 'document'>): number {
  if (outcome.rejection === 'usage') return EXIT.usage;
  return outcome.document.tone === 'ok' || outcome.document.tone === 'info' ? EXIT.ok : EXIT.attention;
}

/** What `--json` prints: the document's machine-readable form, or the document itself. */
export function jsonOf(document: ResultDocument): unknown {
  return document.data ?? document;
}

/** The state directory `npm start` publishes its local stack under (ACGS_STATE_DIR, default `.acgs`). */
export function cliStateDir(io: Pick<CliIo, 'env' | 'cwd'>): string {
  return resolve(io.cwd, io.env.ACGS_STATE_DIR || '.acgs');
}

/**
 * The stack, chosen the way `npm start` chooses (ACGS_STACK, DOCKER_HOST, COMPOSE_PROJECT_NAME),
 * only when the command works on it, so `acgs health` never waits for a Docker probe. A Docker
 * stack is controlled directly; local processes through the supervisor of the `npm start` that
 * owns them (services/stack/local/local-stack-client.ts). A failed choice becomes `stackProblem`,
 * which the command shows.
 */
async function stackFor(registry: Registry, line: string, io: CliIo): Promise<{ stack?: Stack; stackProblem?: string }> {
  const resolution = registry.resolve(line);
  if (!resolution.ok || !resolution.command.usesStack) return {};
  try {
    const { stack } = await selectStack({
      env: io.env as NodeJS.ProcessEnv,
      local: () => createLocalStackClient({ stateDir: cliStateDir(io) }),
    });
    return { stack };
  } catch (error) {
    return { stackProblem: (error as Error).message };
  }
}

interface CliTrail {
  trail?: AuditTrail;
  close(): Promise<void>;
  trailProblem?: string;
  /** The trail's database (DATABASE_URL), where the run store is too. */
  pool?: OpenedTrail['pool'];
  /** The running npm start's control channel, which may also lend its runbook engine. */
  channel?: ControlChannel;
}

/**
 * The bot's audit trail for the CLI: with DATABASE_URL the CLI writes it itself; without it the
 * trail is the embedded database of the running `npm start`, which lends it over its control
 * channel (bot/audit-trail/trail-relay.ts). Neither: no trail, so commands that change something
 * are refused, and `trailProblem` says why.
 */
async function trailFor(io: CliIo, command: string): Promise<CliTrail> {
  if (io.env.DATABASE_URL) {
    const opened = await openCommandTrail({
      databaseUrl: io.env.DATABASE_URL,
      poolMax: 2,
      stateDir: cliStateDir(io),
      instances: CLI_SPOOL_SLOTS,
      applicationName: 'acgs-cli-trail',
      // The same key as the bot's (ACGS_TRAIL_SIGNING_KEY, or the state directory's file), so that both check each other's checkpoints.
      // No background full walk: a one-shot process would wait for it at exit (the bot walks).
      checkpoints: { ...trailCheckpointSettings({ stateDir: cliStateDir(io), env: io.env }), fullVerifyEveryMs: 0 },
    });
    return { trail: opened.trail, close: () => opened.close(), pool: opened.pool };
  }
  const none = async () => undefined;
  try {
    const channel = await connectLocalControl(cliStateDir(io));
    if (!channel.features.includes(TRAIL_RELAY_FEATURE)) {
      return { close: none, channel, trailProblem: `the local stack runs without the bot (npm run start:stack, pid ${channel.supervisorPid}), so there is no bot trail to record into: run npm start instead, or set DATABASE_URL` };
    }
    return { trail: createRelayedTrail(channel), close: none, channel };
  } catch (error) {
    const why = error instanceof LocalStackNotRunningError ? error.why : (error as Error).message;
    return { close: none, trailProblem: `without DATABASE_URL the CLI records into the trail of a running npm start, and none is running: ${why}; start it with npm start, or ${setDatabaseUrlHint(command)}` };
  }
}

/** The commands that start a run, which the CLI then follows (run --dry-run starts none). */
const RUN_STARTING_COMMANDS = ['run', 'backup', 'backup verify'];
/** The command that sets a stopped run going again (or aborting), which the CLI then follows too. */
const RUN_DECIDING_COMMAND = 'run decide';

/** The commands that need the runbook engine or the backup catalog. */
function usesRuns(registry: Registry, line: string): boolean {
  const resolution = registry.resolve(line);
  return resolution.ok && /^(run|runs|runbooks|backup|backups|deploy)\b/.test(resolution.command.name);
}

/**
 * The runbook engine for the run commands: on the trail's database with DATABASE_URL, else lent by
 * the npm start whose control channel lends the trail; neither: why, in the trail's own words.
 */
async function runsFor(trail: CliTrail | undefined, io: CliIo, commands: Omit<CommandDependencies, 'runs' | 'backups'>): Promise<CliRuns> {
  if (trail?.pool) return databaseRuns(trail.pool, io.env, commands);
  if (trail?.channel) return relayedRuns(trail.channel);
  return { runsProblem: trail?.trailProblem ?? 'no DATABASE_URL and no running npm start: start it with npm start, or set DATABASE_URL' };
}

/** CLI processes take the first free spool slot, so a crashed run's spool is replayed by a later one. */
const CLI_SPOOL_SLOTS = Array.from({ length: 8 }, (_, index) => `cli-${index + 1}`);

export interface CliOptions {
  /** The commands; the /acgs registry by default (tests pass fixture commands). */
  registry?: Registry;
  /** How a started run is followed (tests shorten the waits). */
  follow?: Pick<FollowOptions, 'pollMs' | 'unclaimedMs'>;
}

/**
 * Without DATABASE_URL: the checklists of the npm start behind the control channel, if it lends
 * them (bot/runbook-runs/checklist-relay.ts); otherwise why not, in the trail's words.
 */
async function relayedChecklists(trail: CliTrail | undefined): Promise<Pick<CommandDependencies, 'checklists' | 'checklistsProblem'>> {
  const channel = trail?.channel;
  if (!channel) return { checklistsProblem: trail?.trailProblem ?? 'no DATABASE_URL and no running npm start: start it with npm start, or set DATABASE_URL' };
  if (!channel.features.includes(CHECKLIST_RELAY_FEATURE)) {
    return {
      checklistsProblem: `the local stack runs without the bot's checklists (pid ${channel.supervisorPid}: npm run start:stack, or an npm start older than the checklist relay): run npm start instead, or set DATABASE_URL`,
    };
  }
  try {
    return { checklists: await createRelayedChecklists(channel) };
  } catch (error) {
    return { checklistsProblem: (error as Error).message };
  }
}

/** Lines of the checklist commands: only they open the checklists (and migrate their tables). */
function isChecklistLine(registry: Registry, line: string): boolean {
  const resolution = registry.resolve(line);
  return resolution.ok && (resolution.command.name === 'checklists' || resolution.command.name.startsWith('checklist'));
}

/** Lines of the deployment commands (`releases`, `deploy status|unlock`): only they open the deployment records. */
function isDeploymentLine(registry: Registry, line: string): boolean {
  const resolution = registry.resolve(line);
  return resolution.ok && (resolution.command.name === 'releases' || resolution.command.name.startsWith('deploy '));
}

/** Lines of the alert commands: only they open the bot's alerts (and migrate their tables). */
function isAlertLine(registry: Registry, line: string): boolean {
  const resolution = registry.resolve(line);
  return resolution.ok && (/^(alerts|silences?)\b/.test(resolution.command.name));
}

/**
 * The bot's alerts: with DATABASE_URL on that database, as the bot keeps them; without it they are
 * in npm start's embedded database, whose one session is the bot's.
 */
async function addAlerts(services: CommandPathDependencies, trail: CliTrail | undefined, timezone: string): Promise<void> {
  if (!trail?.pool) {
    services.alertsProblem = trail?.channel
      ? "without DATABASE_URL the alerts are in npm start's embedded database, which only the bot opens: ask in the console (or Slack), or set DATABASE_URL"
      : (trail?.trailProblem ?? 'no DATABASE_URL and no running npm start: start it with npm start, or set DATABASE_URL');
    return;
  }
  await migrateAlertStore(trail.pool);
  services.alerts = commandAlerts(createAlertStore({ pool: trail.pool }), { timezone });
}

/** Lines of the incident commands: only they open the bot's incidents (and migrate their tables). */
function isIncidentLine(registry: Registry, line: string): boolean {
  const resolution = registry.resolve(line);
  return resolution.ok && /^incidents?( |$)/.test(resolution.command.name);
}

/**
 * The bot's incidents, as for the alerts: with DATABASE_URL on that database; without it they are
 * in npm start's embedded database, whose one session is the bot's.
 */
async function addIncidents(services: CommandPathDependencies, trail: CliTrail | undefined, timezone: string, opsChannel: string | undefined): Promise<void> {
  if (!trail?.pool) {
    if (trail?.channel && services.trail) {
      Object.assign(services, await relayedIncidents(services, trail.channel));
      return;
    }
    services.incidentsProblem = trail?.trailProblem ?? 'no DATABASE_URL and no running npm start: start it with npm start, or set DATABASE_URL';
    return;
  }
  await migrateIncidentStore(trail.pool);
  const store = createIncidentStore(trail.pool);
  // No Slack here: a review is kept at a close made in the terminal, and read with `incident review`.
  const reviews = incidentReviews({ store, reviews: createReviewStore(trail.pool), timeZone: timezone });
  services.incidents = commandIncidents(store, { timezone, ...(opsChannel ? { opsChannel } : {}), closed: reviews.closed, review: reviews.review });
  services.afterCommand = incidentCommandTimeline(store);
}

/**
 * The relays take a change only under the command's committed execution record, which their ports
 * do not carry: the trail tells it (cli-execution-tap.ts). Replaces `services.trail` with the tapped one.
 */
function tapExecution(services: CommandPathDependencies): () => string | undefined {
  if (!services.trail) return () => undefined;
  const tap = tapCommittedExecution(services.trail);
  services.trail = tap.trail;
  return tap.execution;
}

/** Without DATABASE_URL: the incidents of the npm start behind the control channel (bot/incidents/incident-relay.ts), if it lends them. */
async function relayedIncidents(services: CommandPathDependencies, channel: ControlChannel): Promise<Pick<CommandDependencies, 'incidents' | 'incidentsProblem'>> {
  if (!channel.features.includes(INCIDENT_RELAY_FEATURE)) {
    return { incidentsProblem: `the local stack runs without the bot's incidents (pid ${channel.supervisorPid}: an npm start older than the incident relay): restart npm start, or set DATABASE_URL` };
  }
  try {
    return { incidents: await createRelayedIncidents(channel, { execution: tapExecution(services) }) };
  } catch (error) {
    return { incidentsProblem: (error as Error).message };
  }
}

/**
 * `schedule` and `schedule run` without DATABASE_URL: the scheduler of the npm start behind the
 * control channel (bot/schedules/schedule-relay.ts), if it lends it; otherwise where to ask.
 */
async function addSchedules(services: CommandPathDependencies, trail: CliTrail | undefined): Promise<void> {
  const channel = trail?.channel;
  if (trail?.pool) {
    services.schedulesProblem = SCHEDULES_PROBLEM;
    return;
  }
  if (!channel || !services.trail) {
    services.schedulesProblem = `The scheduled jobs run inside the bot, and no npm start with the bot runs here to ask (${trail?.trailProblem ?? 'no DATABASE_URL and no running npm start'}): start it with npm start, or ask the bot in the console or Slack (\`/acgs schedule\`, \`/acgs schedule run <job>\`).`;
    return;
  }
  if (!channel.features.includes(SCHEDULE_RELAY_FEATURE)) {
    services.schedulesProblem = `the local stack runs without the bot's scheduler (pid ${channel.supervisorPid}: an npm start older than the schedule relay): restart npm start, or ask the bot in the console or Slack (\`/acgs schedule\`)`;
    return;
  }
  try {
    services.schedules = await createRelayedSchedules(channel, { execution: tapExecution(services) });
  } catch (error) {
    services.schedulesProblem = (error as Error).message;
  }
}

/**
 * How to give the CLI the bot's database, said wherever its absence is why a command cannot run
 * here: the variable, where its value comes from, and the line to type.
 */
export function setDatabaseUrlHint(command: string): string {
  return `set DATABASE_URL to the bot's own database (the value the bot runs with), e.g. \`DATABASE_URL=postgres://<user>:<password>@<host>:5432/<database> npx acgs ${command}\``;
}

/** Lines of `schedule` and `schedule run`: the scheduler is the bot's, and the CLI says where to ask it. */
function isScheduleLine(registry: Registry, line: string): boolean {
  const resolution = registry.resolve(line);
  return resolution.ok && (resolution.command.name === 'schedule' || resolution.command.name === 'schedule run');
}

/**
 * The scheduler runs inside the bot (its timer, its replicas' claims), never in a one-shot CLI;
 * with DATABASE_URL the CLI does not reach the running bot, so it says where to ask (without it,
 * npm start lends its scheduler: addSchedules).
 */
const SCHEDULES_PROBLEM =
  'The scheduled jobs run inside the bot, and `npx acgs` with DATABASE_URL cannot reach its scheduler: ask the bot in the console or Slack (`/acgs schedule`, `/acgs schedule run <job>`), or run `npx acgs schedule` without DATABASE_URL beside npm start.';

/** Lines of the report commands: only they open the metrics history and what the report reads. */
function isReportLine(registry: Registry, line: string): boolean {
  const resolution = registry.resolve(line);
  return resolution.ok && resolution.command.name.startsWith('report ');
}

/**
 * The reports, made here from the bot's database (its metrics history, alerts and backups) or
 * Prometheus; printed, never posted: the CLI has no Slack.
 */
async function addReports(services: CommandPathDependencies, trail: CliTrail | undefined, io: CliIo, timezone: string): Promise<void> {
  if (!trail?.pool) {
    services.reportsProblem = trail?.channel
      ? "without DATABASE_URL the metrics history is in npm start's embedded database, which only the bot opens: ask in the console (or Slack), or set DATABASE_URL"
      : `no DATABASE_URL, so the CLI cannot read the bot's metrics history, alerts and backups: ${setDatabaseUrlHint('report daily')}; or ask the bot in the console or Slack (\`/acgs report daily\`)`;
    return;
  }
  const settings = historySettingsFromEnv(io.env);
  let history: MetricsHistory;
  if (settings.kind === 'prometheus') history = createPrometheusHistory({ url: settings.url });
  else {
    await migrateMetricsHistory(trail.pool);
    history = createSampleStore({ pool: trail.pool, retention: settings.retention });
  }
  await addAlerts(services, trail, timezone);
  services.backups ??= createBackupCatalog(resolve(io.cwd, backupRootFromEnv(io.env)));
  services.reports = createReports({ services, history });
}

/**
 * The bot's deployment records, for the stack this CLI chose: with DATABASE_URL on that database;
 * without it they are in npm start's embedded database, whose one session is the bot's.
 */
async function addDeployments(services: CommandPathDependencies, trail: CliTrail | undefined, io: CliIo): Promise<void> {
  if (!trail?.pool) {
    services.deploymentsProblem = trail?.channel
      ? "without DATABASE_URL the deployment records are in npm start's embedded database, which only the bot opens: ask in the console (or Slack), or set DATABASE_URL"
      : (trail?.trailProblem ?? 'no DATABASE_URL and no running npm start: start it with npm start, or set DATABASE_URL');
    return;
  }
  if (!services.stack) {
    // The records are kept per stack: without one there is no telling whose to show.
    services.deploymentsProblem = services.stackProblem ?? 'no stack was found to read the deployment records of';
    return;
  }
  services.deployments = await openBotDeployments({ pool: trail.pool, stack: services.stack, services, env: io.env });
}

export async function runCli(argv: readonly string[], io: CliIo, options: CliOptions = {}): Promise<number> {
  const { line, json, follow } = commandLineFromArgv(argv);
  let stack: ReturnType<typeof commandDependenciesFromEnv>;
  let config: ReturnType<typeof loadBotConfig>;
  try {
    config = loadBotConfig(io.env.ACGS_CONFIG);
    stack = commandDependenciesFromEnv(io.env, io.cwd);
  } catch (error) {
    io.stderr(`acgs: ${(error as Error).message}\n`);
    return EXIT.usage;
  }
  const ignored = ignoredRolesWarning(io.env);
  if (ignored) io.stderr(`acgs: ${ignored}\n`);
  const registry = options.registry ?? createCommandRegistry();
  const identity = cliIdentity(config);
  const actor = identity.actor;
  const controlled = await stackFor(registry, line, io);
  // The local operator holds the roles cli_users lends them; the rules (and their config overrides) are the bot's.
  const loaded = await loadCommandGate({
    config: { roles: Object.fromEntries(identity.roles.map((role) => [role, [actor]])), ...(config.authorization ? { authorization: config.authorization } : {}) },
    services: stack.services,
    onProblem: (problem) => io.stderr(`acgs: the authorization policy is unavailable: ${problem}\n`),
  });
  const gate = refuseBreakGlass(loaded.gate);
  let trail: Awaited<ReturnType<typeof trailFor>> | undefined;
  try {
    // Only for a command: help and typos need no trail. A break-glass line names its command after
    // the reason; it is refused here, and the refusal is recorded like any other.
    const glass = breakGlassOf(line);
    const resolved = registry.resolve(glass && 'line' in glass ? glass.line : line);
    if (resolved.ok) trail = await trailFor(io, resolved.command.name);
    const engine = usesRuns(registry, line) ? await runsFor(trail, io, { ...stack.services, ...controlled }) : {};
    const progress = cliProgress({ write: (text) => io.stderr(text), color: Boolean(io.stderrIsTty) && !io.env.NO_COLOR });
    const services: CommandPathDependencies = {
      ...stack.services,
      ...controlled,
      authorization: gate,
      ...(trail?.trail ? { trail: trail.trail } : {}),
      ...(trail?.trailProblem ? { trailProblem: trail.trailProblem } : {}),
      ...engine,
    };
    // With DATABASE_URL the CLI reaches the bot's checklists itself (the embedded database of npm start has one session: the bot's).
    if (trail?.pool && isChecklistLine(registry, line)) {
      await migrateChecklistStore(trail.pool);
      // The backups the bot writes, as the bot finds them, for the checks that look at them.
      services.backups ??= createBackupCatalog(resolve(io.cwd, backupRootFromEnv(io.env)));
      services.checklists = createChecklistBook({ pool: trail.pool, definitions: allChecklists, services });
    } else if (isChecklistLine(registry, line)) {
      Object.assign(services, await relayedChecklists(trail));
    }
    if (isDeploymentLine(registry, line)) await addDeployments(services, trail, io);
    if (isAlertLine(registry, line)) await addAlerts(services, trail, config.timezone);
    if (isIncidentLine(registry, line)) await addIncidents(services, trail, config.timezone, config.channels.ops);
    if (isReportLine(registry, line)) await addReports(services, trail, io, config.timezone);
    if (isScheduleLine(registry, line)) await addSchedules(services, trail);
    const outcome = await executeCommandLine(
      {
        registry,
        services,
        logError: (reference, error) => io.stderr(`acgs: internal error ${reference}: ${(error as Error)?.stack ?? String(error)}\n`),
      },
      {
        line,
        actor: { id: actor },
        origin: 'cli',
        // Steps go to stderr in both modes: stdout stays the answer alone (README, The CLI).
        progress,
        ...(io.signal ? { signal: io.signal } : {}),
      },
    );
    const color = Boolean(io.isTty) && !io.env.NO_COLOR && !json;
    const followed = follow && engine.runs ? runToFollow(outcome) : undefined;
    if (followed && engine.runs) {
      const end = await followRunFromCli(engine.runs, followed, io, progress, options.follow);
      io.stdout(json ? `${JSON.stringify(jsonOf(end.document), null, 2)}\n` : renderText(end.document, { color }));
      return end.code;
    }
    const document =
      outcome.command === 'help' || outcome.rejection === 'refused'
        ? { ...outcome.document, footer: [outcome.document.footer, rolesNote(identity, io.env.ACGS_CONFIG)].filter(Boolean).join('\n') }
        : outcome.document;
    io.stdout(json ? `${JSON.stringify(jsonOf(document), null, 2)}\n` : renderText(document, { color }));
    return exitCodeFor(outcome);
  } finally {
    await Promise.all([stack.close(), controlled.stack?.close(), trail?.close()]);
  }
}

interface FollowedRun {
  id: string;
  /** For a decided run: when the decision was recorded (the run store's clock); the steps before it are not told again. */
  decidedAt?: string;
}

/**
 * The run a `run`, `backup` or `backup verify` line started, or the one a `run decide` line set
 * going again (none for a dry run or a refusal).
 */
function runToFollow(outcome: ExecutionOutcome): FollowedRun | undefined {
  if (!outcome.command || outcome.rejection || outcome.outcome === 'error') return undefined;
  const deciding = outcome.command === RUN_DECIDING_COMMAND;
  if (!deciding && !RUN_STARTING_COMMANDS.includes(outcome.command)) return undefined;
  const run = (outcome.document.data as { run?: { id?: unknown; updatedAt?: unknown } } | undefined)?.run;
  if (typeof run?.id !== 'string') return undefined;
  return deciding && typeof run.updatedAt === 'string' ? { id: run.id, decidedAt: run.updatedAt } : { id: run.id };
}

/**
 * Follows a run just started, or just decided on: its steps on stderr as they go, then the run's
 * status document for stdout; exit 0 only when it succeeded. A run that stopped for a decision, one
 * nobody claimed and one the operator stopped following say what to type next.
 */
async function followRunFromCli(
  runs: RunbookRuns,
  followed: FollowedRun,
  io: CliIo,
  progress: ProgressReporter,
  settings: CliOptions['follow'] = {},
): Promise<{ document: ResultDocument; code: number }> {
  const write = (text: string) => {
    try {
      io.stderr(text);
    } catch {
      // stderr is gone: the run goes on, and stdout still answers.
    }
  };
  const runId = followed.id;
  const short = runId.slice(0, 8);
  const what = followed.decidedAt ? `Decision on run ${short} recorded; following its steps from here` : `Run ${short} recorded; following its steps`;
  await progress({ text: `${what} (Ctrl-C stops following, not the run; --no-follow returns at once)`, tone: 'info' });
  const unclaimedMs = settings.unclaimedMs ?? DEFAULT_UNCLAIMED_MS;
  let end: FollowEnd;
  try {
    end = await followRun({
      runs,
      runId,
      ...(followed.decidedAt ? { since: followed.decidedAt } : {}),
      ...(settings.pollMs !== undefined ? { pollMs: settings.pollMs } : {}),
      unclaimedMs,
      ...(io.signal ? { signal: io.signal } : {}),
      report: (line) => {
        void progress({ text: line.text, tone: line.tone });
        if (line.detail) write(`    ${terminalSafe(line.detail)}\n`);
      },
    });
  } catch (error) {
    // The store or npm start went away while following: the run is recorded and goes on without us.
    return {
      document: {
        title: `Run ${short}: following stopped`,
        tone: 'fail',
        summary: `The run was recorded, but asking for it failed (${(error as Error)?.message ?? String(error)}). It goes on where it runs: \`npx acgs run status ${runId}\` shows it once the run store answers again.`,
        blocks: [],
        data: { run: { id: runId }, error: (error as Error)?.message ?? String(error) },
      },
      code: EXIT.attention,
    };
  }
  const status = runStatusDocument(end.detail);
  // The sentence goes in --json too, beside how the follow ended, so a script can show it.
  const next = (sentence: string) => ({ ...status, summary: `${status.summary} ${sentence}`, data: { ...end.detail, followed: { how: end.how, next: sentence } } });
  const { run } = end.detail;
  if (end.how === 'stopped') {
    return { document: next(`Stopped following (Ctrl-C); the run goes on. \`npx acgs run status ${run.id}\` shows it, \`npx acgs run abort ${run.id}\` stops it.`), code: EXIT.attention };
  }
  if (end.how === 'unclaimed') {
    return {
      document: {
        ...next(
          `No runner claimed it in ${Math.round(unclaimedMs / 1000)} s: no bot is running on this database. It stays pending, and a bot started on this database runs it; \`npx acgs run abort ${run.id}\` drops it instead.`,
        ),
        tone: 'warn',
      },
      code: EXIT.attention,
    };
  }
  if (run.state === 'needs_decision') {
    return { document: next(`It waits for a decision: type \`npx acgs run decide ${run.id} retry|skip|abort\`.`), code: EXIT.attention };
  }
  return { document: status, code: run.state === 'succeeded' ? EXIT.ok : EXIT.attention };
}

/** The process entry (bot/cli-entry.js): argv, Ctrl-C, exit code, and the last-resort error boundary. */
export async function main(): Promise<void> {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  // A closed stderr (`2>&-`, a reader that quit) must not kill a restart between two replicas:
  // its EPIPE would be an unhandled 'error' event. Steps and notes then go nowhere; stdout still answers.
  process.stderr.on('error', () => undefined);
  let code: number;
  try {
    code = await runCli(process.argv.slice(2), {
      env: process.env,
      cwd: process.cwd(),
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      isTty: process.stdout.isTTY,
      stderrIsTty: process.stderr.isTTY,
      signal: controller.signal,
    });
  } catch (error) {
    process.stderr.write(`acgs: ${(error as Error)?.stack ?? String(error)}\n`);
    code = EXIT.attention;
  }
  // Writes to pipes and files are synchronous on Linux; exiting here drops reconnect timers and idle sockets.
  process.exit(code);
}
