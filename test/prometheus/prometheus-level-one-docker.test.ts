/**
 * Issue 14's "Done when" through Prometheus and Alertmanager on the Docker stack: OUR
 * docker-compose.yml's four services as containers on the real engine (host-services.yml: the
 * local acgs-test/node image, host network, spare loopback ports), and its `prometheus` and
 * `alertmanager` services too (host-prometheus.yml: images of Debian's binaries, host network),
 * with their commands, entrypoint and rules as shipped and the shipped configs with only targets,
 * the bot's URL and the intervals (1 s) rewritten for loopback; and the bot's side as bot/main.ts
 * wires it: the webhook into the alert store on PostgreSQL, the alert messages in the Slack
 * stand-in's #acgs-alerts, and Level 1 acting through the command path and the Docker driver.
 *
 * The service's container is stopped with `docker stop`, not killed: compose gives the services
 * `restart: unless-stopped`, so the engine itself restarts a killed container within a second,
 * before a scrape can even miss it, and the alert path would prove nothing. A container stopped by
 * hand stays down whatever its restart policy, as one whose process hangs or whose engine gave up
 * on restarting it would: only Level 1 brings it back.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAlertContext } from '../../bot/alerts/alert-context.js';
import { createAlertStore, migrateAlertStore, type AlertChange, type AlertStore } from '../../bot/alerts/alert-store.js';
import { createAlertmanagerWebhook } from '../../bot/alerts/alertmanager-webhook.js';
import { createLevelOneClaims } from '../../bot/alerts/level-one-claims.js';
import { LEVEL_ONE_ACTOR, startLevelOne, withLevelOneActor } from '../../bot/alerts/level-one-wiring.js';
import type { LevelOne } from '../../bot/alerts/level-one.js';
import { defaultAuthorizationData } from '../../bot/authorization/data.js';
import { createCommandPathDependencies, stackModesOf } from '../../bot/command-path/index.js';
import { createAlertMessageStore, migrateAlertMessageStore } from '../../bot/slack/alert-message-store.js';
import { createAlertMessages, type AlertMessages } from '../../bot/slack/alert-messages.js';
import { channelWriteQueue } from '../../bot/slack/channel-write-queue.js';
import { createBotHttpServer } from '../../bot/slack/http-server.js';
import { startSlackStandIn, type SlackStandIn, type StandInMessage } from '../../bot/slack/stand-in/index.js';
import { createCommandRegistry } from '../../commands/index.js';
import { createPool } from '../../services/kit/postgres.js';
import type { ServiceName } from '../../services/kit/service-ports.js';
import { createDockerStack } from '../../services/stack/docker/index.js';
import type { Stack } from '../../services/stack/stack.js';
import { openHostServicesStack, type HostServicesStack, type Monitoring } from '../fixtures/compose/host-services-stack.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { TEST_DOCKER_HOST, requireDockerEngine } from '../testing/docker.js';
import { unusedLoopbackPort } from '../testing/loopback.js';
import { targetsUp } from '../testing/prometheus-query.js';
import { waitFor } from '../testing/wait-for.js';
import { alertmanagerConfigOnLoopback, prometheusConfigOnLoopback } from '../testing/prometheus-test-configs.js';
import { TEST_DRIVER_OPTIONS } from '../testing/responder-project.js';
import { BOT_TOKEN, blockText, standInClient } from '../testing/slack-harness.js';

/** Not the Policy Engine: Level 1 reads lockdown from it before acting. */
const VICTIM: ServiceName = 'audit-engine';
/** The stand-in's #acgs-alerts. */
const ALERTS_CHANNEL = 'C0ACGSALERT';
const RULES = defaultAuthorizationData().level_one;

let docker: Docker;
let compose: HostServicesStack | undefined;
let stack: Stack | undefined;
let opened: TestTrail | undefined;
let pool: pg.Pool | undefined;
let alerts: AlertStore;
let standIn: SlackStandIn | undefined;
let shown: AlertMessages | undefined;
let levelOne: LevelOne | undefined;
let bot: Server | undefined;
let monitoring: Monitoring | undefined;
const token = randomBytes(24).toString('hex');
const logged: string[] = [];
const changes: Array<{ change: AlertChange; at: number }> = [];

const log = (what: string) => (message: string, error?: unknown) => logged.push(`${what ? `${what}: ` : ''}${message}${error ? ` (${(error as Error).message})` : ''}`);

/** What a test that timed out shows: the alert changes, what the bot logged, and the containers' last lines. */
async function diagnose(): Promise<string> {
  const told = changes.map(({ change }) => `${change.alert.fingerprint} ${change.event.kind}`).join(', ');
  return `alert changes: ${told}; logged: ${logged.join(' | ')}\n${await monitoring?.logs()}`;
}

const changeOf = (kind: string) => changes.find(({ change }) => change.alert.labels.service === VICTIM && change.event.kind === kind);
const topLevel = (): StandInMessage[] => standIn!.messages(ALERTS_CHANNEL).filter((message) => !message.threadTs);

async function teardown(): Promise<void> {
  if (bot) await new Promise<void>((resolve) => bot!.close(() => resolve()));
  await levelOne?.stop();
  await shown?.idle().catch(() => undefined);
  await standIn?.close();
  await stack?.close().catch(() => undefined);
  await compose?.close();
  await pool?.end().catch(() => undefined);
  await opened?.close();
}

describe("the Docker stack's alerts through its Prometheus and Alertmanager", () => {
  beforeAll(async () => {
    try {
      docker = await requireDockerEngine();
      compose = await openHostServicesStack(docker, 'acgs-promdocker');
      stack = createDockerStack({ ...TEST_DRIVER_OPTIONS, dockerHost: TEST_DOCKER_HOST, project: compose.project });

      // The trail, the alerts, their messages and Level 1's claims in one database, as the bot keeps them.
      opened = await openTestTrail({ prefix: 'acgs_promdocker' });
      pool = createPool({ databaseUrl: opened.db.url, max: 4, applicationName: 'acgs-promdocker-test' });
      await migrateAlertStore(pool);
      await migrateAlertMessageStore(pool);
      alerts = createAlertStore({ pool });
      standIn = await startSlackStandIn({ botToken: BOT_TOKEN });
      const dockerStack = stack;
      shown = createAlertMessages({
        queue: channelWriteQueue(standInClient(standIn)),
        alerts,
        messages: createAlertMessageStore({ pool }),
        channel: ALERTS_CHANNEL,
        context: (alert) => readAlertContext(alert, { stack: dockerStack }),
        log: log('alert messages'),
      });
      alerts.onChange((change) => {
        changes.push({ change, at: Date.now() });
        shown!.changed(change);
      });

      const pathServices = createCommandPathDependencies({ endpoints: compose.endpoints, stack, adminToken: compose.adminToken, serviceToken: compose.serviceToken, checkTimeoutMs: 2000 });
      const gate = await testGate({ roles: withLevelOneActor({}, RULES), modes: stackModesOf(pathServices) });
      const deps = { ...pathServices, authorization: gate, trail: opened.trail };
      levelOne = startLevelOne({
        execution: { registry: createCommandRegistry(), services: deps, logError: (reference, error) => logged.push(`command path ${reference}: ${(error as Error).message}`) },
        alerts,
        pool,
        rules: RULES,
        modes: stackModesOf(deps),
        holder: 'replica-promdocker',
        // Level 1 says what it does in lines of its own, starting 'level 1: '.
        log: log(''),
      });

      bot = createBotHttpServer({
        health: () => ({ statusCode: 200, body: { status: 'ok' } }),
        metrics: new Registry(),
        alertmanagerWebhook: createAlertmanagerWebhook({ token, intake: alerts }),
      });
      await new Promise<void>((resolve) => bot!.listen(0, '127.0.0.1', resolve));
      const botPort = (bot.address() as AddressInfo).port;
      const prometheusPort = await unusedLoopbackPort();
      let alertmanagerPort = await unusedLoopbackPort();
      while (alertmanagerPort === prometheusPort) alertmanagerPort = await unusedLoopbackPort();
      monitoring = await compose.upMonitoring({
        prometheusPort,
        alertmanagerPort,
        prometheusConfig: await prometheusConfigOnLoopback({ ...compose.ports, bot: botPort }, alertmanagerPort),
        // Its entrypoint writes ACGS_ALERTS_TOKEN where the shipped alertmanager.yml reads it.
        alertmanagerConfig: await alertmanagerConfigOnLoopback(botPort, { tokenFile: 'shipped' }),
        alertsToken: token,
      });
      await waitFor('the four containers and the bot up in Prometheus', async () => ((await targetsUp(monitoring!.prometheusUrl)) === 5 ? true : undefined), 30_000, diagnose);
    } catch (error) {
      await teardown();
      throw error;
    }
  }, 240_000);

  afterAll(teardown, 120_000);

  it("posts ServiceDown for a stopped container in #acgs-alerts, Level 1 restarts it through the Docker driver, and the message ends resolved saying so", async () => {
    const container = docker.getContainer(compose!.containerName(VICTIM));
    const before = await container.inspect();
    const stoppedAt = Date.now();
    await container.stop({ t: 2 });
    expect((await container.inspect()).State.Running).toBe(false);

    // Prometheus -> Alertmanager -> the webhook -> the store -> one message in the channel.
    const posted = await waitFor('the alert message in #acgs-alerts', () => topLevel()[0], 30_000, diagnose);
    const fired = changeOf('fired')!;
    expect(fired.change.alert).toMatchObject({ rule: 'ServiceDown', source: 'alertmanager', labels: { alertname: 'ServiceDown', service: VICTIM, instance: `127.0.0.1:${compose!.ports[VICTIM]}` } });
    expect(fired.at - stoppedAt, 'stopped -> stored through Prometheus and Alertmanager').toBeLessThanOrEqual(20_000);
    const alertId = fired.change.alert.id;
    const firstPost = standIn!.calls('chat.postMessage').find((call) => call.ok && call.args.channel === ALERTS_CHANNEL && !call.args.thread_ts)!;
    // The Web API client sends blocks as a JSON string.
    const firing = blockText(typeof firstPost.args.blocks === 'string' ? JSON.parse(firstPost.args.blocks) : firstPost.args.blocks);
    expect(firing).toContain(`:rotating_light: ServiceDown: ${VICTIM}: firing`);
    expect(firing).toContain('*a service health check is failing*');
    expect(firing).toMatch(/Fired at \d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? UTC/);
    expect(firing).toContain(`Alert ${alertId} · ServiceDown · from the Alertmanager`);
    expect(firing).toContain('Acknowledge');

    // Level 1: `restart audit-engine` through the command path, the Docker driver restarting the container.
    const acted = await waitFor('Level 1 to act', () => changeOf('auto-action'), 60_000, diagnose);
    expect(acted.change.event.actor).toBe('level-1');
    expect(acted.change.event.details).toMatchObject({ action: 'restart-service', command: `restart ${VICTIM}`, outcome: 'succeeded', attempt: 1, service: VICTIM, summary: `Level 1 ran restart (restart ${VICTIM}): succeeded` });
    expect(acted.change.event.details!.evidence).toMatch(new RegExp(`^${VICTIM} answered its health check healthy [0-9.]+ s after Level 1 began the restart\\.$`));
    expect(acted.at - fired.at, 'alert stored -> healthy again by Level 1').toBeLessThanOrEqual(30_000);
    const after = await container.inspect();
    expect(after.Id).toBe(before.Id);
    expect(after.State).toMatchObject({ Running: true, Health: { Status: 'healthy' } });
    expect(Date.parse(after.State.StartedAt)).toBeGreaterThan(Math.max(Date.parse(before.State.StartedAt), stoppedAt));

    // Prometheus sees it up again; Alertmanager sends the resolution; the message is edited to its end.
    await waitFor('the resolution from Alertmanager', () => changeOf('resolved'), 30_000, diagnose);
    expect(await alerts.get(alertId)).toMatchObject({ state: 'resolved', resolvedBy: null, source: 'alertmanager' });
    await shown!.idle();
    expect(topLevel()).toHaveLength(1);
    const final = standIn!.messages(ALERTS_CHANNEL).find((message) => message.ts === posted.ts)!;
    const resolved = blockText(final.blocks);
    expect(resolved).toContain(`:white_check_mark: ServiceDown: ${VICTIM}: resolved`);
    expect(resolved).toMatch(/\*Resolved\*: Alertmanager reported it resolved \(Prometheus no longer sees it\) at /);
    expect(resolved).toContain(`*What the bot did*\n:robot_face: Level 1 ran restart (restart ${VICTIM}): succeeded`);
    expect(resolved).not.toContain('Acknowledge');
    expect(final.text).toBe(`ServiceDown: ${VICTIM}: resolved (1 failing health check)`);

    // The thread: the context (the container's last log lines and restart count), then what Level 1
    // did and the resolution, in the order they were stored: Prometheus may see the service up
    // before Level 1's own health check has finished.
    const thread = standIn!.thread(ALERTS_CHANNEL, posted.ts).slice(1).map((message) => blockText(message.blocks));
    expect(thread).toHaveLength(3);
    expect(thread[0]).toContain(`*Context for ${VICTIM}*`);
    // Read from the stopped container through the driver: its shutdown on docker stop's SIGTERM.
    expect(thread[0]).toContain('"signal":"SIGTERM","msg":"shutting down"');
    expect(thread.slice(1)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^:robot_face: Level 1 ran restart \\(restart ${VICTIM}\\): succeeded$`)),
        expect.stringMatching(/^:white_check_mark: Resolved: Alertmanager reported it resolved \(Prometheus no longer sees it\) at \d\d:\d\d/),
      ]),
    );

    // One action, claimed and finished, in the trail as the bot's own with origin auto.
    expect(await createLevelOneClaims(pool!).ofEpisode(alertId, fired.change.alert.firedAt)).toMatchObject([{ attempt: 1, outcome: 'succeeded', command: `restart ${VICTIM}` }]);
    const records = (await opened!.trail.query({ user: LEVEL_ONE_ACTOR.id })).records;
    expect(records.find((record) => record.kind === 'result')).toMatchObject({ command: 'restart', origin: 'auto', outcome: 'ok', args: { service: VICTIM } });
    // Only the stopped service was ever down, and nothing was logged but Level 1's own progress.
    expect(new Set(changes.map(({ change }) => change.alert.labels.service))).toEqual(new Set([VICTIM]));
    expect(logged.filter((line) => !line.startsWith('level 1: restart'))).toEqual([]);
  }, 150_000);
});
