/**
 * The weekly security report for the bot: its sources taken from the command dependencies (the
 * bot's trail, the Audit Engine), its chart rendered, and, with a poster, the report posted to
 * the reports channel. The `Reports` port's `security` (daily-report-service.ts's createReports).
 */
import type { CommandDependencies } from '../../commands/dependencies.js';
import { MAX_QUERY_LIMIT, type AuditLogRecord, type AuditLogVerification } from '../../commands/ports.js';
import type { ResultDocument } from '../../commands/result.js';
import { MAX_LIST_LIMIT, type AuditEvent } from '../../services/audit-engine/contract.js';
import { auditEngineChain } from './audit-chain-status.js';
import type { AuditChainStatus } from './daily-report.js';
import { postReport, type PostedReport, type ReportPoster } from './report-posting.js';
import { renderSecurityReportCharts } from './security-report-charts.js';
import { securityReportDocument } from './security-report-document.js';
import { gatherSecurityReport, type SecurityRecords, type SecurityReportSources } from './security-report.js';
import { AUTH_REFUSED_EVENT } from '../../services/kit/auth-refused-event.js';

/**
 * Records of one kind the report reads at most: a week of a busy bot's commands fits many times
 * over, and a flood (someone scripting refused commands) should cost a note, not minutes of paging.
 */
export const SECURITY_REPORT_READ_LIMIT = 10_000;

export function securityReportSources(services: CommandDependencies): SecurityReportSources {
  const trail = () => {
    if (services.trail) return services.trail;
    throw new Error(services.trailProblem ?? "the bot's audit trail is not set up in this process");
  };
  return {
    async trail({ kind, since, command }) {
      const reader = trail();
      const records: AuditLogRecord[] = [];
      let beforeSequence: number | undefined;
      for (;;) {
        const page = await reader.query({ kind, since, limit: MAX_QUERY_LIMIT, ...(command ? { command } : {}), ...(beforeSequence !== undefined ? { beforeSequence } : {}) });
        records.push(...page.records);
        if (!page.more || page.records.length === 0) return { records, cut: false };
        if (records.length >= SECURITY_REPORT_READ_LIMIT) return { records, cut: true };
        beforeSequence = page.records[page.records.length - 1]!.sequence;
      }
    },
    trailChain: async () => trailChainStatus(await trail().verify({ scope: 'checkpoint' })),
    auditChain: () => auditEngineChain(services),
    violations: (since) => auditEngineEvents(services, 'safety_violation', since),
    serviceRefusals: (since) => auditEngineEvents(services, AUTH_REFUSED_EVENT, since),
  };
}

/** The Audit Engine's events of one type since `since`, page by page, up to the report's reading limit. */
async function auditEngineEvents(services: CommandDependencies, eventType: string, since: Date): Promise<SecurityRecords<AuditEvent>> {
  const events: AuditEvent[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await services.auditEngine.listEvents({ event_type: eventType, since: since.toISOString(), limit: MAX_LIST_LIMIT, ...(cursor ? { cursor } : {}) });
    events.push(...page.events);
    if (!page.next_cursor) return { records: events, cut: false };
    if (events.length >= SECURITY_REPORT_READ_LIMIT) return { records: events, cut: true };
    cursor = page.next_cursor;
  }
}

/** `audit verify`'s answer in the report's words; records lost (a full disk) count as a break a human must look at. */
function trailChainStatus(verified: AuditLogVerification): AuditChainStatus {
  if (!verified.valid) {
    const bad = verified.firstBad;
    return { valid: false, detail: bad ? `first bad record #${bad.sequence} (${bad.check}): ${bad.problem}` : 'reported broken without naming a record' };
  }
  const notes = verified.notes?.length ? ` · ${verified.notes.join(' · ')}` : '';
  return { valid: true, detail: `intact: ${verified.checked} records checked up to #${verified.head.sequence}${notes}` };
}

/** Gathers, renders and (with a poster) posts the weekly security report. */
export async function makeSecurityReport(sources: SecurityReportSources, poster?: ReportPoster, now: Date = new Date()): Promise<{ document: ResultDocument; posted?: PostedReport }> {
  const report = await gatherSecurityReport(sources, now);
  const charts = await renderSecurityReportCharts(report);
  return postReport({ document: securityReportDocument(report, { charts: charts.map((chart) => chart.filename) }), charts }, poster);
}
