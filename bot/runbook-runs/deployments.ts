/**
 * The bot's deployment records and deploy lock (runbooks/deploy/release-records.ts) on its
 * database, keyed by the stack it controls: the commands' Deployments port and the runbooks'
 * `deployments` port are the same object. A service with no record yet gets its initial one from
 * its /health version the first time `releases` (or the bot's start) looks.
 */
import type pg from 'pg';
import type { CommandDependencies } from '../../commands/dependencies.js';
import type { DeploymentRecords } from '../../runbooks/engine/ports.js';
import { createReleaseRecords, migrateReleaseRecords, observeInitialVersion, releaseRepository } from '../../runbooks/deploy/index.js';
import type { Stack } from '../../services/stack/stack.js';

export interface BotDeploymentsOptions {
  /** The bot's database (the trail's pool), where the run store is: a lock's holder is a run. */
  pool: pg.Pool;
  /** With `running`, a service's first record names what it runs (its image or checkout): a rollback can go back to it. */
  stack: Pick<Stack, 'kind' | 'description'> & Partial<Pick<Stack, 'running'>>;
  services: Pick<CommandDependencies, 'policyEngine' | 'auditEngine' | 'evolutionOversight' | 'sandboxController'>;
  env: { ACGS_RELEASE_REPO?: string | undefined };
  /** Migrate the tables (the bot does; the CLI too, as it does the checklists'). */
  migrate?: boolean;
  log?(line: string): void;
}

export async function openBotDeployments(options: BotDeploymentsOptions): Promise<DeploymentRecords> {
  if (options.migrate !== false) await migrateReleaseRecords(options.pool, options.log);
  const { services } = options;
  return createReleaseRecords({
    pool: options.pool,
    stack: options.stack,
    observe: observeInitialVersion({
      health: {
        'policy-engine': () => services.policyEngine.health(),
        'audit-engine': () => services.auditEngine.health(),
        'evolution-oversight': () => services.evolutionOversight.health(),
        'sandbox-controller': () => services.sandboxController.health(),
      },
      repository: releaseRepository(options.env),
      ...(options.stack.running ? { artifact: (service: string) => options.stack.running!(service) } : {}),
    }),
  });
}
