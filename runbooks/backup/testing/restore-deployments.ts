/**
 * The deployment records a restore test's runs need, on the test's run database: the restore
 * takes the stack's deploy lock (restore-lock.ts), kept in these tables, as the bot keeps them.
 */
import type pg from 'pg';
import type { Stack } from '../../../services/stack/stack.js';
import { createReleaseRecords, migrateReleaseRecords } from '../../deploy/release-records.js';
import type { DeploymentRecords } from '../../engine/ports.js';

export async function restoreDeployments(pool: pg.Pool, stack: Pick<Stack, 'kind' | 'description'>): Promise<DeploymentRecords> {
  await migrateReleaseRecords(pool);
  return createReleaseRecords({ pool, stack });
}
