/**
 * The production alert path end to end, with real programs on loopback: the four services
 * (startLocalServices on spare ports), Debian's Prometheus with the shipped scrape config and
 * rules (`for` shortened to 1 s, intervals to 1 s), Debian's Alertmanager with the shipped config
 * (the bot's URL and a token file of this test), and the bot's real HTTP server with the webhook.
 * Holding a service makes ServiceDown arrive at the webhook; releasing it, the resolution.
 *
 * The alert store is not what is under test: a RecordingIntake takes what the webhook hands on
 * (the PostgreSQL store has its own tests).
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_RULES } from '../../bot/alerts/alert-rules.js';
import { createAlertmanagerWebhook } from '../../bot/alerts/alertmanager-webhook.js';
import type { ReportedAlert } from '../../bot/alerts/intake.js';
import { RecordingIntake } from '../../bot/alerts/testing/recording-intake.js';
import { createBotHttpServer } from '../../bot/slack/http-server.js';
import type { ServiceName } from '../../services/kit/service-ports.js';
import { startLocalServices, type LocalServices } from '../../services/stack/local/local-services.js';
import { startAlertmanager, startPrometheus, type RunningTool } from '../testing/prometheus-processes.js';
import { missingPrometheusTools } from '../testing/prometheus-tools.js';
import { readShippedRules, rulesWithFor } from '../testing/prometheus-shipped-rules.js';
import { ALERTS_TOKEN_FILE, alertmanagerConfigOnLoopback, prometheusConfigOnLoopback } from '../testing/prometheus-test-configs.js';
import { unusedLoopbackPort } from '../testing/loopback.js';
import { queryPrometheus, targetsUp } from '../testing/prometheus-query.js';
import { waitFor } from '../testing/wait-for.js';

const SERVICES: readonly ServiceName[] = ['sandbox-controller', 'evolution-oversight', 'audit-engine', 'policy-engine'];
const STOPPED: ServiceName = 'audit-engine';
const missing = await missingPrometheusTools();

const intake = new RecordingIntake();
const ports: Record<string, number> = {};
const token = randomBytes(24).toString('hex');
let stateDir: string | undefined;
let services: LocalServices | undefined;
let bot: Server | undefined;
let alertmanager: RunningTool | undefined;
let prometheus: RunningTool | undefined;

/** What a test that timed out shows: the alerts reported so far and both tools' output. */
const diagnose = () => `reported: ${JSON.stringify(intake.alerts())}\nPrometheus:\n${prometheus?.output()}\nAlertmanager:\n${alertmanager?.output()}`;

const query = (expression: string) => queryPrometheus(prometheus!.url, expression);

/** The services each rule's measurement covers on this stack (the bot's registry here has no process metrics). */
const MEASURED_SERVICES: Record<string, readonly string[]> = {
  HighP99Latency: ['policy-engine'],
  ConstitutionalViolations: ['policy-engine'],
  HighErrorRate: ['policy-engine'],
  LowCacheHitRate: ['policy-engine'],
  HighCpu: SERVICES,
  HighMemory: SERVICES,
  SandboxFailures: ['sandbox-controller'],
  // changes() over one scrape is 0, still a value per service.
  ServiceCrashLooping: SERVICES,
};

const serviceDown = (alert: ReportedAlert) => alert.rule === 'ServiceDown';

async function teardown(): Promise<void> {
  await prometheus?.stop();
  await alertmanager?.stop();
  if (bot) await new Promise<void>((resolve) => bot!.close(() => resolve()));
  await services?.stop();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
}

describe.skipIf(missing.length > 0)(
  `alerts through Prometheus and Alertmanager${missing.length > 0 ? ` (skipped: ${missing.join(', ')} not on PATH; scripts/provision.sh installs them)` : ''}`,
  () => {
    beforeAll(async () => {
      try {
        for (const service of [...SERVICES, 'bot']) ports[service] = await unusedLoopbackPort();
        stateDir = await mkdtemp(join(tmpdir(), 'acgs-alerts-prometheus-'));
        services = await startLocalServices({ stateDir, ports: ports as Record<ServiceName, number>, env: { ACGS_STATE_DIR: stateDir }, log: () => undefined });
        for (const process of services.processes) {
          if (!(await process.waitUntilHealthy(60_000))) throw new Error(`${process.name} did not become healthy`);
        }
        bot = createBotHttpServer({
          health: () => ({ statusCode: 200, body: { status: 'ok' } }),
          metrics: new Registry(),
          alertmanagerWebhook: createAlertmanagerWebhook({ token, intake }),
        });
        await new Promise<void>((resolve) => bot!.listen(ports.bot, '127.0.0.1', resolve));
        alertmanager = await startAlertmanager({ port: await unusedLoopbackPort(), config: await alertmanagerConfigOnLoopback(ports.bot!), files: { [ALERTS_TOKEN_FILE]: token } });
        const alertmanagerPort = Number(new URL(alertmanager.url).port);
        prometheus = await startPrometheus({ port: await unusedLoopbackPort(), config: await prometheusConfigOnLoopback(ports, alertmanagerPort), rules: await rulesWithFor('1s') });
        await waitFor('all five targets up', async () => ((await targetsUp(prometheus!.url)) === SERVICES.length + 1 ? true : undefined), 30_000, diagnose);
      } catch (error) {
        await teardown();
        throw error;
      }
    }, 150_000);

    afterAll(teardown, 60_000);

    it("measures every rule but ServiceDown on the real services: each expression without its comparison has a value per service", async () => {
      const rules = (await readShippedRules()).groups.flatMap((group) => group.rules).filter((rule) => rule.alert !== 'ServiceDown');
      expect(rules.map((rule) => rule.alert).sort()).toEqual(Object.keys(MEASURED_SERVICES).sort());
      for (const rule of rules) {
        const measurement = rule.expr.trim().replace(/\s*(>=|<=|>|<)\s*[0-9.]+$/, '');
        // Rates need two scrapes in their window; the services were scraped for a few seconds at most.
        const samples = await waitFor(`a value of ${rule.alert}`, async () => {
          const result = await query(measurement);
          return new Set(result.map((sample) => sample.metric.service)).size === MEASURED_SERVICES[rule.alert]!.length ? result : undefined;
        }, 15_000, diagnose);
        expect(new Set(samples.map((sample) => sample.metric.service)), rule.alert).toEqual(new Set(MEASURED_SERVICES[rule.alert]));
      }
    }, 60_000);

    it('reports ServiceDown for a stopped service through Alertmanager, and its resolution once it runs again', async () => {
      expect(intake.alerts().filter(serviceDown)).toEqual([]);
      const process = services!.processes.find((candidate) => candidate.name === STOPPED)!;
      const stoppedAt = Date.now();
      await process.hold();

      const firing = await waitFor(
        `ServiceDown firing for ${STOPPED}`,
        () => intake.alerts().find((alert) => serviceDown(alert) && alert.status === 'firing' && alert.labels.service === STOPPED),
        30_000,
        diagnose,
      );
      expect(firing).toMatchObject({
        source: 'alertmanager',
        labels: { alertname: 'ServiceDown', service: STOPPED, instance: `127.0.0.1:${ports[STOPPED]}`, severity: 'critical' },
        annotations: { summary: ALERT_RULES.ServiceDown.summary, threshold: '1' },
        value: 1,
      });
      expect(firing.endsAt).toBeUndefined();
      expect(firing.startsAt.getTime()).toBeGreaterThanOrEqual(stoppedAt - 1000);

      process.release();
      expect(await process.waitUntilHealthy(60_000)).toBe(true);
      const resolved = await waitFor(
        `ServiceDown resolved for ${STOPPED}`,
        () => intake.alerts().find((alert) => serviceDown(alert) && alert.status === 'resolved' && alert.fingerprint === firing.fingerprint),
        30_000,
        diagnose,
      );
      expect(resolved.startsAt).toEqual(firing.startsAt);
      expect(resolved.endsAt!.getTime()).toBeGreaterThan(firing.startsAt.getTime());
      // Only the stopped service was ever down.
      expect(new Set(intake.alerts().filter(serviceDown).map((alert) => alert.labels.service))).toEqual(new Set([STOPPED]));
    }, 120_000);
  },
);
