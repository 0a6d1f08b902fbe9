/**
 * The post-incident review at the close and on request (issue 16): written with reviewDocument
 * from the store's records, kept once in PostgreSQL (review-store.ts), and handed to the Slack
 * side to post in the incident's channel. Slack-free: bot/main.ts hands in the poster.
 *
 * The close seam never throws: the close is done by then, and its answer must not turn into an
 * error over a review. A review that could not be written then is written when it is first
 * asked for (`incident review`), from the same records, so nothing is lost.
 */
import { IncidentRequestError, type IncidentInfo, type IncidentReviewInfo } from '../../commands/ports.js';
import type { ResultDocument } from '../../commands/result.js';
import { incidentInfo } from './incident-commands.js';
import { IncidentError } from './incident-input.js';
import { reviewDocument, reviewFileName, type ReviewRecords } from './review-document.js';
import { readReviewRecords, type ReviewSource } from './review-records.js';
import type { ReviewStore, StoredReview } from './review-store.js';
import { reviewSummary } from './review-summary.js';

/** What the Slack side posts: the file and its short form, in the incident's channel. */
export interface ReviewToPost {
  channelId: string;
  incidentKey: string;
  fileName: string;
  /** The file's title in Slack. */
  title: string;
  markdown: string;
  summary: ResultDocument;
}

export interface IncidentReviewsOptions {
  store: ReviewSource;
  reviews: ReviewStore;
  /** The config's `timezone:`. */
  timeZone: string;
  /** Posts a review just kept; without it (the CLI, no Slack) the review is only kept. */
  post?(review: ReviewToPost): Promise<unknown>;
  /** A review that could not be written or posted at the close. */
  log?(message: string, error: unknown): void;
  now?(): Date;
}

export interface IncidentReviews {
  /** The port's `closed` seam: keeps the review once and posts it when this call kept it. */
  closed(incident: IncidentInfo): Promise<void>;
  /** The port's `review`: the kept one, else a draft (not closed) or the one kept now (closed). */
  review(key: string, asker: string, at: Date): Promise<IncidentReviewInfo>;
}

export function incidentReviews(options: IncidentReviewsOptions): IncidentReviews {
  const now = options.now ?? (() => new Date());
  const write = (records: ReviewRecords, generatedAt: Date, generatedBy: string): StoredReview => ({
    incidentId: records.incident.id,
    fileName: reviewFileName(records.incident),
    markdown: reviewDocument(records, { generatedAt, timeZone: options.timeZone }),
    generatedAt,
    generatedBy,
  });
  const summaryOf = (records: ReviewRecords) => reviewSummary(records, { timeZone: options.timeZone });

  return {
    async closed(incident) {
      try {
        const records = await readReviewRecords(options.store, incident.key);
        const { review, created } = await options.reviews.keep(write(records, now(), incident.closedBy ?? records.incident.closedBy ?? 'the bot'));
        // Another replica (or an earlier call) kept it and posts it: one file per incident.
        if (!created || !options.post) return;
        const channelId = records.incident.channelId;
        if (!channelId) return;
        await options.post({ channelId, incidentKey: incident.key, fileName: review.fileName, title: `${incident.key} post-incident review`, markdown: review.markdown, summary: summaryOf(records) });
      } catch (error) {
        options.log?.(`the review of ${incident.key} could not be written or posted at its close; \`incident review ${incident.key}\` writes it from the records`, error);
      }
    },

    async review(key, asker, at) {
      let records: ReviewRecords;
      try {
        records = await readReviewRecords(options.store, key);
      } catch (error) {
        if (error instanceof IncidentError) throw new IncidentRequestError(error.code, error.message);
        throw error;
      }
      const info = incidentInfo(records.incident);
      const summary = summaryOf(records);
      if (records.incident.state !== 'closed') {
        const draft = write(records, at, asker);
        return { incident: info, draft: true, fileName: draft.fileName, markdown: draft.markdown, generatedAt: at, generatedBy: asker, summary };
      }
      const kept = (await options.reviews.find(records.incident.id)) ?? (await options.reviews.keep(write(records, at, records.incident.closedBy ?? asker))).review;
      return { incident: info, draft: false, fileName: kept.fileName, markdown: kept.markdown, generatedAt: kept.generatedAt, generatedBy: kept.generatedBy, summary };
    },
  };
}
