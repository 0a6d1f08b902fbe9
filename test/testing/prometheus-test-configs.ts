/**
 * The shipped prometheus.yml and alertmanager.yml (prometheus/) rewritten for a test on loopback:
 * only the targets, the Alertmanager address, the bot's webhook URL, the token file and the
 * intervals change, so what is tested is the shipped routing, rules and receiver.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import { ALERTMANAGER_WEBHOOK_PATH } from '../../bot/alerts/alertmanager-webhook.js';
import { PROMETHEUS_DIR } from './prometheus-shipped-rules.js';

/** The file name of the webhook's bearer token beside the test's alertmanager.yml. */
export const ALERTS_TOKEN_FILE = 'alerts-token';

interface ScrapeConfig {
  job_name: string;
  static_configs: Array<{ targets: string[]; labels: { service: string } }>;
}

/** prometheus.yml scraping each target's `service` on 127.0.0.1 at `ports[service]`, every second, alerting to this Alertmanager. */
export async function prometheusConfigOnLoopback(ports: Record<string, number>, alertmanagerPort: number): Promise<string> {
  const config = YAML.parse(await readFile(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8'));
  config.global = { ...config.global, scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' };
  config.alerting.alertmanagers = [{ static_configs: [{ targets: [`127.0.0.1:${alertmanagerPort}`] }] }];
  for (const job of config.scrape_configs as ScrapeConfig[]) {
    for (const target of job.static_configs) {
      const port = ports[target.labels.service];
      if (port === undefined) throw new Error(`no port for the scrape target of ${target.labels.service}`);
      target.targets = [`127.0.0.1:${port}`];
    }
  }
  return YAML.stringify(config);
}

/**
 * alertmanager.yml sending to the bot on 127.0.0.1 at `botPort`, batching for a second, its token
 * read from `tokenFile`: by default ALERTS_TOKEN_FILE beside it, or the shipped path where the
 * compose service's entrypoint writes it.
 */
export async function alertmanagerConfigOnLoopback(botPort: number, options: { tokenFile?: 'shipped' } = {}): Promise<string> {
  const config = YAML.parse(await readFile(join(PROMETHEUS_DIR, 'alertmanager.yml'), 'utf8'));
  config.route = { ...config.route, group_wait: '1s', group_interval: '1s' };
  const webhook = config.receivers[0].webhook_configs[0];
  webhook.url = `http://127.0.0.1:${botPort}${ALERTMANAGER_WEBHOOK_PATH}`;
  // Relative paths in Alertmanager's config are read from the config file's directory.
  if (options.tokenFile !== 'shipped') webhook.http_config.authorization.credentials_file = ALERTS_TOKEN_FILE;
  return YAML.stringify(config);
}
