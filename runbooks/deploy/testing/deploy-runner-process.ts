/**
 * A runner process hosting the deploy runbooks as the bot of `npm start` does: it starts the four
 * services itself (they are its children, and end by themselves when it is SIGKILLed), with the
 * harness's ports over them (deploy-harness.ts), and the product's deployment notices with their
 * ledger. Each notice that reaches "Slack" is a row of runbook_test_notices (deploy-runner.ts), so
 * a crash test can count them across processes.
 *
 *   tsx runbooks/deploy/testing/deploy-runner-process.ts '{"databaseUrl": "...", "owner": "a", "stateDir": "...", "repository": "...", "servicePorts": {...}, ...}'
 */
import type pg from 'pg';
import { createDeploymentNotices, createNoticeLedger, type NoticeChat } from '../../../bot/notices/index.js';
import { startLocalServices, type LocalServices } from '../../../services/stack/local/local-services.js';
import type { DeploymentNotice } from '../../engine/ports.js';
import { hostRunnerProcess } from '../../engine/testing/host-runner-process.js';
import { deployRunbooks } from '../index.js';
import { embeddedDeployPorts } from './deploy-harness.js';
import type { DeployRunnerOptions } from './deploy-runner.js';

function tableChat(pool: pg.Pool, owner: string): NoticeChat {
  const insert = (target: string, notice: DeploymentNotice) =>
    pool.query('INSERT INTO runbook_test_notices (run_id, kind, target, version, owner) VALUES ($1, $2, $3, $4, $5)', [notice.runId, notice.kind, target, notice.version, owner]).then(() => undefined);
  return { postToChannel: insert, directMessage: insert };
}

let services: LocalServices | undefined;

hostRunnerProcess<DeployRunnerOptions>({
  application: 'acgs-deploy-test',
  runbooks: () => [...deployRunbooks],
  async ports(options, pool) {
    services = await startLocalServices({ stateDir: options.stateDir, ports: options.servicePorts, env: { ACGS_STATE_DIR: options.stateDir }, log: () => undefined });
    const unready = Object.entries(services.ready).filter(([, ready]) => !ready);
    if (unready.length > 0) throw new Error(`the services did not become healthy: ${unready.map(([service]) => service).join(', ')}`);
    const notices = createDeploymentNotices({ chat: tableChat(pool, options.owner), channels: { deploys: options.channel }, stakeholders: options.stakeholders, ledger: createNoticeLedger(pool) });
    return embeddedDeployPorts({ services, repository: options.repository, pool, databaseUrl: options.databaseUrl, settings: options.settings, notices }).stepPorts;
  },
  stop: async () => services?.stop(),
});
