/**
 * The trail's local spool (README.md, "PostgreSQL unreachable"): `trail.jsonl` in a directory
 * this process claims, one record a line, flushed before an append returns, for the records
 * PostgreSQL did not take. Beside it `unreadable.jsonl` (lines that could not be read back) and
 * `unstorable.jsonl` (records PostgreSQL refused as data), so neither blocks the records behind it.
 */
import { join } from 'node:path';
import { type JsonLineSpool, SpoolWriteError, appendWholeLine, openJsonLineSpool } from '../../services/kit/json-line-spool.js';
import { redactText } from './redaction.js';
import { claimSpoolDirectory } from './spool-lock.js';
import { AuditTrailUnavailableError, describeFailure } from './trail-failures.js';
import type { LossLedger } from './trail-losses.js';
import { type PendingRecord, PendingRecordSchema } from './trail-record.js';

export interface TrailSpoolLog {
  error(obj: object, msg: string): void;
}

export interface TrailSpool extends Pick<JsonLineSpool<PendingRecord>, 'size' | 'peek' | 'acknowledge'> {
  /**
   * Flushes the record to the spool before it returns. When the spool cannot be written either
   * (a full disk while PostgreSQL is away), the record is counted as lost and this throws
   * `AuditTrailUnavailableError` saying why; `databaseProblem` is why it is not in the chain.
   */
  keep(record: PendingRecord, databaseProblem: string | undefined): void;
  /** Keeps a record PostgreSQL refused as data aside, visibly, in `unstorable.jsonl`. */
  setAside(record: PendingRecord, error: unknown): void;
  /** Records set aside by this process; should stay 0. */
  unstorable(): number;
  close(): void;
}

/** Claims the directory (one process each, spool-lock.ts) and opens the spool in it. */
export function openTrailSpool(options: { dir: string; losses: LossLedger; log?: TrailSpoolLog | undefined }): TrailSpool {
  const { dir, losses, log } = options;
  const release = claimSpoolDirectory(dir);
  let spool: JsonLineSpool<PendingRecord>;
  try {
    spool = openJsonLineSpool({
      dir,
      name: 'trail',
      parse: (value) => PendingRecordSchema.parse(value),
      onUnreadable: (line) => {
        appendWholeLine(join(dir, 'unreadable.jsonl'), line);
        log?.error({ bytes: line.length }, 'audit trail: a spool line could not be read back; kept in unreadable.jsonl');
      },
      syncEveryAppend: true,
    });
  } catch (error) {
    release();
    throw error;
  }
  let unstorable = 0;
  return {
    size: () => spool.size(),
    peek: (count) => spool.peek(count),
    acknowledge: (count) => spool.acknowledge(count),
    keep(record, databaseProblem) {
      try {
        spool.append(record);
      } catch (error) {
        // Stored nowhere: counted, logged, and the caller told.
        const problem = error instanceof SpoolWriteError ? error.problem : redactText((error as Error)?.message ?? String(error));
        const reason = `${databaseProblem ?? 'PostgreSQL is not available'}, and the local spool could not be written (${problem})`;
        throw new AuditTrailUnavailableError(losses.lost(record, reason), { cause: error });
      }
    },
    setAside(record, error) {
      appendWholeLine(join(dir, 'unstorable.jsonl'), `${JSON.stringify({ record, error: describeFailure(error) })}\n`);
      unstorable += 1;
      log?.error({ key: record.idempotency_key, reason: describeFailure(error) }, 'audit trail: PostgreSQL refused a record as data; kept in unstorable.jsonl');
    },
    unstorable: () => unstorable,
    close() {
      spool.close();
      release();
    },
  };
}
