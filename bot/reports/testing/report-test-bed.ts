/**
 * What the reports' tests stand on: a fresh database on the real PostgreSQL with the metrics
 * history's tables (to fill with known series), its sample store, and the Slack stand-in with a
 * reports channel, a client that does not retry (a refused upload shows at once) and the poster
 * bot/main.ts gives the reports, posting there.
 */
import { WebClient } from '@slack/web-api';
import type pg from 'pg';
import { createPool } from '../../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../../../test/testing/postgres.js';
import { createSampleStore, migrateMetricsHistory, type SampleStore } from '../../metrics-history/index.js';
import type { FilledSeries } from '../../metrics-history/testing/fill-history.js';
import { channelWriteQueue } from '../../slack/channel-write-queue.js';
import { postDailyReport } from '../../slack/post-daily-report.js';
import { startSlackStandIn, type SlackStandIn } from '../../slack/stand-in/index.js';
import type { ReportPoster } from '../report-posting.js';

export const REPORTS_CHANNEL = 'C0ACGSREPORTS';
/** Nothing listens on port 1 of loopback: a service or database there is really down. */
export const DOWN = 'http://127.0.0.1:1';

export interface ReportTestBed {
  db: TestDatabase;
  pool: pg.Pool;
  store: SampleStore;
  slack: SlackStandIn;
  client: WebClient;
  /** Posts to REPORTS_CHANNEL. */
  poster: ReportPoster;
  close(): Promise<void>;
}

export async function startReportTestBed(name: string): Promise<ReportTestBed> {
  const db = await createTestDatabase(`acgs_${name.replace(/-/g, '_')}`);
  const pool = createPool({ databaseUrl: db.url, max: 2, applicationName: `acgs-${name}-test` });
  await migrateMetricsHistory(pool);
  const botToken = `xoxb-${name}-test`;
  const slack = await startSlackStandIn({ botToken, console: false, workspace: { channels: [{ id: REPORTS_CHANNEL, name: 'acgs-reports' }] } });
  const client = new WebClient(botToken, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
  return {
    db,
    pool,
    store: createSampleStore({ pool }),
    slack,
    client,
    poster: { channel: REPORTS_CHANNEL, post: (report) => postDailyReport({ client, queue: channelWriteQueue(client) }, { channel: REPORTS_CHANNEL }, report) },
    async close() {
      await slack.close();
      await pool.end();
      await db.drop();
    },
  };
}

/** A series at one level all the time, to be changed where a test wants a known bad stretch. */
export const flat = (metric: string, service: string, base: number): FilledSeries => ({ metric: metric as FilledSeries['metric'], service, base, wave: 0, noise: 0 });
