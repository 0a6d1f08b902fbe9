/**
 * What the reports' documents share: the "needs" block that leads them, sections that render a
 * part or say what is missing in its place, the reports' numbers, a KPI's limit in words, and the "needs attention" list's lead
 * (every part that could not be gathered, once).
 */
import type { ResultBlock, Tone } from '../../commands/result.js';
import type { KpiDefinition } from './kpi-summary.js';
import type { ReportPart } from './report-part.js';

export interface ReportSections {
  blocks: ResultBlock[];
  tones: Tone[];
  /** A divider, the title, then the part rendered, or a warning line (named `name`, else the title) with what is missing. */
  section<T>(title: string, part: ReportPart<T>, render: (value: T) => { tone: Tone; blocks: ResultBlock[] }, name?: string): void;
}

export function reportSections(): ReportSections {
  const blocks: ResultBlock[] = [];
  const tones: Tone[] = [];
  return {
    blocks,
    tones,
    section(title, part, render, name = title) {
      blocks.push({ type: 'divider' }, { type: 'text', text: title });
      if (part.state === 'missing') {
        tones.push('warn');
        blocks.push({ type: 'checks', items: [{ name, tone: 'warn', text: part.reason }] });
        return;
      }
      const rendered = render(part.value);
      tones.push(rendered.tone);
      blocks.push(...rendered.blocks);
    },
  };
}

/** The report's first block: each thing that needs someone, as a warning line, or one line saying there is none. */
export function needsBlock(name: string, needs: readonly string[], none: string): ResultBlock {
  return { type: 'checks', items: needs.length > 0 ? needs.map((need) => ({ name, tone: 'warn' as const, text: need })) : [{ name, tone: 'ok', text: none }] };
}

/** Three significant figures or so: 0.012, 4.56, 97.10, 1234. */
export const figure = (value: number) => (Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 1 ? value.toFixed(2) : value.toFixed(3));

/** "at most 5 ms", "at least 95 %". */
export const kpiLimit = (kpi: Pick<KpiDefinition, 'threshold' | 'unit'> & { breached_when: KpiDefinition['breachedWhen'] }) => `${kpi.breached_when === 'above' ? 'at most' : 'at least'} ${kpi.threshold} ${kpi.unit}`;

/** CPU and memory are per service: their figures name the service they are of. */
export const isPerServiceKpi = (metric: string) => metric === 'cpu_percent' || metric === 'memory_percent';

/** The reasons of the parts that could not be gathered, each once (several parts share a source). */
export function missingParts(parts: ReadonlyArray<ReportPart<unknown>>): string[] {
  return [...new Set(parts.flatMap((part) => (part.state === 'missing' ? [part.reason] : [])))];
}

/** "1 thing needs", "2 things need". */
export const things = (count: number) => `${count} thing${count === 1 ? '' : 's'} need${count === 1 ? 's' : ''}`;
