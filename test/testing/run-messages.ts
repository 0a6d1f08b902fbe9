/**
 * Scripted runbooks run by a real executor on a runbook test database
 * (runbooks/engine/testing/database.ts), with their run messages published into the Slack stand-in
 * as bot/main.ts publishes them.
 */
import type { AnyRunbook } from '../../runbooks/engine/definition.js';
import { createRunbookRegistry, type RunbookRegistry } from '../../runbooks/engine/registry.js';
import { createRunExecutor, type RunExecutor } from '../../runbooks/engine/run-executor.js';
import type { RunbookTestDatabase } from '../../runbooks/engine/testing/database.js';
import { createRunMessagePublisher, type RunMessages } from '../../bot/slack/run-message-publisher.js';
import { createRunMessageStore, migrateRunMessageStore } from '../../bot/slack/run-message-store.js';
import type { SlackStandIn } from '../../bot/slack/stand-in/index.js';
import { standInClient } from './slack-harness.js';

export interface PublishedRuns {
  registry: RunbookRegistry;
  /** Started. */
  executor: RunExecutor;
  /** Not started: it follows the runs a test publishes. There once `publishTo` has resolved. */
  readonly publisher: RunMessages;
  publishTo(standIn: SlackStandIn): Promise<void>;
  /** Stops the publisher and the executor; the database stays the caller's. */
  stop(): Promise<void>;
}

export function runScriptedRunbooks(database: RunbookTestDatabase, runbooks: readonly AnyRunbook[]): PublishedRuns {
  const registry = createRunbookRegistry(runbooks);
  const executor = createRunExecutor({ store: database.store, registry, leaseMs: 2000, renewEveryMs: 200 });
  executor.start();
  let publisher: RunMessages | undefined;
  return {
    registry,
    executor,
    get publisher() {
      if (!publisher) throw new Error('no run messages yet: call publishTo(standIn) first');
      return publisher;
    },
    async publishTo(standIn) {
      await migrateRunMessageStore(database.pool);
      publisher = createRunMessagePublisher({
        client: standInClient(standIn),
        runs: database.store,
        registry,
        messages: createRunMessageStore({ pool: database.pool, instance: 'replica-a' }),
        pollMs: 100,
      });
    },
    async stop() {
      await publisher?.stop();
      await executor.stop();
    },
  };
}
