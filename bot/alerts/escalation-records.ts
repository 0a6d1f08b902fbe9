/**
 * Which levels each alert episode reached, in the bot's PostgreSQL (`alert_escalations`). A level
 * is claimed by inserting its row: the primary key (alert, episode, level) lets one insert land,
 * so of two replicas checking at once only one escalates. Its own migrations (after the alert
 * store's, whose `alerts` it references), so that the escalation tables come and go with it.
 */
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { migrate } from '../../services/kit/postgres.js';
import type { EscalationLevel } from './escalation-matrix.js';
import type { ReachedLevel } from './escalation-judgement.js';

export const ESCALATION_MIGRATIONS_DIR = fileURLToPath(new URL('./escalation-migrations', import.meta.url));
export const ESCALATION_MIGRATIONS_TABLE = 'bot_alert_escalations_migrations';
export const ESCALATION_TABLES = ['alert_escalations'] as const;

/** Run after migrateAlertStore: the table references its alerts. */
export function migrateEscalationRecords(pool: pg.Pool, log?: (message: string) => void): Promise<string[]> {
  return migrate(pool, { directory: ESCALATION_MIGRATIONS_DIR, table: ESCALATION_MIGRATIONS_TABLE, ...(log ? { log } : {}) });
}

/** An alert's episode: the alert and when the episode fired. */
export interface Episode {
  alertId: string;
  firedAt: Date;
}

export interface EscalationRecords {
  /** The levels each episode reached, by alert id (episodes with none are left out). */
  reached(episodes: readonly Episode[]): Promise<Map<string, ReachedLevel[]>>;
  /** Claims a level of an episode; false when it was reached already (by this replica or another). */
  claim(episode: Episode, level: EscalationLevel, at: Date, reason: string): Promise<boolean>;
}

export function createEscalationRecords(pool: pg.Pool): EscalationRecords {
  return {
    async reached(episodes) {
      const byAlert = new Map<string, ReachedLevel[]>();
      if (episodes.length === 0) return byAlert;
      const { rows } = await pool.query<{ alert_id: string; level: number; at: Date }>(
        `SELECT e.alert_id, e.level, e.at FROM alert_escalations e
         JOIN unnest($1::bigint[], $2::timestamptz[]) AS wanted (alert_id, episode) ON wanted.alert_id = e.alert_id AND wanted.episode = e.episode
         ORDER BY e.alert_id, e.level`,
        [episodes.map((episode) => episode.alertId), episodes.map((episode) => episode.firedAt)],
      );
      for (const row of rows) {
        const id = String(row.alert_id);
        byAlert.set(id, [...(byAlert.get(id) ?? []), { level: row.level as EscalationLevel, at: row.at }]);
      }
      return byAlert;
    },

    async claim(episode, level, at, reason) {
      const inserted = await pool.query(
        'INSERT INTO alert_escalations (alert_id, episode, level, at, reason) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
        [episode.alertId, episode.firedAt, level, at, reason],
      );
      return inserted.rowCount === 1;
    },
  };
}
