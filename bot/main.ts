/**
 * `npm start`: the bot, always; the local stack when no Docker stack is found (ACGS_STACK forces
 * one); the local Slack console on the bot's port when no Slack settings are given.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { webApi } from '@slack/bolt';
import closeWithGrace from 'close-with-grace';
import {
  createApprovalStore,
  localApprovalSignals,
  migrateApprovalStore,
  redisApprovalSignals,
  startExpiryScheduler,
  type ApprovalRequest,
  type ApprovalSignals,
  type ExpiryScheduler,
} from './approvals/index.js';
import { slackUserGroupDirectory } from './authorization/index.js';
import { TRAIL_RELAY_FEATURE, trailRelayRoutes } from './audit-trail/trail-relay.js';
import { restartExecutionCheck } from './audit-trail/restart-execution-check.js';
import { trailCheckpointSettings } from './audit-trail/trail-checkpoints.js';
import { authFailureRecorder, type AuthFailureRecorder } from './audit-trail/auth-failures.js';
import { describeBotRoles, MIGRATIONS_DATABASE_URL_ENV, prepareBotDatabase } from './bot-database.js';
import { retireStalledApproval, settleInterruptedRuns } from './command-path/index.js';
import { loadCommandGate, openCommandTrail, type OpenedTrail } from './command-path/index.js';
import { createCommandRegistry } from '../commands/index.js';
import { commandDependenciesFromEnv, executeCommandLine, type CommandPathDependencies, type ExecutionDeps } from './command-path/index.js';
import { serviceEndpoints } from '../commands/dependencies.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../services/stack/local/embedded-postgres.js';
import { SERVICE_NAMES } from '../services/kit/service-ports.js';
import { createAuditOutbox, type AuditOutbox } from '../services/kit/audit-outbox.js';
import { startLocalServices, stateDirectory, type LocalServices } from '../services/stack/local/local-services.js';
import { ensurePrivateDirectory } from '../services/stack/local/local-state.js';
import { startLocalControl, type LocalControl } from '../services/stack/local/local-control.js';
import { createLocalStack } from '../services/stack/local/local-stack.js';
import { selectStack } from '../services/stack/select-stack.js';
import { loadBotConfig } from './config.js';
import { createBotLogger } from './logger.js';
import { createReviewCardStore, migrateEvolutionReviewCards, reviewIntervalFromEnv, startEvolutionReviewPoster, type ReviewPoster } from './evolution-reviews/index.js';
import { backupHostPorts, contactsOfIssueType, createBackupCatalog, drTestHostPorts, evidenceSetup, incidentResponseHostPorts, openBotDeployments, smtpContactMail, startRunbookEngine, type DrTestChannels, type RunbookEngine } from './runbook-runs/index.js';
import { CHECKLIST_RELAY_FEATURE, checklistRelayRoutes } from './runbook-runs/checklist-relay.js';
import { RUN_RELAY_FEATURE, runRelayRoutes } from './runbook-runs/run-relay.js';
import { runExecutionCheck } from './runbook-runs/run-execution-check.js';
import { runCommandLines } from './runbook-runs/run-command-lines.js';
import { createIncidentPages } from './paging/incident-pages.js';
import { INCIDENT_RELAY_FEATURE, incidentRelayRoutes } from './incidents/incident-relay.js';
import { SCHEDULE_RELAY_FEATURE, scheduleRelayRoutes } from './schedules/schedule-relay.js';
import { startRunMessages, type RunMessages } from './slack/run-message-publisher.js';
import { createRunMessageStore, migrateRunMessageStore } from './slack/run-message-store.js';
import { slackGateRequests } from './slack/gate-requests.js';
import { postApprovalRequest, type ApprovalPlace } from './slack/listener-kit.js';
import { allRunbooks } from '../runbooks/index.js';
import { deploySettingsFromEnv, migrateReleaseRecords } from '../runbooks/deploy/index.js';
import { createDockerReleaseBuilder } from '../services/stack/releases/docker-releases.js';
import { createLocalReleaseBuilder } from '../services/stack/releases/local-releases.js';
import { FINAL_RUN_STATES, migrateRunStore } from '../runbooks/engine/run-store.js';
import { describeMigrations } from './migration-lines.js';
import { allChecklists, createChecklistBook, emergencyChecklists, migrateChecklistStore } from '../runbooks/checklists/index.js';
import { createChecklistMessages, type ChecklistMessages } from './slack/checklist-messages.js';
import { createBackupPorts } from '../runbooks/backup/index.js';
import { createTrailStore } from './audit-trail/trail-store.js';
import { createSlackBot } from './slack/app.js';
import { ALERTMANAGER_WEBHOOK_PATH, createAlertmanagerWebhook, parseAlertWebhookSettings } from './alerts/alertmanager-webhook.js';
import { alertSettingsFromEnv, commandAlerts, createAlertStore, migrateAlertStore, startAlertMonitor, type AlertRecord } from './alerts/index.js';
import { startPeriodicJob } from '../services/kit/periodic.js';
import { readAlertContext } from './alerts/alert-context.js';
import { createAlertMessages, stormThresholdFromEnv, type AlertMessages } from './slack/alert-messages.js';
import { createAlertMessageStore, migrateAlertMessageStore } from './slack/alert-message-store.js';
import { createEscalations, ESCALATION_ACTOR, ESCALATION_ROLE } from './alerts/escalation.js';
import { escalationMatrix, type IssueType } from './alerts/escalation-matrix.js';
import { createEscalationRecords, migrateEscalationRecords } from './alerts/escalation-records.js';
import { slackEscalationActions } from './slack/alert-escalations.js';
import { incidentSlack, type IncidentSlack } from './slack/incident-slack.js';
import { allEscalationActions } from './alerts/escalation.js';
import { contactsWithEmail, createAlertPaging, createPageLedger, createPageMailer, migratePageLedger, resolveContacts, type PageMailer } from './paging/index.js';
import { alertSwitchesFromEnv } from './alerts/alert-switches.js';
import { startLevelOne, withLevelOneActor } from './alerts/level-one-wiring.js';
import type { LevelOne } from './alerts/level-one.js';
import { authorizationDataFor } from './authorization/index.js';
import { stackModesOf } from './command-path/index.js';
import { createLeaderDuty, createLeaseStore, logDutyEvent, migrateLeaseStore, replicaId, type LeaderDuty } from './leadership/index.js';
import { createReports } from './reports/daily-report-service.js';
import { postDailyReport } from './slack/post-daily-report.js';
import { renderDocument } from './slack/render.js';
import { createPrometheusHistory, createSampleStore, historySettingsFromEnv, migrateMetricsHistory, startMetricsSampler, type MetricsHistory } from './metrics-history/index.js';
import { backupJob, capacityReportJob, cleanupJob, dailyReportJob, drTestJob, weeklyPerformanceReportJob, weeklySecurityReportJob, withSchedulerActor, type ScheduledReportsFor } from './schedules/maintenance-jobs.js';
import { createReportPostLedger } from './schedules/report-post-ledger.js';
import { scheduledReports } from './reports/scheduled-report-posts.js';
import { commandSchedules, createScheduler, createScheduleStore, drTestStandingApproval, jobSchedules, migrateScheduleStore, type BuiltInJobName, type ScheduledJob, type Scheduler } from './schedules/index.js';
import { migrateDeliveryStore, postgresEvictedDeliveries } from './slack/delivery-store.js';
import { consoleHostRefusal, consoleStackRefusal, CONSOLE_WITH_REAL_STACK } from './slack/console/console-exposure.js';
import { DEFAULT_BOT_PORT, parseSlackSettings, slackRequested, type SlackSettings } from './slack/settings.js';
import { createSlackStandIn, DEFAULT_CHANNELS, type SlackStandIn } from './slack/stand-in/index.js';
import { createDeploymentNotices, createNoticeLedger, createNoticeMailer, emailSettingsFromEnv, migrateNoticeLedger, type NoticeMailer } from './notices/index.js';
import { noticeGroupDirectory, slackNoticeChat } from './slack/deployment-notice-chat.js';
import type { NoticesPort } from '../runbooks/engine/ports.js';
import { commandIncidents, createIncidentStore, createReviewStore, escalationIncidentOpener, incidentCommandTimeline, incidentReviews, incidentRunTimeline, migrateIncidentStore, type ReviewToPost, type RunTimeline } from './incidents/index.js';
import { createUpdateReminderLedger, startUpdateReminders, UPDATE_REMINDER_LEASE } from './incidents/update-reminder-duty.js';
import { updateReminderIntervals } from './incidents/update-reminders.js';
import { postIncidentReview } from './slack/incident-review-post.js';

const env = process.env;
const logger = createBotLogger({ name: 'acgs-bot', level: env.LOG_LEVEL ?? 'info' });
const say = (line: string) => console.log(`[acgs] ${line}`);
const announceMigrations = (component: string, applied: string[]) => {
  const line = describeMigrations(component, applied);
  if (line) say(line);
};

/**
 * Roles of the console's people when no config file names any: the on-call engineer and two
 * approvers, one of whom administers, so that every command can be tried locally.
 */
const CONSOLE_ROLES = { oncall: ['U0ONCALL'], approvers: ['U0APPROVER1', 'U0APPROVER2'], admins: ['U0APPROVER1'] };

/** The console plays a workspace whose tokens exist only in this process. */
function consoleSettings(port: number): { settings: SlackSettings; standIn: SlackStandIn } {
  const botToken = `xoxb-local-${randomBytes(12).toString('hex')}`;
  const signingSecret = randomBytes(24).toString('hex');
  const publicUrl = `http://127.0.0.1:${port}`;
  // The console starts before the trail opens: a refusal before then is only answered, not recorded.
  const standIn = createSlackStandIn({ botToken, signingSecret, publicUrl, botEventsUrl: `${publicUrl}/slack/events`, onConsoleAuthFailure: (attempt) => recordAuthFailure?.({ source: 'console', ...attempt }) });
  return { settings: { mode: 'http', botToken, signingSecret, apiUrl: `${publicUrl}/api/`, port }, standIn };
}

function consolePort(): number {
  const port = Number(env.PORT ?? DEFAULT_BOT_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`PORT must be a port number (got "${env.PORT}")`);
  return port;
}

let local: LocalServices | undefined;
let control: LocalControl | undefined;
let botDatabase: EmbeddedPostgres | undefined;
let trail: OpenedTrail | undefined;
/** Refused credentials into the trail, once it is open (bot/audit-trail/auth-failures.ts). */
let recordAuthFailure: AuthFailureRecorder | undefined;
let approvalSignals: ApprovalSignals | undefined;
let expiries: ExpiryScheduler | undefined;
let reviewPoster: ReviewPoster | undefined;
let governanceOutbox: AuditOutbox | undefined;
let runbookEngine: RunbookEngine | undefined;
let runMessages: RunMessages | undefined;
/** The incident timeline's view of runs, set once the incident store is open (issue 16). */
let runTimeline: RunTimeline | undefined;
/** What gate steps ask through, once the bot exists (the engine starts before it). */
let gateExecution: ExecutionDeps | undefined;
let gateClient: webApi.WebClient | undefined;
let gateMessages: ((request: ApprovalRequest) => Promise<void>) | undefined;
let checklistMessages: ChecklistMessages | undefined;
let deploymentNotices: NoticesPort | undefined;
/** Where the DR test announces its failover and posts its report, once the bot exists. */
let drTestChannels: DrTestChannels | undefined;
let noticeMailer: NoticeMailer | undefined;
let pageMailer: PageMailer | undefined;
let alertMessages: AlertMessages | undefined;
let escalationDuty: LeaderDuty | undefined;
let alertMonitorDuty: LeaderDuty | undefined;
let metricsSamplerDuty: LeaderDuty | undefined;
let scheduleDuty: LeaderDuty | undefined;
let incidentReminderDuty: LeaderDuty | undefined;
let scheduler: Scheduler | undefined;
let levelOne: LevelOne | undefined;

/**
 * The bot's own audit trail: in DATABASE_URL's database (its own tables beside the stack's), else
 * in a third embedded PGlite database beside the services' two. Its spool directory is
 * `<ACGS_STATE_DIR>/bot-trail-spool/<ACGS_BOT_INSTANCE or "bot">`: one per replica.
 */
async function openBotTrail(serviceToken: string | undefined): Promise<OpenedTrail> {
  const stateDir = stateDirectory(env);
  ensurePrivateDirectory(stateDir);
  let databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) {
    botDatabase = await startEmbeddedPostgres(join(stateDir, 'pglite', 'bot'));
    databaseUrl = botDatabase.url;
  }
  const instance = env.ACGS_BOT_INSTANCE || 'bot';
  // Governance records (approvals, votes, break-glass, lockdown, strict mode) also go to the
  // Audit Engine, through the same durable outbox the services use: spooled, delivered with retry.
  governanceOutbox = createAuditOutbox({
    auditEngineUrl: serviceEndpoints(env)['audit-engine'],
    spoolDir: join(stateDir, 'bot-outbox', instance),
    source: 'acgs-chatops',
    // The Audit Engine takes records only with the service token; without it they wait in the spool.
    serviceToken,
    log: logger.child({ component: 'governance-outbox' }),
  });
  // Migrations as the owner role, the bot as a role that may only append to the trail (bot/bot-database.ts).
  const ownerUrl = env[MIGRATIONS_DATABASE_URL_ENV];
  if (ownerUrl && !botDatabase) say(describeBotRoles(await prepareBotDatabase({ ownerUrl, runtimeUrl: databaseUrl, log: (line) => logger.info({ component: 'bot-database' }, line) })));
  else if (ownerUrl) say(`${MIGRATIONS_DATABASE_URL_ENV} is ignored without DATABASE_URL: the embedded database has one role`);
  const opened = await openCommandTrail({
    databaseUrl,
    // PGlite is single-session: one connection.
    poolMax: botDatabase ? 1 : 4,
    // Signed checkpoints, key outside the database (ACGS_TRAIL_SIGNING_KEY or <state>/trail-signing.key).
    checkpoints: trailCheckpointSettings({ stateDir, env, auditEngineUrl: serviceEndpoints(env)['audit-engine'] }),
    stateDir,
    instances: [instance],
    outbox: governanceOutbox,
    applicationName: 'acgs-bot-trail',
    log: logger.child({ component: 'audit-trail' }),
  });
  say(`audit trail: ${botDatabase ? `embedded PostgreSQL in ${join(stateDir, 'pglite', 'bot')}` : 'DATABASE_URL'}; spool ${opened.spoolDir}`);
  return opened;
}

/**
 * How long a stop may take before the bot exits anyway. The local stack stops its services in two
 * rounds (the writers, then the Audit Engine they write to), each up to the supervisor's 10 s
 * before SIGKILL, then the embedded databases: 15 s cut a hung service's stop short and killed the
 * Audit Engine before the others' last events reached it.
 */
const STOP_GRACE_MS = 30_000;

async function main(): Promise<void> {
  // Validated before anything starts, so that a bad file stops the start.
  const config = loadBotConfig(env.ACGS_CONFIG);
  // SMTP_URL and the notice addresses too: a notice channel found broken during a deployment is worse.
  const emailSettings = emailSettingsFromEnv(env);
  // The contacts' webhook secrets (secret_env) and their e-mail's server, for the same reason: a
  // page that cannot go out is found out during an outage otherwise.
  const contacts = resolveContacts(config.contacts, env);
  const mailedContacts = contactsWithEmail(contacts);
  if (mailedContacts.length > 0 && !emailSettings) throw new Error(`contacts.${mailedContacts[0]}.email: contacts with e-mail (${mailedContacts.join(', ')}) need SMTP_URL, the mail server pages go through`);
  // The deploy watch and timeouts too: a deploy must not find out mid-rollout that a setting is bad.
  const deploySettings = deploySettingsFromEnv(env);
  const alertSettings = alertSettingsFromEnv(env);
  const historySettings = historySettingsFromEnv(env);
  const alertSwitches = alertSwitchesFromEnv(env);
  // Level 1's guard rails are authorization data: defaults.json, overridable in the config file.
  const levelOneRules = authorizationDataFor(config.authorization).level_one;
  const alertWebhook = parseAlertWebhookSettings(env);
  const stormThreshold = stormThresholdFromEnv(env);
  const reviewIntervalMs = reviewIntervalFromEnv(env.ACGS_EVOLUTION_REVIEW_INTERVAL_SECONDS);
  const useConsole = !slackRequested(env);
  // Before anything starts: the console plays every approver, so only on loopback and a local stack.
  const consoleRefusal = useConsole ? (consoleHostRefusal(env.BOT_HOST || '127.0.0.1') ?? consoleStackRefusal({ env })) : undefined;
  if (consoleRefusal) throw new Error(consoleRefusal);
  const roles = useConsole && Object.keys(config.roles).length === 0 ? CONSOLE_ROLES : config.roles;
  const { settings, standIn } = useConsole ? consoleSettings(consolePort()) : { settings: parseSlackSettings(env), standIn: undefined };

  const { stack, reason } = await selectStack({
    env,
    local: async () => {
      say('starting the local stack (four supervised processes)');
      local = await startLocalServices({ log: say });
      return createLocalStack({ processes: local.processes, stateDir: local.stateDir });
    },
  });
  say(`stack: ${stack.kind}, because ${reason}`);
  const stackRefusal = useConsole ? consoleStackRefusal({ env, stackKind: stack.kind }) : undefined;
  if (stackRefusal) {
    await stack.close().catch(() => undefined);
    throw new Error(stackRefusal);
  }
  // After the stack: the local one writes the admin and service token files these services read.
  const { services: fromEnv, close: closeServices, serviceToken, redisClient } = commandDependenciesFromEnv(env);
  if (!serviceToken) say('no ACGS_SERVICE_TOKEN (nor a service-token file): governance records wait in the outbox, and evolution reviews and sandbox runs are refused, until it is set');
  trail = await openBotTrail(serviceToken);
  // Roles from Slack user groups are asked of Slack with the bot's token (the console's stand-in plays them).
  const groups = slackUserGroupDirectory(new webApi.WebClient(settings.botToken, { slackApiUrl: settings.apiUrl }));
  const { gate, authorizer } = await loadCommandGate({
    // Level 1 runs its lines as the bot's own actor, with the roles level_one.actor_roles names; the
    // escalation actor, alone in its role, may request the lockdown of an alert's Level 4.
    config: {
      // The scheduler runs the daily backup as its own actor, with the on-call role.
      roles: { ...withSchedulerActor(alertSwitches.levelOne ? withLevelOneActor(roles, levelOneRules) : roles), [ESCALATION_ROLE]: [ESCALATION_ACTOR.id] },
      channels: config.channels,
      ...(config.authorization ? { authorization: config.authorization } : {}),
    },
    groups,
    services: fromEnv,
    onProblem: (problem) => logger.error({ problem }, 'authorization policy unavailable: escalated commands are refused'),
  });
  say(authorizer.status.ok ? `authorization policy ${authorizer.status.version}` : `authorization policy UNAVAILABLE (${authorizer.status.problem}): only read-only commands run`);
  const redis = redisClient;
  // Pending approvals live beside the trail, in the bot's database; Redis (when set) wakes the other replicas.
  announceMigrations('approvals', await migrateApprovalStore(trail.pool));
  // Evolution review cards are claimed in the same database, so that replicas post each one once.
  announceMigrations('evolution-reviews', await migrateEvolutionReviewCards(trail.pool));
  // Slack deliveries the in-memory ledger evicts stay de-duplicated here until their window ends.
  announceMigrations('slack-deliveries', await migrateDeliveryStore(trail.pool));
  const reviewCards = createReviewCardStore({ pool: trail.pool, instance: env.ACGS_BOT_INSTANCE || 'bot' });
  approvalSignals = redis ? redisApprovalSignals(redis) : localApprovalSignals();
  const approvals = createApprovalStore({ pool: trail.pool, signals: approvalSignals, instance: env.ACGS_BOT_INSTANCE || 'bot' });
  const backupPorts = createBackupPorts({
    env,
    commands: fromEnv,
    // npm start without DATABASE_URL: the embedded databases, dumped by the threads that hold them.
    embedded: { ...(botDatabase ? { bot: botDatabase } : {}), ...local?.embeddedDatabases },
    // The head when the backup starts: a restored copy is checked against it.
    auditChainHead: async () => {
      const head = await createTrailStore(trail!.pool).head();
      return head.sequence > 0 ? head : null;
    },
    ...backupHostPorts(trail.pool),
  });
  // What is deployed and the stack's deploy lock, beside the runs that hold it: a run that ended holds nothing.
  // The run store first, under its own name: the release records build on its tables and would
  // otherwise migrate it as theirs.
  announceMigrations('runbooks', await migrateRunStore(trail.pool));
  announceMigrations('deployments', await migrateReleaseRecords(trail.pool));
  const deployments = await openBotDeployments({ pool: trail.pool, stack, services: fromEnv, env, migrate: false });
  // Incidents before the engine: the emergency runbooks work in one (issue 16).
  announceMigrations('incidents', await migrateIncidentStore(trail.pool));
  const incidentStore = createIncidentStore(trail.pool);
  // Their channels, briefings and announced updates are Slack's (bot/slack/incident-slack.ts), set once the bot is.
  let incidentSlackSide: IncidentSlack | undefined;
  // The review is kept at the close and posted in the incident's channel once Slack is up (below).
  let postReview: ((review: ReviewToPost) => Promise<unknown>) | undefined;
  const reviews = incidentReviews({
    store: incidentStore,
    reviews: createReviewStore(trail.pool),
    timeZone: config.timezone,
    post: (review) => postReview?.(review) ?? Promise.resolve(),
    log: (message, error) => logger.warn({ component: 'incident-reviews', err: error }, message),
  });
  const runbookIncidents = commandIncidents(incidentStore, {
    closed: reviews.closed,
    review: reviews.review,
    timezone: config.timezone,
    ...(config.channels.ops ? { opsChannel: config.channels.ops } : {}),
    openChannel: (incident) => (incidentSlackSide ? incidentSlackSide.openChannel(incident) : Promise.reject(new Error('the bot is still starting'))),
    announceUpdate: async (incident, update) => incidentSlackSide?.announceUpdate(incident, update),
  });
  const runApprovalPlaces = async (runId: string): Promise<ApprovalPlace[]> => {
    const shown = await createRunMessageStore({ pool: trail!.pool, instance: env.ACGS_BOT_INSTANCE || 'bot' }).get(runId);
    const places: ApprovalPlace[] = shown ? [{ channel: shown.channel, ...(shown.ts ? { threadTs: shown.ts } : {}) }] : [];
    if (config.channels.approvals && config.channels.approvals !== shown?.channel) places.push({ channel: config.channels.approvals });
    return places;
  };
  // One runner per process: runs live beside the trail; steps call what commands call, and their
  // starts and ends go to the trail. Runs a stopped process held are taken over within one lease.
  runbookEngine = await startRunbookEngine({
    pool: trail.pool,
    trail: trail.trail,
    migrate: false,
    runbooks: allRunbooks,
    ports: {
      // The trail too: the security breach's evidence snapshots the bot's own audit chain.
      commands: { ...fromEnv, stack, trail: trail.trail },
      backup: backupPorts,
      // Deployment notices go through the bot's Slack client, which exists once the bot does.
      notices: {
        deploymentNotice: async (notice) => {
          if (!deploymentNotices) throw new Error('deployment notices are not ready: the bot is still starting');
          return deploymentNotices.deploymentNotice(notice);
        },
      },
      deployments,
      drTest: drTestHostPorts({
        pool: trail.pool,
        trail: trail.trail,
        channels: () => drTestChannels,
        ...(drTestStandingApproval(config.schedules) ? { standingApproval: drTestStandingApproval(config.schedules)! } : {}),
        levelOneAutoResolution: alertSwitches.levelOne,
      }),
      // Releases as this stack runs them: checkouts beside the local stack's state, images on Docker.
      releases: local ? createLocalReleaseBuilder({ stateDir: local.stateDir }) : createDockerReleaseBuilder({ env }),
      deploySettings,
      incidents: runbookIncidents,
      // What an emergency runbook asks for (a lockdown, a restart) goes through this bot's command path as its requester.
      commandLines: runCommandLines({
        execution: {
          get registry() {
            if (!gateExecution) throw new Error('the bot is not started yet; retry the step once it is');
            return gateExecution.registry;
          },
          get services() {
            if (!gateExecution) throw new Error('the bot is not started yet; retry the step once it is');
            return gateExecution.services;
          },
        },
        announce: async (request, runId) => {
          if (!gateClient) throw new Error('the Slack bot is not started yet');
          const places = await runApprovalPlaces(runId);
          await postApprovalRequest(gateClient, approvals, request, places);
          return places.map((place) => place.channel);
        },
        log: (message, error) => logger.warn({ component: 'runbooks', err: error }, message),
      }),
      contactPages: createIncidentPages({ contacts, matrix: escalationMatrix(config.escalation), ...(emailSettings ? { sendMail: smtpContactMail(emailSettings) } : {}) }),
      // The emergency procedures (runbooks/emergency/): incidents, the command path, the security contacts.
      incidentResponse: incidentResponseHostPorts({
        services: () => gateExecution?.services,
        incidentStore: () => incidentStore,
        execute: async (request) => {
          if (!gateExecution) throw new Error('the bot is not started yet; retry the step once it is');
          return executeCommandLine(gateExecution, request);
        },
        announce: async (request, runId) => {
          if (!gateClient) throw new Error('the Slack bot is not started yet');
          const shown = await createRunMessageStore({ pool: trail!.pool, instance: env.ACGS_BOT_INSTANCE || 'bot' }).get(runId);
          const places: ApprovalPlace[] = shown ? [{ channel: shown.channel, ...(shown.ts ? { threadTs: shown.ts } : {}) }] : [];
          if (config.channels.approvals && config.channels.approvals !== shown?.channel) places.push({ channel: config.channels.approvals });
          await postApprovalRequest(gateClient, approvals, request, places);
        },
        contactsFor: (issueType) => contactsOfIssueType(escalationMatrix(config.escalation).issueTypes[issueType as IssueType] ?? {}, contacts),
        ...(emailSettings ? { sendMail: smtpContactMail(emailSettings) } : {}),
        trail: trail.trail,
        ...evidenceSetup(env, stateDirectory(env), [serviceToken, settings.botToken]),
        log: (message, error) => logger.warn({ component: 'runbooks', err: error }, message),
      }),
    },
    ...(env.ACGS_BOT_INSTANCE ? { owner: `${env.ACGS_BOT_INSTANCE}/${process.pid}` } : {}),
    // A restore or a deploy that held Level 1 back has ended here: what it waits on is looked at
    // now, not at its re-look a backoff later (a writer frozen just after a restore waited 30 s).
    executor: {
      onDriveEnd: (_runId, end) => {
        if ((FINAL_RUN_STATES as readonly string[]).includes(end)) levelOne?.stackChanged();
      },
    },
    log: (message, error) => (error ? logger.warn({ component: 'runbooks', err: error }, message) : logger.info({ component: 'runbooks' }, message)),
    // The run's message in the channel it was asked for in (the publisher exists once the bot does).
    onStartedInChannel: async (runId, channel) => runMessages?.publish(runId, channel),
    // A run started in an incident's channel: each step's start and end on its timeline.
    onStepRecorded: async (runId) => runTimeline?.runChanged(runId),
    // Gate steps ask for `run pass` through this bot's command path, posted in the run's thread.
    gateApprovals: slackGateRequests({
      execution: {
        get registry() {
          if (!gateExecution) throw new Error('the bot is not started yet; retry the gate once it is');
          return gateExecution.registry;
        },
        get services() {
          if (!gateExecution) throw new Error('the bot is not started yet; retry the gate once it is');
          return gateExecution.services;
        },
      },
      approvals,
      client: () => gateClient,
      updateMessages: async (request) => gateMessages?.(request),
      places: (run) => runApprovalPlaces(run.id),
      log: (message, error) => logger.warn({ component: 'runbooks', err: error }, message),
    }),
  });
  say(`runbooks: ${runbookEngine.registry.list().map((runbook) => runbook.name).join(', ')} (runner ${runbookEngine.executor.owner})`);
  const backups = createBackupCatalog(backupPorts.root);
  const services: CommandPathDependencies = { ...fromEnv, stack, authorization: gate, trail: trail.trail, approvals, runs: runbookEngine.runs, backups, deployments };
  // The runbook's checklists beside the runs; their automatic checks read what commands read.
  announceMigrations('checklists', await migrateChecklistStore(trail.pool));
  const checklistBook = createChecklistBook({
    pool: trail.pool,
    // The emergency runbooks' checklists too (the security breach's impact assessment), though `checklist`'s usage names the maintenance three.
    definitions: [...allChecklists, ...emergencyChecklists],
    services,
    // Shown in their channel without holding up the command (the messages exist once the bot does).
    onChanged: async (checklist) => void checklistMessages?.show(checklist),
    log: (message, error) => logger.warn({ component: 'checklists', err: error }, message),
  });
  services.checklists = checklistBook;
  if (local) {
    // The CLI is another process: it restarts these children through this one, records into this
    // trail, has this runner run its runbooks and keeps its checklists (in this embedded database).
    const relayGuard = runExecutionCheck(trail.trail);
    // The incidents and the scheduler are made below: their routes ask for the bot's ports (with the Slack seams) when called.
    const laterRelays = { ...incidentRelayRoutes(() => services.incidents, relayGuard), ...scheduleRelayRoutes(() => services.schedules, relayGuard) };
    control = await startLocalControl({
      stateDir: stateDirectory(env),
      stack,
      processes: local.processes,
      extensions: { ...trailRelayRoutes(trail.trail), ...runRelayRoutes(runbookEngine.runs, backups, relayGuard), ...checklistRelayRoutes(checklistBook, relayGuard), ...laterRelays },
      features: [TRAIL_RELAY_FEATURE, RUN_RELAY_FEATURE, CHECKLIST_RELAY_FEATURE, INCIDENT_RELAY_FEATURE, SCHEDULE_RELAY_FEATURE],
      // A restart asked over the channel runs only under a committed execution record of this trail.
      restartGuard: restartExecutionCheck(trail.trail),
    });
  }

  // Alerts: the store both sources report to, and Alertmanager's webhook when ACGS_ALERTS_TOKEN is
  // set; their messages in Slack, the built-in monitor (one replica, under a lease), Level 1 and
  // escalation start once the bot has.
  announceMigrations('alerts', await migrateAlertStore(trail.pool));
  announceMigrations('leadership', await migrateLeaseStore(trail.pool));
  const alertStore = createAlertStore({ pool: trail.pool, settings: alertSettings });
  // The alert commands (`alerts`, `alerts ack|snooze|resolve`, `silence`) act on it as the person.
  services.alerts = commandAlerts(alertStore, { timezone: config.timezone });
  const replica = replicaId(env.ACGS_BOT_INSTANCE);

  // Incidents (issue 16): the incident commands act on the store as the person; a command that
  // runs in an incident's channel goes on its timeline. Without channels.ops an incident runs in
  // the channel it was declared in until the Slack side makes channels of their own.
  services.incidents = runbookIncidents;
  runTimeline = incidentRunTimeline({ incidents: incidentStore, runs: runbookEngine.store, approvals });
  services.afterCommand = incidentCommandTimeline(incidentStore, { runs: runTimeline });

  // Scheduled maintenance (bot/schedules): every replica lists and runs jobs by hand; the one that
  // holds the lease schedules drives the timer, and each scheduled time is claimed in PostgreSQL.
  announceMigrations('schedules', await migrateScheduleStore(trail.pool));
  const scheduleStore = createScheduleStore(trail.pool);
  // The registry is made below; a job runs only once the timer or a command starts it, after that.
  // Keyed by the built-in jobs' names: a new job without its work here does not compile.
  // The report jobs' reports are made once the reports are (below): each run's posts once per due time.
  let reportOptions: Parameters<typeof createReports>[0] | undefined;
  const reportPostLedger = createReportPostLedger(trail.pool);
  const reportsFor: ScheduledReportsFor = (key) => {
    if (!reportOptions) throw new Error('the reports are not set up yet');
    return scheduledReports({ ...reportOptions, ledger: reportPostLedger }, key);
  };
  const scheduleWork: Record<BuiltInJobName, ScheduledJob['run']> = {
    backup: (context) => backupJob({ registry, services })(context),
    cleanup: cleanupJob(scheduleStore),
    'daily-report': (context) => dailyReportJob({ registry, services }, reportsFor)(context),
    'weekly-performance-report': (context) => weeklyPerformanceReportJob({ registry, services }, reportsFor)(context),
    'weekly-security-report': (context) => weeklySecurityReportJob({ registry, services }, reportsFor)(context),
    'monthly-capacity-report': (context) => capacityReportJob({ registry, services }, reportsFor)(context),
    'dr-test': (context) => drTestJob({ registry, services })(context),
  };
  const scheduledJobs: ScheduledJob[] = jobSchedules(config.schedules).map((job) => ({ ...job, run: scheduleWork[job.name as BuiltInJobName] }));
  scheduler = createScheduler({
    store: scheduleStore,
    jobs: scheduledJobs,
    timezone: config.timezone,
    holder: replica,
    alerts: alertStore,
    onEvent: (event) => {
      if (event.kind === 'ended') logger.info({ component: 'schedules', job: event.run.job, run: event.run.id, outcome: event.outcome, detail: event.detail }, `scheduled job ${event.run.job}: ${event.outcome}`);
      if (event.kind === 'overdue') logger.warn({ component: 'schedules', job: event.job }, `scheduled job ${event.job} is overdue (owed since ${event.owedSince.toISOString()})`);
    },
    onError: (error, what) => logger.warn({ component: 'schedules', err: error }, `schedules: ${what} failed`),
  });
  await scheduler.declare();
  services.schedules = commandSchedules(scheduler, scheduledJobs, config.timezone);
  say(`schedules (${config.timezone}): ${scheduledJobs.map((job) => `${job.name} ${job.enabled ? `\`${job.cron}\`` : 'off'}`).join(', ')}; driven by one replica (lease schedules)`);
  say(`alerts: Alertmanager's webhook ${alertWebhook.token ? `on at POST ${ALERTMANAGER_WEBHOOK_PATH}` : 'off (no ACGS_ALERTS_TOKEN)'}`);
  say(
    alertSwitches.monitor
      ? `alerts: built-in monitor on, under the lease alert-monitor (every ${alertSettings.monitorIntervalMs / 1000} s); ACGS_ALERT_MONITOR=off when Prometheus and Alertmanager are the source`
      : 'alerts: built-in monitor off (ACGS_ALERT_MONITOR=off): alerts come from Alertmanager',
  );
  say(
    alertSwitches.levelOne
      ? `alerts: Level 1 auto-resolution on (at most ${levelOneRules.max_actions_per_service_per_hour} actions per service an hour, breaker after ${levelOneRules.breaker_failures} failures)`
      : 'alerts: Level 1 auto-resolution off (ACGS_ALERT_LEVEL_ONE=off)',
  );

  const registry = createCommandRegistry();
  gateExecution = { registry, services };
  // Refused credentials go to the trail for the weekly security report (bot/reports/security-report.ts).
  recordAuthFailure = authFailureRecorder(trail.trail, { onError: (error) => logger.warn({ err: error }, 'a failed authentication attempt could not be recorded in the audit trail') });
  const bot = createSlackBot({
    settings,
    onAuthFailure: recordAuthFailure,
    registry,
    services,
    logger,
    ...(redis ? { redis } : {}),
    ...(env.BOT_HOST ? { host: env.BOT_HOST } : {}),
    ...(standIn ? { extraListener: standIn.requestListener, upgradeHandler: standIn.upgrade } : {}),
    mayRun: async (userId, command) => (await gate.decide({ actor: { id: userId }, command, args: {} })).decision.allow,
    ...(config.channels.approvals ? { approvalsChannel: config.channels.approvals } : {}),
    ...(config.slack?.team_ids ? { teamIds: config.slack.team_ids } : {}),
    evictedDeliveries: postgresEvictedDeliveries(trail.pool),
    reviewCards,
    alerts: alertStore,
    incidents: incidentStore,
    ...(config.incidents?.mark_emoji ? { markEmoji: config.incidents.mark_emoji } : {}),
    ...(alertWebhook.token
      ? {
          alertmanagerWebhook: createAlertmanagerWebhook({
            token: alertWebhook.token,
            intake: alertStore,
            maxBodyBytes: alertWebhook.maxBodyBytes,
            onError: (error) => logger.error({ component: 'alerts', err: error }, 'alerts from Alertmanager could not be stored; answered 503, so it sends them again'),
            onUnauthorized: (attempt) => recordAuthFailure?.({ source: 'alert-webhook', ...attempt }),
          }),
        }
      : {}),
  });

  gateClient = bot.webClient;
  gateMessages = (request) => bot.updateApprovalMessages(request);
  // One message per runbook run, kept current by one replica; a stopped replica's are taken over.
  announceMigrations('run-messages', await migrateRunMessageStore(trail.pool));
  // One write queue for every long-lived message (run messages, checklists, alerts, notices, and
  // the commands' progress threads): its pace per channel and its edit budget are the bot's share
  // of Slack's limits, so there is one, the bot's.
  const writeQueue = bot.writeQueue;
  postReview = (review) => postIncidentReview({ client: bot.webClient, queue: writeQueue }, review);
  runMessages = startRunMessages({
    client: bot.webClient,
    queue: writeQueue,
    pool: trail.pool,
    instance: env.ACGS_BOT_INSTANCE || 'bot',
    runs: runbookEngine.store,
    registry: runbookEngine.registry,
    lease: { leaseMs: runbookEngine.executor.leaseMs, renewEveryMs: runbookEngine.executor.renewEveryMs },
    log: (message, error) => (error ? logger.warn({ component: 'run-messages', err: error }, message) : logger.info({ component: 'run-messages' }, message)),
  });

  incidentSlackSide = incidentSlack({
    client: bot.webClient,
    writes: writeQueue,
    roles,
    matrix: escalationMatrix(config.escalation),
    contacts,
    groups: noticeGroupDirectory(bot.webClient),
    ...(config.channels.ops ? { opsChannel: config.channels.ops } : {}),
    services,
    log: (message, error) => logger.warn({ component: 'incidents', ...(error ? { err: error } : {}) }, message),
  });

  // One message per checklist started in a channel, edited after each tick through the channel's queue.
  checklistMessages = createChecklistMessages({
    queue: writeQueue,
    store: checklistBook.store,
    log: (message, error) => logger.warn({ component: 'checklist-messages', err: error }, message),
  });

  // Alerts in Slack: one message per alert in channels.alerts (else ops; the console's #acgs-alerts),
  // kept current from the store's changes through the same write queue; the store never waits for Slack.
  announceMigrations('alert-messages', await migrateAlertMessageStore(trail.pool));
  const alertChannel = config.channels.alerts ?? config.channels.ops ?? (standIn ? DEFAULT_CHANNELS.find((channel) => channel.name === 'acgs-alerts')?.id : undefined);
  if (alertChannel) {
    const shown = createAlertMessages({
      queue: writeQueue,
      alerts: alertStore,
      messages: createAlertMessageStore({ pool: trail.pool }),
      channel: alertChannel,
      stormThreshold,
      context: (alert) => readAlertContext(alert, { stack, deployments }),
      log: (message, error) => logger.warn({ component: 'alert-messages', ...(error ? { err: error } : {}) }, message),
    });
    alertMessages = shown;
    alertStore.onChange((change) => shown.changed(change));
    say(`alerts: posted to ${alertChannel}${config.channels.alerts ? ' (channels.alerts)' : config.channels.ops ? ' (channels.ops)' : ' (#acgs-alerts)'}, one message per alert; more than ${stormThreshold} within a minute share one summary`);
  } else {
    say('alerts: not posted in Slack (no channels.alerts or channels.ops in ACGS_CONFIG); /acgs alerts lists them');
  }

  // Deployment notices: channels.deploys (else ops, else the run's channel; the console's #acgs-deploys),
  // the stakeholders role by DM, and e-mail when SMTP_URL is set.
  noticeMailer = emailSettings ? createNoticeMailer(emailSettings) : undefined;
  // Which targets each notice reached, so that a notify step run again sends only to the rest.
  announceMigrations('notices', await migrateNoticeLedger(trail.pool));
  const runMessageRows = createRunMessageStore({ pool: trail.pool, instance: env.ACGS_BOT_INSTANCE || 'bot' });
  deploymentNotices = createDeploymentNotices({
    chat: slackNoticeChat(bot.webClient, writeQueue),
    channels: { deploys: config.channels.deploys ?? (standIn ? DEFAULT_CHANNELS.find((channel) => channel.name === 'acgs-deploys')?.id : undefined), ops: config.channels.ops },
    runChannel: async (runId) => (await runMessageRows.get(runId))?.channel,
    stakeholders: config.roles.stakeholders ?? [],
    groups: noticeGroupDirectory(bot.webClient),
    ...(noticeMailer ? { mailer: noticeMailer } : {}),
    ledger: createNoticeLedger(trail.pool),
    log: (message, error) => logger.warn({ component: 'notices', ...(error ? { err: error } : {}) }, message),
  });
  say(`deployment notices: DMs to roles.stakeholders (${(config.roles.stakeholders ?? []).length} entries); e-mail ${emailSettings ? `through ${emailSettings.server} to ${emailSettings.to.length} address${emailSettings.to.length === 1 ? '' : 'es'}` : 'off (no SMTP_URL)'}`);

  // Escalation of unacknowledged alerts (bot/alerts/README.md): every escalation.check_seconds, in
  // channels.alerts (else ops; the console's #acgs-alerts).
  const escalation = escalationMatrix(config.escalation);
  announceMigrations('alert-escalations', await migrateEscalationRecords(trail.pool));
  let escalateNow: ((alert: AlertRecord, reason: string) => Promise<void>) | undefined;
  const escalationChannel = config.channels.alerts ?? config.channels.ops ?? (standIn ? DEFAULT_CHANNELS.find((channel) => channel.name === 'acgs-alerts')?.id : undefined);
  // The contacts' e-mail and webhook pages (bot/paging/README.md), once per episode, level, contact and channel.
  announceMigrations('paging', await migratePageLedger(trail.pool));
  pageMailer = emailSettings && mailedContacts.length > 0 ? createPageMailer(emailSettings) : undefined;
  const paging = createAlertPaging({
    ledger: createPageLedger(trail.pool),
    contacts,
    alerts: alertStore,
    ...(pageMailer ? { mailer: pageMailer } : {}),
    log: (level, message) => logger[level]({ component: 'paging' }, message),
  });
  if (escalationChannel) {
    const escalationLog = (message: string, error?: unknown) => logger.warn({ component: 'escalation', ...(error ? { err: error } : {}) }, message);
    const escalations = createEscalations({
      alerts: alertStore,
      records: createEscalationRecords(trail.pool),
      matrix: escalation,
      roles,
      contacts,
      actions: allEscalationActions(
        [
          slackEscalationActions({
            client: bot.webClient,
            queue: writeQueue,
            channel: escalationChannel,
            execution: { registry, services },
            approvals,
            // From Level 3 the episode's incident is declared as the escalation actor, with the alert on its timeline.
            openIncident: escalationIncidentOpener({ execution: { registry, services }, incidents: incidentStore, actor: ESCALATION_ACTOR, channel: escalationChannel }),
            log: escalationLog,
          }),
          paging,
        ],
        escalationLog,
      ),
      log: escalationLog,
    });
    escalateNow = (alert, reason) => escalations.escalateNow(alert, reason).then(() => undefined);
    // One replica checks, whoever holds the lease alert-escalation; the records would keep each
    // level to one replica anyway, but one checker is one set of queries.
    escalationDuty = createLeaderDuty({
      leases: createLeaseStore(trail.pool),
      name: 'alert-escalation',
      holder: replica,
      start: () =>
        startPeriodicJob({
          intervalMs: escalation.checkMs,
          firstRunAfterMs: escalation.checkMs,
          // Pages whose retry is due go out with each check (a failed check does not hold them back).
          run: async () => {
            const now = new Date();
            const [checked, retried] = await Promise.allSettled([escalations.run(now), paging.retryDue(now)]);
            if (retried.status === 'rejected') escalationLog('page retries failed; trying again next time', retried.reason);
            if (checked.status === 'rejected') throw checked.reason;
          },
          onError: (error) => escalationLog('escalation check failed; trying again next time', error),
        }),
      onEvent: (event) => logDutyEvent(logger, 'escalation', event, { leading: 'alert escalation: this replica checks (lease alert-escalation)', stopped: 'alert escalation: stopped here' }),
      onError: (error, what) => escalationLog(`alert escalation: ${what} failed`, error),
    });
    say(`alert paging: ${contacts.size === 0 ? 'no contacts in ACGS_CONFIG' : `${contacts.size} contact${contacts.size === 1 ? '' : 's'} (${[...contacts.values()].map((contact) => `${contact.name}: ${[contact.slack.mention.length + contact.slack.dm.length > 0 ? 'slack' : '', ...contact.channels].filter(Boolean).join('+')}`).join(', ')})`}`);
    say(`alert escalation: to ${escalationChannel}, checked every ${escalation.checkMs / 1000} s by one replica (lease alert-escalation); Level 1 -> 2 after ${escalation.waitMs[1] / 60_000} min, 2 -> 3 after ${escalation.waitMs[2] / 60_000} min, 3 -> 4 after ${escalation.waitMs[3] / 60_000} min`);
  } else {
    say('alert escalation: off (no channels.alerts or channels.ops in ACGS_CONFIG)');
  }

  // Expired requests say so in their messages; started after the bot so that its client exists.
  expiries = startExpiryScheduler({
    store: approvals,
    signals: approvalSignals,
    onExpired: async (requests) => {
      for (const request of requests) await bot.updateApprovalMessages(request);
    },
    onError: (error) => logger.warn({ err: error }, 'approval expiry: will try again'),
  });
  // A crash between approval and the end of its run is never re-run blindly. An approved request
  // whose run never started is ended so its messages say so; one that started is reported.
  for (const request of await approvals.inFlight().catch(() => [])) {
    const retired = await retireStalledApproval({ registry, services }, request).catch(() => undefined);
    if (retired) await bot.updateApprovalMessages(retired).catch((error: unknown) => logger.warn({ err: error }, 'approval message update failed'));
    logger.warn({ request: request.id, state: request.state, line: request.action.line }, retired ? 'approval whose run never started (an earlier process stopped): ended as superseded; ask again if still needed' : 'approval left in flight by an earlier process: not re-run; ask again if still needed');
  }

  closeWithGrace({
    delay: STOP_GRACE_MS,
    // A second Ctrl-C exits at once (close-with-grace), before the stop above has ended the local
    // services: they are killed with the bot rather than left running in their own process groups.
    onSecondSignal: (signal) => {
      say(`second ${signal}: exiting now${local ? ', killing the local services' : ''}`);
      local?.killNow();
    },
    // The same when the stop itself hangs past the grace period and close-with-grace exits.
    onTimeout: () => {
      say(`stopping took longer than ${STOP_GRACE_MS / 1000} s: exiting now`);
      local?.killNow();
    },
  }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'shutting down after an error');
    else say(`${signal}: stopping`);
    await reviewPoster?.stop().catch(() => undefined);
    await escalationDuty?.stop().catch((error: unknown) => logger.warn({ err: error }, 'alert escalation stop failed'));
    // Before the trail and the stack close: the lease is let go so another replica monitors at once.
    await alertMonitorDuty?.stop().catch((error: unknown) => logger.warn({ err: error }, 'alert monitor stop failed'));
    await metricsSamplerDuty?.stop().catch((error: unknown) => logger.warn({ err: error }, 'metrics sampler stop failed'));
    // Runs in progress are ended (recorded as failed: the bot stopped) before the trail closes.
    await scheduleDuty?.stop().catch((error: unknown) => logger.warn({ err: error }, 'schedules stop failed'));
    await incidentReminderDuty?.stop().catch((error: unknown) => logger.warn({ err: error }, 'incident update reminders stop failed'));
    await scheduler?.stop().catch((error: unknown) => logger.warn({ err: error }, 'scheduler stop failed'));
    await levelOne?.stop().catch((error: unknown) => logger.warn({ err: error }, 'Level 1 stop failed'));
    await expiries?.stop().catch(() => undefined);
    await approvalSignals?.close().catch(() => undefined);
    await runMessages?.stop().catch((error: unknown) => logger.warn({ err: error }, 'run messages stop failed'));
    await checklistMessages?.idle().catch(() => undefined);
    await alertMessages?.idle().catch(() => undefined);
    noticeMailer?.close();
    pageMailer?.close();
    await bot.stop().catch((error: unknown) => logger.warn({ err: error }, 'bot stop failed'));
    // Before the trail closes: each run in hand finishes its step (recorded) and is handed back.
    await runbookEngine?.stop().catch((error: unknown) => logger.warn({ err: error }, 'runbook runner stop failed'));
    await standIn?.close().catch(() => undefined);
    await control?.close().catch(() => undefined);
    await stack.close().catch(() => undefined);
    await trail?.close();
    // Before the local Audit Engine stops, so that what is spooled can still be delivered.
    await governanceOutbox?.close().catch(() => undefined);
    await local?.stop();
    await botDatabase?.stop().catch(() => undefined);
    await closeServices();
  });

  const { port } = await bot.start();
  // After the start (the console's stand-in answers on the bot's port). A run this instance was
  // executing when it stopped (or one orphaned for an hour) is never re-run:
  // it becomes `outcome unknown`, its messages lose their buttons and its channel is told, by one replica.
  const interrupted = await settleInterruptedRuns({ registry, services }).catch((error: unknown) => {
    logger.warn({ err: error }, 'approvals interrupted by a stop could not be checked');
    return [];
  });
  for (const request of interrupted) {
    await bot.announceOutcomeUnknown(request).catch((error: unknown) => logger.warn({ err: error }, 'approval message update failed'));
    logger.warn({ request: request.id, command: request.action.command }, 'approval run interrupted by a stop: outcome unknown, not re-run');
  }
  // A service the records have never seen gets its initial version now, from its /health (one that is
  // not up yet gets it the first time `releases` finds it answering).
  void deployments.releases().catch((error: unknown) => logger.warn({ err: error }, 'deployment records: initial versions not recorded'));
  // Level 1 acts through this bot's command path, as the bot (origin auto); alerts from either source.
  if (alertSwitches.levelOne) {
    levelOne = startLevelOne({
      execution: { registry, services, logError: (reference, error) => logger.error({ component: 'level-1', reference, err: error }, 'Level 1 command failed') },
      alerts: alertStore,
      pool: trail.pool,
      rules: levelOneRules,
      modes: stackModesOf(fromEnv),
      holder: replica,
      // The circuit breaker and the hourly limit go up the escalation matrix at once.
      ...(escalateNow ? { escalateNow } : {}),
      log: (message, error) => (error ? logger.warn({ component: 'level-1', err: error }, message) : logger.info({ component: 'level-1' }, message)),
    });
  }
  // The built-in monitor on one replica: whoever holds the lease alert-monitor (taken over within 15 s).
  if (alertSwitches.monitor) {
    let lastProblem = '';
    alertMonitorDuty = createLeaderDuty({
      leases: createLeaseStore(trail.pool),
      name: 'alert-monitor',
      holder: replica,
      start: () => {
        // The replica that stopped monitoring may have been the one whose Level 1 was waiting to
        // try again (its timers went with it): what is still firing gets a look here.
        void levelOne?.sweep().catch((error: unknown) => logger.warn({ component: 'level-1', err: error }, 'Level 1: the open alerts could not be read'));
        return startAlertMonitor({
          services: { ...fromEnv, stack },
          alerts: alertStore,
          intervalMs: alertSettings.monitorIntervalMs,
          healthTimeoutMs: alertSettings.monitorTimeoutMs,
          // Once per distinct problem: a database away would otherwise fill the log every beat.
          onError: (error) => {
            const problem = (error as Error)?.message ?? String(error);
            if (problem !== lastProblem) logger.warn({ component: 'alert-monitor', err: error }, 'alert monitor: a beat failed; trying again next beat');
            lastProblem = problem;
          },
        });
      },
      onEvent: (event) => logDutyEvent(logger, 'alert-monitor', event, { leading: 'alert monitor: this replica monitors (lease alert-monitor)', stopped: 'alert monitor: stopped here' }),
      onError: (error, what) => logger.warn({ component: 'alert-monitor', err: error }, `alert monitor: ${what} failed`),
    });
  }
  // The reports' trends (issue 15): Prometheus's when PROMETHEUS_URL is set, else the embedded
  // sampler's, run by one replica under the lease metrics-sampler.
  let metricsHistory: MetricsHistory;
  if (historySettings.kind === 'prometheus') {
    metricsHistory = createPrometheusHistory({ url: historySettings.url });
  } else {
    announceMigrations('metrics history', await migrateMetricsHistory(trail.pool));
    const sampleStore = createSampleStore({ pool: trail.pool, retention: historySettings.retention });
    metricsHistory = sampleStore;
    let lastProblem = '';
    metricsSamplerDuty = createLeaderDuty({
      leases: createLeaseStore(trail.pool),
      name: 'metrics-sampler',
      holder: replica,
      start: () =>
        startMetricsSampler({
          services: { ...fromEnv, stack },
          store: sampleStore,
          intervalMs: historySettings.intervalMs,
          // Once per distinct problem, as the alert monitor.
          onError: (error) => {
            const problem = (error as Error)?.message ?? String(error);
            if (problem !== lastProblem) logger.warn({ component: 'metrics-sampler', err: error }, 'metrics sampler: a beat failed; trying again next beat');
            lastProblem = problem;
          },
        }),
      onEvent: (event) => logDutyEvent(logger, 'metrics-sampler', event, { leading: 'metrics sampler: this replica samples (lease metrics-sampler)', stopped: 'metrics sampler: stopped here' }),
      onError: (error, what) => logger.warn({ component: 'metrics-sampler', err: error }, `metrics sampler: ${what} failed`),
    });
  }
  // The reports (`report daily`, `report weekly`, `report security`, `report capacity`, and their scheduled jobs): channels.reports, else ops (the console's #acgs-ops).
  const reportChannel = config.channels.reports ?? config.channels.ops ?? (standIn ? DEFAULT_CHANNELS.find((channel) => channel.name === 'acgs-ops')?.id : undefined);
  // The DR test's failover announcement (ops) and its report (where the daily report goes).
  drTestChannels = {
    post: async (channel, document) => {
      const message = renderDocument(document);
      await bot.writeQueue.post(channel, { text: message.text, blocks: message.blocks });
    },
    ...((config.channels.ops ?? reportChannel) ? { ops: (config.channels.ops ?? reportChannel)! } : {}),
    ...(reportChannel ? { reports: reportChannel } : {}),
  };
  reportOptions = { services, history: metricsHistory, ...(reportChannel ? { poster: { channel: reportChannel, post: (report, hooks) => postDailyReport({ client: bot.webClient, queue: bot.writeQueue }, { channel: reportChannel }, report, hooks) } } : {}) };
  services.reports = createReports(reportOptions);
  say(`reports: the daily, weekly, security and capacity reports ${reportChannel ? `posted to ${reportChannel}${config.channels.reports ? ' (channels.reports)' : config.channels.ops ? ' (channels.ops)' : ' (#acgs-ops)'}` : 'not posted in Slack (no channels.reports or channels.ops in ACGS_CONFIG); report daily answers where it is asked'}`);
  say(`metrics history: ${metricsHistory.source}${historySettings.kind === 'embedded' ? `, sampled every ${historySettings.intervalMs / 1000} s under the lease metrics-sampler` : ''}`);
  // The scheduler's timer on one replica: whoever holds the lease schedules. A missed time runs
  // once when it starts here (or is skipped, as the job says).
  const timedScheduler = scheduler;
  scheduleDuty = createLeaderDuty({
    leases: createLeaseStore(trail.pool),
    name: 'schedules',
    holder: replica,
    start: () => timedScheduler.startTimer(),
    onEvent: (event) => logDutyEvent(logger, 'schedules', event, { leading: 'schedules: this replica drives the timer (lease schedules)', stopped: 'schedules: timer stopped here' }),
    onError: (error, what) => logger.warn({ component: 'schedules', err: error }, `schedules: ${what} failed`),
  });
  // Incident update reminders on one replica: whoever holds the lease incident-update-reminders;
  // each due point is claimed in PostgreSQL, so a takeover does not remind twice.
  const reminderIntervals = updateReminderIntervals(config.incidents);
  const reminderLedger = createUpdateReminderLedger(trail.pool);
  incidentReminderDuty = createLeaderDuty({
    leases: createLeaseStore(trail.pool),
    name: UPDATE_REMINDER_LEASE,
    holder: replica,
    start: () =>
      startUpdateReminders({
        store: incidentStore,
        ledger: reminderLedger,
        intervals: reminderIntervals,
        post: async (channel, document) => {
          const message = renderDocument(document);
          await bot.writeQueue.post(channel, { text: message.text, blocks: message.blocks });
        },
        onError: (error, what) => logger.warn({ component: 'incident-reminders', err: error }, `incident update reminders: ${what} failed`),
      }),
    onEvent: (event) => logDutyEvent(logger, 'incident-reminders', event, { leading: `incident update reminders: this replica reminds (lease ${UPDATE_REMINDER_LEASE})`, stopped: 'incident update reminders: stopped here' }),
    onError: (error, what) => logger.warn({ component: 'incident-reminders', err: error }, `incident update reminders: ${what} failed`),
  });
  // Started after the bot: the console's stand-in answers on the bot's own port.
  const reviewChannel = config.channels.approvals ?? (standIn ? DEFAULT_CHANNELS.find((channel) => channel.name === 'acgs-approvals')?.id : config.channels.ops);
  if (reviewIntervalMs > 0 && reviewChannel) {
    let lastProblem = '';
    reviewPoster = startEvolutionReviewPoster({
      client: fromEnv.evolutionOversight,
      store: reviewCards,
      publisher: bot.reviewCardPublisher,
      channel: reviewChannel,
      intervalMs: reviewIntervalMs,
      // Once per distinct problem: a stopped Evolution Oversight would otherwise fill the log every round.
      onError: (error, what) => {
        const problem = `${what}: ${(error as Error)?.message ?? String(error)}`;
        if (problem !== lastProblem) logger.warn({ err: error }, `evolution review cards: ${what} failed; trying again next round`);
        lastProblem = problem;
      },
    });
    say(`evolution review cards: human_review proposals posted to ${reviewChannel}, checked every ${reviewIntervalMs / 1000} s`);
  } else {
    say(`evolution review cards: off (${reviewIntervalMs === 0 ? 'ACGS_EVOLUTION_REVIEW_INTERVAL_SECONDS=0' : 'no channels.approvals or channels.ops in ACGS_CONFIG'})`);
  }
  if (local) {
    for (const service of SERVICE_NAMES) say(`  ${local.ready[service] ? 'up  ' : 'DOWN'}  ${service.padEnd(20)} ${local.endpoints[service]}`);
    say(`admin token: ${local.adminTokenFile ?? 'from ACGS_ADMIN_TOKEN'}`);
    say(`service token (the services' write endpoints): ${local.serviceTokenFile ?? 'from ACGS_SERVICE_TOKEN'}`);
    if (control) say(`control channel for npx acgs: ${control.supervisorFile}`);
  }
  say(`bot: ${settings.mode === 'socket' ? 'Socket Mode' : 'HTTP'} on http://127.0.0.1:${port} (/health, /metrics${settings.mode === 'http' ? ', /slack/events' : ''})`);
  // The one line that shows the console's token: the link opens the console and sets its cookie.
  if (standIn) say(`local Slack console: ${standIn.consoleUrl}  (open this link; type /acgs help)`);
  if (standIn && env[CONSOLE_WITH_REAL_STACK] === '1') say(`${CONSOLE_WITH_REAL_STACK}=1: the console runs against this stack and lets one person act as every approver`);
}

main().catch(async (error: unknown) => {
  console.error(`[acgs] could not start: ${(error as Error).message}`);
  await alertMonitorDuty?.stop().catch(() => undefined);
  await metricsSamplerDuty?.stop().catch(() => undefined);
  await scheduleDuty?.stop().catch(() => undefined);
  await incidentReminderDuty?.stop().catch(() => undefined);
  await scheduler?.stop().catch(() => undefined);
  await levelOne?.stop().catch(() => undefined);
  await runMessages?.stop().catch(() => undefined);
  await runbookEngine?.stop().catch(() => undefined);
  await control?.close().catch(() => undefined);
  await local?.stop().catch(() => undefined);
  await trail?.close().catch(() => undefined);
  await governanceOutbox?.close().catch(() => undefined);
  await botDatabase?.stop().catch(() => undefined);
  process.exit(1);
});
