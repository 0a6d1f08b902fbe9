/**
 * The bot's Prometheus metrics, one registry per bot instance (tests run several side by side).
 * Names carry the `acgs_bot_` prefix so they sit beside the services' metrics on one dashboard.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the metrics read from the bot's audit trail (its `status()`), at each scrape. */
export interface AuditTrailStatusSource {
  status(): { lost?: { count: number; lastAt: string } };
}

export interface BotMetrics {
  registry: Registry;
  commands: Counter<'command' | 'outcome' | 'origin'>;
  commandDuration: Histogram<'command'>;
  ackLatency: Histogram<'kind'>;
  slackApiErrors: Counter<'method' | 'error'>;
  rateLimitWaits: Counter<'method'>;
  rateLimitWaitSeconds: Counter<'method'>;
  duplicateDeliveries: Counter<'kind'>;
  foreignTeamRefusals: Counter<'kind'>;
  retriesReceived: Counter<'kind'>;
  dedupeStoreErrors: Counter;
  auditRecordsLost: Counter;
  auditRecordLostAt: Gauge;
}

export function createBotMetrics(options: { defaultMetrics?: boolean; auditTrail?: AuditTrailStatusSource } = {}): BotMetrics {
  const trail = options.auditTrail;
  let lostCounted = 0;
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'acgs-bot' });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    commands: new Counter({
      name: 'acgs_bot_commands_total',
      help: 'Commands run, by command name, outcome (ok, warn, fail, info, rejected, error) and origin',
      labelNames: ['command', 'outcome', 'origin'] as const,
      registers,
    }),
    commandDuration: new Histogram({
      name: 'acgs_bot_command_duration_seconds',
      help: 'Time from the ack to the finished result document',
      labelNames: ['command'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    ackLatency: new Histogram({
      name: 'acgs_bot_ack_latency_seconds',
      help: 'Time from receiving a Slack request to acknowledging it (Slack allows 3 s)',
      labelNames: ['kind'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3],
      registers,
    }),
    slackApiErrors: new Counter({
      name: 'acgs_bot_slack_api_errors_total',
      help: 'Slack Web API and response_url calls that failed, by method and error',
      labelNames: ['method', 'error'] as const,
      registers,
    }),
    rateLimitWaits: new Counter({
      name: 'acgs_bot_slack_rate_limited_total',
      help: 'Slack answers of 429 that made the client wait for Retry-After',
      labelNames: ['method'] as const,
      registers,
    }),
    rateLimitWaitSeconds: new Counter({
      name: 'acgs_bot_slack_rate_limit_wait_seconds_total',
      help: 'Seconds Slack asked us to wait (Retry-After), summed',
      labelNames: ['method'] as const,
      registers,
    }),
    duplicateDeliveries: new Counter({
      name: 'acgs_bot_duplicate_deliveries_total',
      help: 'Deliveries acknowledged but not run again because they were seen before',
      labelNames: ['kind'] as const,
      registers,
    }),
    foreignTeamRefusals: new Counter({
      name: 'acgs_bot_foreign_team_refusals_total',
      help: 'Deliveries from a Slack workspace outside slack.team_ids, refused before any command ran',
      labelNames: ['kind'] as const,
      registers,
    }),
    retriesReceived: new Counter({
      name: 'acgs_bot_slack_retries_total',
      help: 'Deliveries that Slack marked as retries (X-Slack-Retry-Num, retry_attempt)',
      labelNames: ['kind'] as const,
      registers,
    }),
    dedupeStoreErrors: new Counter({
      name: 'acgs_bot_dedupe_store_errors_total',
      help: 'Redis failures of the delivery ledger (answered from memory instead)',
      registers,
    }),
    // Read from the trail at each scrape: the trail counts its losses whether or not anyone scrapes.
    auditRecordsLost: new Counter({
      name: 'acgs_bot_audit_records_lost_total',
      help: "Audit records the bot's trail could store neither in PostgreSQL nor in its local spool (a full disk), since the process started",
      registers,
      collect() {
        const count = trail?.status().lost?.count ?? 0;
        if (count > lostCounted) this.inc(count - lostCounted);
        lostCounted = Math.max(lostCounted, count);
      },
    }),
    auditRecordLostAt: new Gauge({
      name: 'acgs_bot_audit_record_lost_last_timestamp_seconds',
      help: 'When the last audit record was lost (Unix time); 0 when none was',
      registers,
      collect() {
        const lastAt = trail?.status().lost?.lastAt;
        this.set(lastAt ? Date.parse(lastAt) / 1000 : 0);
      },
    }),
  };
}
