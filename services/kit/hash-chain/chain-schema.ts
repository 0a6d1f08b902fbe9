/**
 * The tables of a hash-chained log in PostgreSQL, written once for every chain (the Audit Engine's
 * events, the bot's trail): the records, the head row, the triggers that refuse to change history,
 * the signed checkpoints. Each chain's migrations call these with its names and its own record
 * columns, and its owner/runtime role split is derived from the same names.
 *
 * These functions are migrations: what they write for an existing chain must never change, or
 * databases created before and after would differ. A new kind of change is a new migration.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import type { RestrictionPlan } from '../database-roles.js';

/** Where one chain keeps its records; trusted constants, never input. */
export interface HashChainTables {
  /** The records, one row each: `audit_events`, `bot_audit_trail`. */
  records: string;
  /** The single row holding the last sequence and hash: `audit_chain_head`, `bot_audit_trail_head`. */
  head: string;
  /** The signed checkpoints (services/audit-engine/checkpoint-ledger.ts). */
  checkpoints: string;
  /** The hash column of the records and of the head: `chain_hash`, `hash`. */
  hashColumn: string;
  /** What one record is called in the refusal's hint (`Audit <noun>s are never changed ...`): `event`, `record`. */
  recordNoun: string;
}

/** A node-pg-migrate migration (a migration file exports its `up` and `down`), and its SQL. */
export interface SqlMigration {
  up(pgm: MigrationBuilder): void;
  down(pgm: MigrationBuilder): void;
  sql: { up: string; down: string };
}

function sqlMigration(up: string, down: string): SqlMigration {
  return { up: (pgm) => pgm.sql(up), down: (pgm) => pgm.sql(down), sql: { up, down } };
}

/** The trigger functions of a chain (they take no arguments). */
export function chainFunctions(tables: HashChainTables): { rejectChange: string; headOnlyForward: string } {
  return { rejectChange: `${tables.records}_reject_change`, headOnlyForward: `${tables.head}_only_forward` };
}

/** `<table>_<rowTrigger>` and `<table>_no_truncate`: `guard` runs before every UPDATE, DELETE and TRUNCATE. */
function guardTriggers(table: string, rowTrigger: string, guard: string): string {
  return `CREATE TRIGGER ${table}_${rowTrigger}
  BEFORE UPDATE OR DELETE ON ${table}
  FOR EACH ROW EXECUTE FUNCTION ${guard}();

CREATE TRIGGER ${table}_no_truncate
  BEFORE TRUNCATE ON ${table}
  FOR EACH STATEMENT EXECUTE FUNCTION ${guard}();`;
}

/**
 * The chain's first migration: `recordsTable` (the chain's own `CREATE TABLE` of the records and
 * its indexes), then the head row, and triggers that refuse UPDATE, DELETE and TRUNCATE of records
 * and every move of the head but forward.
 */
export function chainTablesMigration(tables: HashChainTables, recordsTable: string): SqlMigration {
  const { records, head, hashColumn, recordNoun } = tables;
  const { rejectChange, headOnlyForward } = chainFunctions(tables);
  const up = `${recordsTable.trim()}

-- One row: the last record. Writers lock it (SELECT ... FOR UPDATE), which makes them take turns
-- across processes, and verify uses it to notice records deleted from the end of the chain.
CREATE TABLE ${head} (
  id         smallint PRIMARY KEY DEFAULT 1 CONSTRAINT ${head}_single_row CHECK (id = 1),
  sequence   bigint NOT NULL,
  ${hashColumn.padEnd(10)} text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION ${rejectChange}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '${records} is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'Audit ${recordNoun}s are never changed or removed; append a correcting ${recordNoun} instead.';
END;
$$;

${guardTriggers(records, 'append_only', rejectChange)}

CREATE FUNCTION ${headOnlyForward}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' OR NEW.sequence <= OLD.sequence THEN
    RAISE EXCEPTION '${head} only moves forward: % is not allowed', TG_OP
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$;

${guardTriggers(head, 'forward_only', headOnlyForward)}
`;
  const down = `DROP TABLE ${head};
DROP TABLE ${records};
DROP FUNCTION ${headOnlyForward}();
DROP FUNCTION ${rejectChange}();
`;
  return sqlMigration(up, down);
}

/**
 * The signed checkpoints of the chain: the head signed with a key kept outside the database, and
 * the (sequence, id, hash) of every record since the checkpoint before. Whoever owns the tables
 * can rewrite records and recompute the hashes, but not sign a matching checkpoint. Append-only,
 * like the records.
 */
export function checkpointsMigration(tables: HashChainTables): SqlMigration {
  const { checkpoints } = tables;
  const { rejectChange } = chainFunctions(tables);
  const up = `CREATE TABLE ${checkpoints} (
  sequence   bigint PRIMARY KEY CONSTRAINT ${checkpoints}_sequence_positive CHECK (sequence > 0),
  checkpoint jsonb NOT NULL,
  records    jsonb NOT NULL,
  stored_at  timestamptz NOT NULL DEFAULT now()
);

${guardTriggers(checkpoints, 'append_only', rejectChange)}
`;
  return sqlMigration(up, `DROP TABLE ${checkpoints};\n`);
}

/**
 * What the runtime role of a chain may do when an owner role migrates: append and read records and
 * checkpoints, move the head (forward only: its trigger), read the migrations bookkeeping tables
 * (REFERENCES too: node-pg-migrate finds a table's primary key in information_schema, which shows
 * it only with a privilege other than SELECT; harmless, the role cannot create a table to refer
 * from). It owns nothing of the chain, so it cannot switch a trigger off.
 */
export function chainRestrictionPlan(
  tables: HashChainTables,
  migrationsTable: string,
  /** A database's other bookkeeping tables, and the grants of its other tables. */
  others: { migrationsTables?: readonly string[]; grants?: RestrictionPlan['grants'] } = {},
): RestrictionPlan {
  const chainTables = [tables.records, tables.head, tables.checkpoints, migrationsTable];
  const { rejectChange, headOnlyForward } = chainFunctions(tables);
  return {
    ownedTables: chainTables,
    ownedFunctions: [rejectChange, headOnlyForward],
    revokeAllOn: chainTables,
    grants: [
      { privileges: 'SELECT, INSERT', tables: [tables.records, tables.checkpoints] },
      { privileges: 'SELECT, UPDATE', tables: [tables.head] },
      { privileges: 'SELECT, REFERENCES', tables: [migrationsTable, ...(others.migrationsTables ?? [])] },
      ...(others.grants ?? []),
    ],
  };
}
