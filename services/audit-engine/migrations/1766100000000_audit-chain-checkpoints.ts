/**
 * Signed checkpoints of the chain (checkpoint-ledger.ts), in the table shared with the bot's trail
 * (services/kit/hash-chain/chain-schema.ts). A .sql file before: node-pg-migrate knows a migration
 * by its name without the extension, so a database that ran the .sql has run this.
 */
import { checkpointsMigration } from '../../kit/hash-chain/chain-schema.js';
import { AUDIT_CHAIN_TABLES } from '../hash-chain.js';

export const { up, down } = checkpointsMigration(AUDIT_CHAIN_TABLES);
