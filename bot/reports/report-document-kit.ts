/**
 * What every report document shares: "needs a human" first, then one section per part, where a
 * part that could not be gathered says what is missing in its place (report-part.ts). The daily
 * and the weekly security report build their documents with it.
 */
import type { ResultBlock, Tone } from '../../commands/result.js';
import type { ReportPart } from './report-part.js';

export interface ReportSections {
  blocks: ResultBlock[];
  /** Each section's verdict, a missing part's as `warn`: the document's tone is the worst. */
  tones: Tone[];
  section<T>(title: string, part: ReportPart<T>, render: (value: T) => { tone: Tone; blocks: ResultBlock[] }): void;
}

/** Starts a document with its "needs a human" lines (`nothing` when there are none). */
export function reportSections(needsAHuman: readonly string[], nothing: string): ReportSections {
  const blocks: ResultBlock[] = [
    {
      type: 'checks',
      items: needsAHuman.length > 0 ? needsAHuman.map((need) => ({ name: 'Needs a human', tone: 'warn' as const, text: need })) : [{ name: 'Needs a human', tone: 'ok', text: nothing }],
    },
  ];
  const tones: Tone[] = [needsAHuman.length > 0 ? 'warn' : 'ok'];
  return {
    blocks,
    tones,
    section(title, part, render) {
      blocks.push({ type: 'divider' }, { type: 'text', text: title });
      if (part.state === 'missing') {
        tones.push('warn');
        blocks.push({ type: 'checks', items: [{ name: title, tone: 'warn', text: part.reason }] });
        return;
      }
      const rendered = render(part.value);
      tones.push(rendered.tone);
      blocks.push(...rendered.blocks);
    },
  };
}

/** "Nothing needs a human today." / "3 things need a human this week." */
export function needsAHumanSummary(needs: readonly string[], when: string): string {
  if (needs.length === 0) return `Nothing needs a human ${when}.`;
  return `${needs.length} thing${needs.length === 1 ? '' : 's'} need${needs.length === 1 ? 's' : ''} a human ${when}.`;
}

/** The parts that could not be gathered, once each: several parts may share one source. */
export function missingReasons(parts: ReadonlyArray<ReportPart<unknown>>): string[] {
  return [...new Set(parts.flatMap((part) => (part.state === 'missing' ? [part.reason] : [])))];
}
