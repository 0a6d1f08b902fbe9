/**
 * The post-incident review kept in PostgreSQL (`incident_reviews`), one per incident: the first
 * one kept stays. A close seen twice (a double click, two replicas, a retry after a crash) keeps
 * one review and tells the caller whether it was the one that kept it, so only that caller posts.
 */
import type pg from 'pg';

export interface StoredReview {
  incidentId: string;
  fileName: string;
  markdown: string;
  generatedAt: Date;
  generatedBy: string;
}

export interface ReviewStore {
  /** Keeps the review unless the incident has one; answers the one kept and whether it is this. */
  keep(review: StoredReview): Promise<{ review: StoredReview; created: boolean }>;
  find(incidentId: string): Promise<StoredReview | undefined>;
}

interface ReviewRow {
  incident_id: string;
  file_name: string;
  markdown: string;
  generated_at: Date;
  generated_by: string;
}

const COLUMNS = 'incident_id::text AS incident_id, file_name, markdown, generated_at, generated_by';

const stored = (row: ReviewRow): StoredReview => ({ incidentId: row.incident_id, fileName: row.file_name, markdown: row.markdown, generatedAt: row.generated_at, generatedBy: row.generated_by });

export function createReviewStore(pool: pg.Pool): ReviewStore {
  const find = async (incidentId: string) => {
    const { rows } = await pool.query<ReviewRow>(`SELECT ${COLUMNS} FROM incident_reviews WHERE incident_id = $1`, [incidentId]);
    return rows[0] ? stored(rows[0]) : undefined;
  };
  return {
    async keep(review) {
      const { rows } = await pool.query<ReviewRow>(
        `INSERT INTO incident_reviews (incident_id, file_name, markdown, generated_at, generated_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (incident_id) DO NOTHING RETURNING ${COLUMNS}`,
        [review.incidentId, review.fileName, review.markdown, review.generatedAt, review.generatedBy],
      );
      if (rows[0]) return { review: stored(rows[0]), created: true };
      // The other writer committed before our insert gave way, so its row is there to read.
      const kept = await find(review.incidentId);
      if (!kept) throw new Error(`the review of incident ${review.incidentId} was neither kept nor found`);
      return { review: kept, created: false };
    },
    find,
  };
}
