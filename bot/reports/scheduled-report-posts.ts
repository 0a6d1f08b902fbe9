/**
 * A scheduled report is posted once per job and due time, whichever replica runs it and however
 * often its run is tried again. A replica that dies after posting leaves its run abandoned; the
 * run-once retry (bot/schedules/) must not post the report a second time. Like the deployment
 * notices' ledger (bot/notices/notice-ledger.ts), a ledger in the bot's database keyed by the job
 * and the time it was due says what an earlier attempt did: the post is claimed before it is sent
 * and its ts recorded as soon as Slack gives it, before the charts.
 *
 * A claim whose ts never came (its sender died between sending and recording, a window of one
 * database write) cannot tell whether Slack has the message: the report is posted again, saying
 * so, since twice is better than a report that silently never arrives. So is a report whose
 * ledger cannot be read.
 */
import type { CommandDependencies } from '../../commands/dependencies.js';
import type { Reports } from '../../commands/ports.js';
import type { ResultDocument } from '../../commands/result.js';
import type { MetricsHistory } from '../metrics-history/index.js';
import { createReports } from './daily-report-service.js';
import { missingPartsOf } from './report-part.js';
import type { ReportPoster } from './report-posting.js';

/** One scheduled time of one job: what is posted once. */
export interface ScheduledPostKey {
  job: string;
  dueAt: Date;
  /** The run posting it now, for the ledger's record. */
  runId: string;
}

export type ReportPostClaim =
  /** Nobody posted it before: send it. */
  | { kind: 'claimed' }
  /** An earlier attempt posted it and Slack confirmed it. */
  | { kind: 'posted'; channel: string; ts: string; postedAt: Date }
  /** An earlier attempt claimed it and never recorded Slack's answer; this claim takes it over. */
  | { kind: 'unconfirmed'; channel: string; claimedAt: Date };

/** The ledger (bot/schedules/report-post-ledger.ts keeps it in PostgreSQL). */
export interface ReportPostLedger {
  claim(key: ScheduledPostKey, channel: string): Promise<ReportPostClaim>;
  /** Records Slack's ts of the claimed post. */
  confirm(key: ScheduledPostKey, ts: string): Promise<void>;
}

/** What became of a scheduled run's report, for its run record. */
export type ScheduledPostOutcome =
  | {
      kind: 'posted';
      channel: string;
      ts: string;
      /** The parts the report says are missing (a data source down); the rest was posted. */
      missing: string[];
      /** Posted although an earlier attempt may have been: why. */
      again?: string;
    }
  | { kind: 'posted-before'; channel: string; ts: string; postedAt: Date }
  | { kind: 'not-posted'; reason: string };

export const NO_REPORTS_CHANNEL = 'no reports channel is configured (channels.reports, else channels.ops, in ACGS_CONFIG)';

export interface ScheduledReports {
  /** The `Reports` port for this run's command: its posts go through the ledger. */
  reports: Reports;
  /** Once the command has run: what was posted, or why nothing was. */
  outcome(): ScheduledPostOutcome | undefined;
}

export function scheduledReports(options: { services: CommandDependencies; history: MetricsHistory; poster?: ReportPoster; ledger: ReportPostLedger }, key: ScheduledPostKey): ScheduledReports {
  let outcome: ScheduledPostOutcome | undefined;
  const poster = options.poster ? oncePoster(options.poster, options.ledger, key, (told) => (outcome = told)) : undefined;
  const reports = createReports({ services: options.services, history: options.history, ...(poster ? { poster } : {}) });
  // A report made without being posted is said so, rather than taken for posted.
  const noted = <K extends keyof Reports>(name: K): Reports[K] =>
    (async (asked: Parameters<Reports[K]>[0]) => {
      const answer = await reports[name](asked);
      outcome ??= { kind: 'not-posted', reason: !poster ? NO_REPORTS_CHANNEL : 'the report was not asked to be posted' };
      return answer;
    }) as Reports[K];
  return {
    reports: { daily: noted('daily'), weeklyPerformance: noted('weeklyPerformance'), security: noted('security'), capacity: noted('capacity') },
    outcome: () => outcome,
  };
}

function oncePoster(poster: ReportPoster, ledger: ReportPostLedger, key: ScheduledPostKey, tell: (outcome: ScheduledPostOutcome) => void): ReportPoster {
  return {
    channel: poster.channel,
    async post(report, hooks) {
      let claim: ReportPostClaim | undefined;
      let again: string | undefined;
      try {
        claim = await ledger.claim(key, poster.channel);
      } catch (error) {
        again = `the record of earlier posts could not be read (${(error as Error)?.message ?? String(error)})`;
      }
      if (claim?.kind === 'posted') {
        tell({ kind: 'posted-before', channel: claim.channel, ts: claim.ts, postedAt: claim.postedAt });
        return { channel: claim.channel, ts: claim.ts, charts: [], postedBefore: claim.postedAt };
      }
      let document: ResultDocument = report.document;
      if (claim?.kind === 'unconfirmed') {
        again = `an earlier attempt at ${claim.claimedAt.toISOString()} stopped before Slack's answer was recorded`;
        document = { ...document, footer: [document.footer, `Posted again: ${again}; it may be in this channel twice.`].filter(Boolean).join('\n') };
      }
      let confirmed = !claim;
      const confirm = async (ts: string) => {
        if (confirmed) return;
        confirmed = true;
        // The report is out: a record that cannot be written costs only a possible second post.
        await ledger.confirm(key, ts).catch(() => undefined);
      };
      const posted = await poster.post(
        { document, charts: report.charts },
        {
          async messagePosted(ts) {
            await confirm(ts);
            await hooks?.messagePosted?.(ts);
          },
        },
      );
      await confirm(posted.ts);
      tell({ kind: 'posted', channel: posted.channel, ts: posted.ts, missing: missingPartsOf(document.data), ...(again ? { again } : {}) });
      return posted;
    },
  };
}
