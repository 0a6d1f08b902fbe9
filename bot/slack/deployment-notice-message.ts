/**
 * A deployment notice as a Slack message: the headline with a tone a glance can read, one sentence
 * (who, when, how long; why for a rollback), the versions as a small monospace table, the
 * verification figures or the samples that breached, and the run to look at. The same words as the
 * e-mail (bot/notices/notice-text.ts); `text` is the plain fallback notifications show.
 */
import type { types as slackTypes } from '@slack/bolt';
import type { DeploymentNotice } from '../../runbooks/engine/ports.js';
import { alignedTable, figureLines, figuresTitle, noticeHeadline, noticeSummary, runPointer, versionRows } from '../notices/notice-text.js';
import { clip, escapeText, fitText, packLines } from './mrkdwn.js';
import { SLACK_LIMITS, type SlackMessage } from './render.js';

type KnownBlock = slackTypes.KnownBlock;

const EMOJI: Record<DeploymentNotice['kind'], string> = {
  started: ':rocket:',
  finished: ':large_green_circle:',
  'rolled-back': ':red_circle:',
};

/** Rows beyond these go into a last "… n more" line: a notice stays one screen. */
const MAX_VERSION_ROWS = 40;
const MAX_FIGURE_LINES = 20;
const CELL_WIDTH = 40;

/** Lines in a code block, cut into sections that each fit Slack's limit. */
function codeSections(lines: string[]): KnownBlock[] {
  const budget = SLACK_LIMITS.sectionText - 8;
  return packLines(lines.map(escapeText), budget).map((chunk) => ({ type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${chunk}\`\`\`` } }));
}

/** A Slack user ID (not `cli:alice`, not a group): shown as a mention, as the run's message shows who started it. */
const SLACK_USER_ID = /^[UW][A-Z0-9]{2,20}$/;
/** Stands for the requester while the sentence is escaped and fitted; no version, time or reason holds it. */
const REQUESTER_SLOT = '\u0001';

/** The summary sentence as mrkdwn: escaped, fitted to `max`, the requester a mention when it is a Slack user. */
function summaryText(notice: DeploymentNotice, max: number): string {
  if (!SLACK_USER_ID.test(notice.requester)) return fitText(noticeSummary(notice), max);
  const mention = `<@${notice.requester}>`;
  return fitText(noticeSummary(notice, REQUESTER_SLOT), max - mention.length).replace(REQUESTER_SLOT, mention);
}

function capped(lines: string[], max: number): string[] {
  return lines.length <= max ? lines : [...lines.slice(0, max - 1), `… ${lines.length - max + 1} more`];
}

export function renderDeploymentNotice(notice: DeploymentNotice): SlackMessage {
  const headline = noticeHeadline(notice);
  const rows = versionRows(notice).map(([service, from, to]) => [clip(service, CELL_WIDTH), clip(from, CELL_WIDTH), clip(to, CELL_WIDTH)] as [string, string, string]);
  const table = capped(alignedTable(['service', 'from', 'to'], rows), MAX_VERSION_ROWS + 1);
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(headline, SLACK_LIMITS.headerText), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: `${EMOJI[notice.kind]} ${summaryText(notice, SLACK_LIMITS.sectionText - 20)}` } },
    ...codeSections(table),
  ];
  const title = figuresTitle(notice);
  if (title) {
    const figures = figureLines(notice);
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*${title}*${figures.length === 0 ? ': none recorded' : ''}` } });
    if (figures.length > 0) blocks.push(...codeSections(capped(figures, MAX_FIGURE_LINES)));
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: fitText(`Run ${notice.runId} · \`${runPointer(notice)}\` shows its steps`, SLACK_LIMITS.contextText) }] });
  return { text: fitText(`${headline}: ${noticeSummary(notice)}`, SLACK_LIMITS.fallbackText), blocks: blocks.slice(0, SLACK_LIMITS.messageBlocks) };
}
