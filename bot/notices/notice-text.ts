/**
 * The words of a deployment notice, shared by every way it goes out (the Slack message's fallback
 * text, the e-mail's subject, plain text and HTML), so that a channel, a DM and a mailbox say the
 * same thing. Written to be read at 3 a.m.: what happened first, then versions, then the figures.
 */
import type { DeploymentNotice } from '../../runbooks/engine/ports.js';
import { formatTimestamp } from '../../commands/format.js';

/** `3m12s`, `45s`, `1h02m`: short enough for a subject line. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** How long the deployment took (finished) or ran before it was rolled back; undefined while it runs. */
export function noticeDurationMs(notice: DeploymentNotice): number | undefined {
  const end = notice.kind === 'finished' ? notice.finishedAt : notice.kind === 'rolled-back' ? notice.rolledBackAt : undefined;
  if (!end) return undefined;
  const ms = Date.parse(end) - Date.parse(notice.startedAt);
  return Number.isFinite(ms) ? ms : undefined;
}

const services = (count: number) => `${count} service${count === 1 ? '' : 's'}`;

const byHand = (notice: DeploymentNotice) => notice.kind === 'rolled-back' && notice.release === 'rollback';

/** What happened, in a few words: `Deploy 1.4.0 finished`, `Hotfix 1.4.1 started`. */
export function noticeHeadline(notice: DeploymentNotice): string {
  const what = notice.kind === 'started' ? 'started' : notice.kind === 'finished' ? 'finished' : 'ROLLED BACK';
  return `${notice.release === 'hotfix' ? 'Hotfix' : 'Deploy'} ${notice.version} ${what}`;
}

/** `[ACGS] Deploy 1.4.0 finished (4 services, 3m12s)`. */
export function noticeSubject(notice: DeploymentNotice): string {
  const duration = noticeDurationMs(notice);
  const detail = [services(notice.services.length), ...(duration === undefined ? [] : [formatDuration(duration)])].join(', ');
  return `[ACGS] ${noticeHeadline(notice)} (${detail})`;
}

/**
 * The sentence under the headline: who, when, how long, and for a rollback why. `requester` is how
 * the requester is written (Slack shows a mention; e-mail the ID as recorded).
 */
export function noticeSummary(notice: DeploymentNotice, requester = notice.requester): string {
  const duration = noticeDurationMs(notice);
  const release = notice.commit ? `${notice.version} (${notice.commit.slice(0, 12)})` : notice.version;
  const count = services(notice.services.length);
  switch (notice.kind) {
    case 'started':
      return `${requester} started ${notice.release === 'hotfix' ? 'hotfixing' : 'deploying'} ${release} to ${count} at ${formatTimestamp(notice.startedAt)}.`;
    case 'finished':
      return `${release} runs on ${count}: ${notice.release === 'hotfix' ? 'hotfixed' : 'deployed'} by ${requester} in ${formatDuration(duration ?? 0)}, finished at ${formatTimestamp(notice.finishedAt)}.`;
    case 'rolled-back':
      // By hand the rollback's own start is known, not the deploy's: its duration is the rollback's.
      // The notice goes out once the services are back and verified, before the rollback's watch.
      if (byHand(notice)) return `${requester} rolled ${count} back from ${release} by hand: done at ${formatTimestamp(notice.rolledBackAt)}, ${formatDuration(duration ?? 0)} after the rollback began; its watch follows.`;
      return `${release} was rolled back at ${formatTimestamp(notice.rolledBackAt)}, ${formatDuration(duration ?? 0)} after ${requester} started it: ${notice.reason}`;
  }
}

/** Where to look: the run's status command. */
export function runPointer(notice: DeploymentNotice): string {
  return `/acgs run status ${notice.runId}`;
}

/** Rows of the versions table: service, from, to. */
export function versionRows(notice: DeploymentNotice): Array<[string, string, string]> {
  return notice.services.map((change) => [change.service, change.from, change.to]);
}

/** Lines of the verification figures (finished) or the breaching samples (rolled back). */
export function figureLines(notice: DeploymentNotice): string[] {
  if (notice.kind === 'finished') {
    return notice.verification.map((figure) => `${figure.ok ? 'ok  ' : 'FAIL'} ${figure.name}: ${figure.value}${figure.limit ? ` (limit ${figure.limit})` : ''}`);
  }
  if (notice.kind === 'rolled-back') {
    return notice.breaches.map((breach) => `${breach.at} ${breach.service ? `${breach.service} ` : ''}${breach.metric} ${breach.value} (limit ${breach.limit})`);
  }
  return [];
}

export function figuresTitle(notice: DeploymentNotice): string | undefined {
  if (notice.kind === 'finished') return 'Verification';
  // A person rolled back, not the watch: there are no breaching samples to show.
  if (notice.kind === 'rolled-back' && !byHand(notice)) return 'Samples that breached';
  return undefined;
}

/** Columns padded to their widest cell, for monospace text. */
export function alignedTable(header: [string, string, string], rows: Array<[string, string, string]>): string[] {
  const all = [header, ...rows];
  const widths = [0, 1].map((column) => Math.max(...all.map((row) => row[column]!.length)));
  return all.map(([a, b, c]) => `${a.padEnd(widths[0]!)}  ${b.padEnd(widths[1]!)}  ${c}`.trimEnd());
}

/** The whole notice as plain text: the e-mail's text part. */
export function noticePlainText(notice: DeploymentNotice): string {
  const lines = [noticeHeadline(notice), '', noticeSummary(notice), '', ...alignedTable(['service', 'from', 'to'], versionRows(notice))];
  const title = figuresTitle(notice);
  const figures = figureLines(notice);
  if (title) lines.push('', `${title}:`, ...(figures.length > 0 ? figures.map((line) => `  ${line}`) : ['  (none recorded)']));
  lines.push('', `Run ${notice.runId}: ${runPointer(notice)}`);
  return `${lines.join('\n')}\n`;
}

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The same as simple HTML (no styles a mail client would strip): the e-mail's HTML part. */
export function noticeHtml(notice: DeploymentNotice): string {
  const cell = (tag: 'td' | 'th', text: string) => `<${tag} style="text-align:left;padding:2px 12px 2px 0">${escapeHtml(text)}</${tag}>`;
  const rows = versionRows(notice).map((row) => `<tr>${row.map((text) => cell('td', text)).join('')}</tr>`);
  const title = figuresTitle(notice);
  const figures = figureLines(notice);
  return [
    `<h2>${escapeHtml(noticeHeadline(notice))}</h2>`,
    `<p>${escapeHtml(noticeSummary(notice))}</p>`,
    `<table><tr>${['service', 'from', 'to'].map((text) => cell('th', text)).join('')}</tr>${rows.join('')}</table>`,
    ...(title ? [`<h3>${escapeHtml(title)}</h3>`, figures.length > 0 ? `<ul>${figures.map((line) => `<li><code>${escapeHtml(line)}</code></li>`).join('')}</ul>` : '<p>(none recorded)</p>'] : []),
    `<p>Run <code>${escapeHtml(notice.runId)}</code>: <code>${escapeHtml(runPointer(notice))}</code></p>`,
  ].join('\n');
}
