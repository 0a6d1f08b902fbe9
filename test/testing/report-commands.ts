/**
 * What the `report` command suites share: the real trail and authorization on PostgreSQL with the
 * metrics history migrated there (the suite fills it), the Slack stand-in with a reports channel,
 * and the bot's reports posting to it, as bot/main.ts wires them.
 */
import { WebClient } from '@slack/web-api';
import { createCommandPathDependencies, type CommandPathDependencies } from '../../bot/command-path/index.js';
import { createSampleStore, migrateMetricsHistory } from '../../bot/metrics-history/index.js';
import { createReports } from '../../bot/reports/daily-report-service.js';
import { channelWriteQueue } from '../../bot/slack/channel-write-queue.js';
import { postDailyReport } from '../../bot/slack/post-daily-report.js';
import { startSlackStandIn, type SlackStandIn } from '../../bot/slack/stand-in/index.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { openTestTrail, testGate, type TestTrail } from './command-access.js';
import { unusedLoopbackUrl } from './loopback.js';

export const REPORTS_CHANNEL = 'C0ACGSREPORTS';
export const OPS_CHANNEL = 'C0ACGSOPS01';

export interface ReportCommandsKit {
  trail: TestTrail;
  slack: SlackStandIn;
  services: CommandPathDependencies;
  close(): Promise<void>;
}

/** `oncall` holds the users who may ask for reports; the services are nowhere (their parts say so). */
export async function openReportCommandsKit(options: { prefix: string; botToken: string; oncall: string[]; fill(trail: TestTrail): Promise<unknown> }): Promise<ReportCommandsKit> {
  const trail = await openTestTrail({ prefix: options.prefix });
  await migrateMetricsHistory(trail.pool);
  await options.fill(trail);
  const slack = await startSlackStandIn({ botToken: options.botToken, console: false, workspace: { channels: [{ id: REPORTS_CHANNEL, name: 'acgs-reports' }, { id: OPS_CHANNEL, name: 'acgs-ops' }] } });
  const client = new WebClient(options.botToken, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  const nowhere = await unusedLoopbackUrl();
  const base = createCommandPathDependencies({ endpoints: Object.fromEntries(SERVICE_NAMES.map((name) => [name, nowhere])) as Record<ServiceName, string>, checkTimeoutMs: 500 });
  const services: CommandPathDependencies = { ...base, authorization: await testGate({ roles: { oncall: options.oncall } }), trail: trail.trail };
  services.reports = createReports({
    services,
    history: createSampleStore({ pool: trail.pool }),
    poster: { channel: REPORTS_CHANNEL, post: (report) => postDailyReport({ client, queue: channelWriteQueue(client) }, { channel: REPORTS_CHANNEL }, report) },
  });
  return {
    trail,
    slack,
    services,
    async close() {
      await slack.close();
      await trail.close();
    },
  };
}
