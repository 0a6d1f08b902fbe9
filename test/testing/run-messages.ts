/**
 * The run messages as bot/main.ts publishes them, posted into the Slack stand-in for runs that an
 * executor drives on a runbook test database (runbooks/engine/testing/database.ts).
 */
import { createRunMessagePublisher, type RunMessages } from '../../bot/slack/run-message-publisher.js';
import { createRunMessageStore, migrateRunMessageStore } from '../../bot/slack/run-message-store.js';
import type { SlackStandIn } from '../../bot/slack/stand-in/index.js';
import type { RunbookRegistry } from '../../runbooks/engine/registry.js';
import type { RunbookTestDatabase } from '../../runbooks/engine/testing/database.js';
import { standInClient } from './slack-harness.js';

/** Not started: it follows the runs a test publishes, and the caller stops it. */
export async function publishRunMessages(options: { standIn: SlackStandIn; database: RunbookTestDatabase; registry: RunbookRegistry }): Promise<RunMessages & { start(): void }> {
  const { database } = options;
  await migrateRunMessageStore(database.pool);
  return createRunMessagePublisher({
    client: standInClient(options.standIn),
    runs: database.store,
    registry: options.registry,
    messages: createRunMessageStore({ pool: database.pool, instance: 'replica-a' }),
    pollMs: 100,
  });
}
