/**
 * Level 1's actions in PostgreSQL (migrations/…_level-one-actions.sql): each action is claimed
 * before it runs, one row per (alert, episode, attempt), so that two replicas that both saw an
 * alert fire act once; the guard rails read their history per service from here, so they hold
 * across replicas and restarts.
 */
import type pg from 'pg';

export type LevelOneOutcome = 'succeeded' | 'failed';

export interface LevelOneActionRecord {
  id: string;
  alertId: string;
  episode: Date;
  attempt: number;
  rule: string;
  service: string;
  command: string;
  claimedBy: string;
  claimedAt: Date;
  /** Null while it runs (or when the replica running it died). */
  outcome: LevelOneOutcome | null;
  finishedAt: Date | null;
  details: Record<string, unknown> | null;
}

/** What a replica claims: the action's identity and what it will run, and when it claims it. */
export type LevelOneClaim = Pick<LevelOneActionRecord, 'alertId' | 'episode' | 'attempt' | 'rule' | 'service' | 'command' | 'claimedBy'> & { at: Date };

export interface LevelOneClaims {
  /** The claimed row, or undefined when that attempt of that episode is claimed already (by anyone). */
  claim(claim: LevelOneClaim): Promise<LevelOneActionRecord | undefined>;
  finish(id: string, outcome: LevelOneOutcome, at: Date, details: Record<string, unknown>): Promise<void>;
  /** The attempts on one episode of an alert, oldest first. */
  ofEpisode(alertId: string, episode: Date): Promise<LevelOneActionRecord[]>;
  /** A service's actions claimed since a time, and its last `last` actions whenever they were, oldest first. */
  ofService(service: string, since: Date, last: number): Promise<LevelOneActionRecord[]>;
}

interface Row {
  id: string;
  alert_id: string;
  episode: Date;
  attempt: number;
  rule: string;
  service: string;
  command: string;
  claimed_by: string;
  claimed_at: Date;
  outcome: LevelOneOutcome | null;
  finished_at: Date | null;
  details: Record<string, unknown> | null;
}

const toRecord = (row: Row): LevelOneActionRecord => ({
  id: row.id,
  alertId: row.alert_id,
  episode: row.episode,
  attempt: row.attempt,
  rule: row.rule,
  service: row.service,
  command: row.command,
  claimedBy: row.claimed_by,
  claimedAt: row.claimed_at,
  outcome: row.outcome,
  finishedAt: row.finished_at,
  details: row.details,
});

export function createLevelOneClaims(pool: pg.Pool): LevelOneClaims {
  return {
    async claim(claim) {
      const { rows } = await pool.query<Row>(
        `INSERT INTO alert_level_one_actions (alert_id, episode, attempt, rule, service, command, claimed_by, claimed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (alert_id, episode, attempt) DO NOTHING RETURNING *`,
        [claim.alertId, claim.episode, claim.attempt, claim.rule, claim.service, claim.command, claim.claimedBy, claim.at],
      );
      return rows[0] ? toRecord(rows[0]) : undefined;
    },

    async finish(id, outcome, at, details) {
      await pool.query('UPDATE alert_level_one_actions SET outcome = $2, finished_at = $3, details = $4 WHERE id = $1 AND outcome IS NULL', [id, outcome, at, JSON.stringify(details)]);
    },

    async ofEpisode(alertId, episode) {
      const { rows } = await pool.query<Row>('SELECT * FROM alert_level_one_actions WHERE alert_id = $1 AND episode = $2 ORDER BY attempt', [alertId, episode]);
      return rows.map(toRecord);
    },

    async ofService(service, since, last) {
      const { rows } = await pool.query<Row>(
        `SELECT * FROM alert_level_one_actions WHERE id IN (
           SELECT id FROM alert_level_one_actions WHERE service = $1 AND claimed_at >= $2
           UNION SELECT id FROM (SELECT id FROM alert_level_one_actions WHERE service = $1 ORDER BY claimed_at DESC, id DESC LIMIT $3) recent
         ) ORDER BY claimed_at, id`,
        [service, since, last],
      );
      return rows.map(toRecord);
    },
  };
}
