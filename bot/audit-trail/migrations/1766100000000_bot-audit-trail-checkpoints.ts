/**
 * Signed checkpoints of the trail (trail-checkpoints.ts), in the table shared with the Audit Engine
 * (services/kit/hash-chain/chain-schema.ts). A .sql file before: node-pg-migrate knows a migration
 * by its name without the extension, so a database that ran the .sql has run this.
 */
import { checkpointsMigration } from '../../../services/kit/hash-chain/chain-schema.js';
import { TRAIL_TABLES } from '../trail-chain.js';

export const { up, down } = checkpointsMigration(TRAIL_TABLES);
