/** The deploy runbooks' records and lock, as the bot wires them. */
export { createReleaseRecords, migrateReleaseRecords, stackKey, RELEASE_RECORDS_MIGRATIONS_TABLE, RELEASE_RECORDS_TABLES } from './release-records.js';
export { observeInitialVersion, releaseRepository, repositoryHead } from './initial-versions.js';
export { deploySettingsFromEnv, DeploySettingsError, DEFAULT_DEPLOY_SETTINGS, type DeploySettings } from './deploy-settings.js';
import { deployRunbook } from './deploy.js';
import { hotfixRunbook } from './hotfix.js';
import { rollbackRunbook } from './rollback.js';
import { rollbackRestoreRunbook } from './rollback-restore.js';

export const deployRunbooks = [deployRunbook, hotfixRunbook, rollbackRunbook, rollbackRestoreRunbook] as const;
