/**
 * What people read about checklists: one checklist with each item's state, evidence and who
 * ticked it, and the list of open and recent ones. Plain data in, documents out; the same
 * document serves the console's answers and `npx acgs` (text or --json).
 */
import { capitalized, formatTimestamp } from './format.js';
import type { ChecklistDefinitionInfo, ChecklistEventInfo, ChecklistInfo, ChecklistItemInfo } from './ports.js';
import type { CheckLine, ResultDocument, Tone } from './result.js';

const ITEM_TONE: Record<ChecklistItemInfo['state'], Tone> = { pass: 'ok', ticked: 'ok', fail: 'fail', unknown: 'warn', open: 'info' };
const time = (iso: string) => `${iso.slice(11, 19)} UTC`;

export const shortChecklistId = (id: string) => id.slice(0, 8);

/** An item in one line: what the check saw, who ticked it, or what a person ticks it for. */
export function itemWords(item: ChecklistItemInfo): string {
  switch (item.state) {
    case 'ticked':
      return `ticked by ${item.tickedBy} at ${time(item.tickedAt!)}${item.mode === 'auto' ? ' (confirmed by hand: the bot could not check it)' : ''}`;
    case 'open':
      return `to tick by a person: ${item.note}`;
    default:
      return `${item.state}: ${item.evidence ?? 'no evidence'}${item.checkedAt ? ` (checked ${time(item.checkedAt)})` : ''}`;
  }
}

export function progressOf(checklist: ChecklistInfo): { settled: number; total: number; failing: number } {
  const settled = checklist.items.filter((item) => item.state === 'pass' || item.state === 'ticked').length;
  return { settled, total: checklist.items.length, failing: checklist.items.filter((item) => item.state === 'fail').length };
}

export function checklistTone(checklist: ChecklistInfo): Tone {
  if (checklist.completedAt) return 'ok';
  return progressOf(checklist).failing > 0 ? 'fail' : 'info';
}

export function checklistSummary(checklist: ChecklistInfo): string {
  const { settled, total, failing } = progressOf(checklist);
  const started = `Started by ${checklist.startedBy} at ${formatTimestamp(checklist.createdAt)}.`;
  if (checklist.completedAt) return `Completed by ${checklist.completedBy} at ${formatTimestamp(checklist.completedAt)}: all ${total} items passed or ticked. ${started}`;
  const failed = failing > 0 ? ` ${failing} automatic check${failing === 1 ? '' : 's'} failed: fix what ${failing === 1 ? 'it' : 'they'} found and re-run the checks.` : '';
  return `${settled} of ${total} items passed or ticked.${failed} ${started}`;
}

/** Who started, completed and ticked it: shown as mentions in Slack. */
function checklistPeople(checklist: ChecklistInfo): string[] {
  return [checklist.startedBy, ...(checklist.completedBy ? [checklist.completedBy] : []), ...checklist.items.flatMap((item) => (item.tickedBy ? [item.tickedBy] : []))];
}

/**
 * One checklist. `tone`: a tick's answer is about the tick (it was recorded), not the checks, so
 * the trail's result and the CLI's exit code do not call a recorded tick a failure. `inChannel`: it has a message in Slack that is kept current, so the answer to
 * whoever typed the command is only for them.
 */
export function checklistDocument(
  checklist: ChecklistInfo,
  options: { events?: readonly ChecklistEventInfo[]; lead?: string; inChannel?: boolean; tone?: Tone } = {},
): ResultDocument {
  const items: CheckLine[] = checklist.items.map((item) => ({ name: `${item.text} [${item.id}]`, tone: ITEM_TONE[item.state], text: itemWords(item) }));
  const history = (options.events ?? []).map((event) => `${formatTimestamp(event.at)} ${event.actor} ${event.action === 'check' ? 'checked' : `${event.action}ed`} ${event.itemId}: ${event.state}`);
  const open = !checklist.completedAt;
  return {
    title: `${options.lead ? `${options.lead}: ` : ''}${checklist.title}`,
    tone: options.tone ?? checklistTone(checklist),
    summary: `${checklistSummary(checklist)}${options.inChannel ? ' Its message in the channel is kept current: tick the items there.' : ''}`,
    blocks: [{ type: 'checks', items }, ...(history.length > 0 ? [{ type: 'code' as const, text: history.join('\n') }] : [])],
    ...(open
      ? {
          actions: [{ label: 'Re-run the checks', command: `checklist rerun ${checklist.id}` }],
        }
      : {}),
    footer: `Checklist ${checklist.id} · \`checklist tick <id> <item>\` ticks an item, \`checklist untick <id> <item>\` unticks it`,
    ...(options.inChannel ? { ephemeral: true } : {}),
    people: checklistPeople(checklist),
    data: { checklist, ...(options.events ? { events: options.events } : {}) },
  };
}

export function checklistsDocument(definitions: readonly ChecklistDefinitionInfo[], recent: { open: readonly ChecklistInfo[]; completed: readonly ChecklistInfo[] }): ResultDocument {
  const row = (checklist: ChecklistInfo) => {
    const { settled, total } = progressOf(checklist);
    return [
      checklist.id,
      checklist.checklist,
      checklist.completedAt ? `completed by ${checklist.completedBy}` : `${settled}/${total} done`,
      checklist.startedBy,
      formatTimestamp(checklist.completedAt ?? checklist.createdAt),
    ];
  };
  const columns = ['Id', 'Checklist', 'State', 'Started by', 'When'];
  const counts = (definition: ChecklistDefinitionInfo) => {
    const automatic = definition.items.filter((item) => item.mode === 'auto').length;
    return `${automatic} checked by the bot, ${definition.items.length - automatic} ticked by a person`;
  };
  return {
    title: 'Checklists',
    tone: 'info',
    summary: `${recent.open.length} open, ${recent.completed.length} recently completed. Start one with \`checklist <name>\`; \`checklist show <id>\` shows one with its history.`,
    blocks: [
      { type: 'table', columns: ['Checklist', 'Items', 'What it is for'], rows: definitions.map((definition) => [definition.name, counts(definition), capitalized(definition.summary)]) },
      ...(recent.open.length > 0 ? [{ type: 'text' as const, text: 'Open:' }, { type: 'table' as const, columns, rows: recent.open.map(row) }] : [{ type: 'text' as const, text: 'No checklist is open.' }]),
      ...(recent.completed.length > 0 ? [{ type: 'text' as const, text: 'Recently completed:' }, { type: 'table' as const, columns, rows: recent.completed.map(row) }] : []),
    ],
    data: { definitions, open: recent.open, completed: recent.completed },
  };
}
