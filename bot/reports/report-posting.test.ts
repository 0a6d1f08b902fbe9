/**
 * The words around a posted report (pure): the answer names where it went once, and the note that
 * points at it, whose title already says where, does not say it again in its footer.
 */
import { describe, expect, it } from 'vitest';
import type { ResultDocument } from '../../commands/result.js';
import { postReport, reportPostedNote, type PostedReport, type ReportPoster } from './report-posting.js';

const REPORTS = 'C0ACGSREPORTS';
const OPS = 'C0ACGSOPS01';
const made: ResultDocument = { title: 'Daily health report', tone: 'warn', summary: '1 thing needs a human today', blocks: [], footer: '2026-12-06 06:00 to 2026-12-07 06:00 UTC' };

const posterAnswering = (posted: Omit<PostedReport, 'channel' | 'ts'>): ReportPoster => ({ channel: REPORTS, post: async () => ({ channel: REPORTS, ts: '1765000000.000100', ...posted }) });

describe('the footer of a posted report', () => {
  it('names the channel once, by its name when Slack gave it, else by its ID', async () => {
    const named = await postReport({ document: made, charts: [] }, posterAnswering({ channelName: 'acgs-reports', charts: [{ filename: 'latency.png', as: 'image' }] }));
    expect(named.document.footer).toBe('2026-12-06 06:00 to 2026-12-07 06:00 UTC\nPosted to #acgs-reports with 1 chart.');
    const unnamed = await postReport({ document: made, charts: [] }, posterAnswering({ charts: [] }));
    expect(unnamed.document.footer).toBe(`2026-12-06 06:00 to 2026-12-07 06:00 UTC\nPosted to channel ${REPORTS} with 0 charts.`);
  });

  it('leaves the footer alone when there is nowhere to post', async () => {
    expect((await postReport({ document: made, charts: [] })).document).toEqual(made);
  });
});

describe('the note pointing at a posted report', () => {
  it('says where in its title and not again in its footer, asked in another channel or in the reports channel', async () => {
    const { document, posted } = await postReport(
      { document: made, charts: [] },
      posterAnswering({ channelName: 'acgs-reports', permalink: 'https://acgs.slack.com/archives/C0ACGSREPORTS/p1765000000000100', charts: [{ filename: 'latency.png', as: 'text' }] }),
    );
    for (const askedIn of [OPS, REPORTS]) {
      const note = reportPostedNote('Daily health report', document, posted!, askedIn);
      expect(note.footer).toBe('2026-12-06 06:00 to 2026-12-07 06:00 UTC\nPosted with 1 chart (1 as text: Slack refused the upload).');
      expect(`${note.title}\n${note.footer}`.match(/acgs-reports|C0ACGSREPORTS/g) ?? []).toHaveLength(askedIn === OPS ? 1 : 0);
    }
    expect(reportPostedNote('Daily health report', document, posted!, OPS).title).toBe('Daily health report posted to #acgs-reports');
  });

  it('names the channel by its ID in the title when Slack did not give its name, still once', async () => {
    const { document, posted } = await postReport({ document: made, charts: [] }, posterAnswering({ charts: [] }));
    const note = reportPostedNote('Daily health report', document, posted!, OPS);
    expect(note.title).toBe(`Daily health report posted to channel ${REPORTS}`);
    expect(note.footer).not.toContain(REPORTS);
  });
});
