/**
 * The weekly security report as a result document: what needs a human first (a broken chain, a
 * break-glass use, a spike of failed authentication), then one section per part; a part that
 * could not be gathered says what is missing in its place. `data` is the report itself, for
 * `npx acgs report security --json`.
 */
import { formatTimestamp } from '../../commands/format.js';
import { worstTone, type ResultBlock, type ResultDocument, type Tone } from '../../commands/result.js';
import type { AuditChainStatus } from './daily-report.js';
import { needsBlock, reportSections, things } from './report-document-kit.js';
import type { SecurityReport, Tally } from './security-report.js';

/** Rows of a by-reason or by-who table; the rest are summed in one last row. */
const TALLY_ROWS = 10;

export function securityReportDocument(report: SecurityReport, options: { charts?: string[] } = {}): ResultDocument {
  const { blocks, tones, section } = reportSections();
  blocks.push(needsBlock('Needs a human', report.needs_a_human, 'nothing this week'));
  const cutNote = (cut: boolean, what: string): ResultBlock[] => (cut ? [{ type: 'text', text: `More ${what} than the report reads; the figures are of the newest it read (\`audit\` shows them all).` }] : []);

  section('Refused commands', report.refused, (refused) => {
    if (refused.total === 0) return { tone: 'ok', blocks: [{ type: 'text', text: 'No command was refused this week.' }, ...cutNote(refused.cut, 'commands')] };
    return {
      tone: 'info',
      blocks: [
        { type: 'text', text: `${refused.total} refused command${refused.total === 1 ? '' : 's'} this week.` },
        { type: 'table', columns: ['Reason', 'Refused'], rows: tallyRows(refused.by_reason) },
        { type: 'table', columns: ['Who', 'Refused'], rows: tallyRows(refused.by_actor) },
        ...cutNote(refused.cut, 'commands'),
      ],
    };
  });
  section('Failed authentication', report.failed_authentication, (failed) => {
    if (failed.total === 0) return { tone: 'ok', blocks: [{ type: 'text', text: 'No failed authentication attempt was recorded this week.' }, ...cutNote(failed.cut, 'attempts')] };
    return {
      tone: failed.spikes.length > 0 ? 'fail' : 'warn',
      blocks: [{ type: 'text', text: `${failed.total} failed attempt${failed.total === 1 ? '' : 's'} this week.` }, { type: 'table', columns: ['Where', 'Attempts'], rows: tallyRows(failed.by_source) }, ...cutNote(failed.cut, 'attempts')],
    };
  });
  section('Refused service and admin tokens', report.service_refusals, (refusals) => {
    if (refusals.total === 0) return { tone: 'ok', blocks: [{ type: 'text', text: 'No service refused a service or admin token this week.' }, ...cutNote(refusals.cut, 'refusals')] };
    return {
      tone: refusals.spikes.length > 0 ? 'fail' : 'warn',
      blocks: [
        { type: 'text', text: `${refusals.total} request${refusals.total === 1 ? '' : 's'} with a wrong or missing token refused by the services this week.` },
        { type: 'table', columns: ['Service and token', 'Refused'], rows: tallyRows(refusals.by_source) },
        ...cutNote(refusals.cut, 'refusals'),
      ],
    };
  });
  section('Break-glass', report.break_glass, ({ uses, cut }) => {
    if (uses.length === 0) return { tone: 'ok', blocks: [{ type: 'text', text: 'Nobody broke the glass this week.' }] };
    return {
      tone: 'warn',
      blocks: [{ type: 'table', columns: ['When', 'Who', 'Command', 'Reason'], rows: uses.map((use) => [formatTimestamp(use.at), use.actor ?? '?', use.command ?? '?', use.reason ?? '']) }, ...cutNote(cut, 'break-glass uses')],
    };
  });
  section('Approvals', report.approvals, ({ by_outcome, cut }) => {
    if (by_outcome.length === 0) return { tone: 'ok', blocks: [{ type: 'text', text: 'No approval request ended this week.' }] };
    return { tone: 'info', blocks: [{ type: 'fields', fields: by_outcome.map((one) => ({ label: one.name, value: String(one.count) })) }, ...cutNote(cut, 'approval records')] };
  });
  section('Audit Engine chain', report.audit_engine_chain, (chain) => chainSection('Audit Engine chain', chain));
  section("Bot's audit trail", report.bot_trail_chain, (chain) => chainSection("Bot's audit trail", chain));
  section('Safety violations', report.violations, (violations) => {
    if (violations.total === 0) return { tone: 'ok', blocks: [{ type: 'text', text: 'No safety violation this week.' }] };
    return {
      tone: 'warn',
      blocks: [{ type: 'text', text: `${violations.total} safety violation${violations.total === 1 ? '' : 's'} this week.` }, { type: 'table', columns: ['Kind', 'Violations'], rows: tallyRows(violations.by_kind) }, ...cutNote(violations.cut, 'violations')],
    };
  });
  section('Strict mode and lockdown', report.mode_changes, ({ changes, cut }) => {
    if (changes.length === 0) return { tone: 'ok', blocks: [{ type: 'text', text: 'Neither strict mode nor lockdown changed this week.' }] };
    return { tone: 'info', blocks: [{ type: 'table', columns: ['When', 'Change', 'Who'], rows: changes.map((change) => [formatTimestamp(change.at), change.change, change.actor ?? '?']) }, ...cutNote(cut, 'changes')] };
  });

  return {
    title: 'Weekly security report',
    tone: worstTone([...tones, report.needs_a_human.length > 0 ? 'warn' : 'ok']),
    summary: report.needs_a_human.length === 0 ? 'Nothing needs a human this week.' : `${things(report.needs_a_human.length)} a human this week.`,
    blocks,
    footer: [`${formatTimestamp(report.from)} to ${formatTimestamp(report.to)}`, ...(options.charts?.length ? [`Charts: ${options.charts.join(', ')}`] : [])].join('\n'),
    data: report,
  };
}

function chainSection(name: string, chain: AuditChainStatus): { tone: Tone; blocks: ResultBlock[] } {
  const tone: Tone = chain.valid ? 'ok' : 'fail';
  return { tone, blocks: [{ type: 'checks', items: [{ name, tone, text: chain.detail }] }] };
}

function tallyRows(tallies: readonly Tally[]): string[][] {
  const rows = tallies.slice(0, TALLY_ROWS).map((one) => [one.name, String(one.count)]);
  const rest = tallies.slice(TALLY_ROWS);
  if (rest.length > 0) rows.push([`${rest.length} more`, String(rest.reduce((sum, one) => sum + one.count, 0))]);
  return rows;
}
