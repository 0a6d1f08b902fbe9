/**
 * The checklists as the runbook writes them ("Maintenance Checklists" in OPERATIONAL_RUNBOOK.md):
 * every runbook line is an item, ids are unique kebab-case words, every item says why it is
 * manual or what its check reads; and defineChecklist refuses a definition that breaks that.
 */
import { describe, expect, it } from 'vitest';
import { defineChecklist } from './definition.js';
import { allChecklists } from './index.js';

/** The runbook's own lines (OPERATIONAL_RUNBOOK.md, "Maintenance Checklists"). */
const RUNBOOK_LINES: Record<string, string[]> = {
  'pre-deployment': [
    'Staging environment tested',
    'Performance validation passed',
    'Security scan completed',
    'Backup created',
    'Rollback plan prepared',
    'Stakeholders notified',
    'Monitoring alerts updated',
  ],
  'post-deployment': ['All services healthy', 'Performance within SLOs', 'No error rate spikes', 'Cache hit rates normal', 'Audit trails intact', 'Monitoring functioning', 'Documentation updated'],
  'monthly-review': [
    'Performance trends analyzed',
    'Capacity planning updated',
    'Security review completed',
    'Backup integrity verified',
    'DR procedures tested',
    'Documentation updated',
    'Team training conducted',
  ],
};

const manual = { mode: 'manual' as const, note: 'a person ticks it' };

describe('the checklists', () => {
  it('are the runbook three, each with every line of the runbook as an item, in its order', () => {
    expect(allChecklists.map((checklist) => checklist.name)).toEqual(Object.keys(RUNBOOK_LINES));
    for (const checklist of allChecklists) {
      const texts = checklist.items.map((item) => item.text);
      expect(texts.filter((text) => RUNBOOK_LINES[checklist.name]!.includes(text)), checklist.name).toEqual(RUNBOOK_LINES[checklist.name]);
    }
  });

  it('have unique kebab-case item ids, a note on every item, and a check on every automatic one', () => {
    for (const checklist of allChecklists) {
      const ids = checklist.items.map((item) => item.id);
      expect(new Set(ids).size, checklist.name).toBe(ids.length);
      for (const item of checklist.items) {
        expect(item.id).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
        expect(item.note.length, item.id).toBeGreaterThan(20);
        if (item.mode === 'auto') expect(typeof item.check).toBe('function');
      }
    }
  });

  it('let the bot check what it can: post-deployment mostly, the monthly review only the backup', () => {
    const automatic = (name: string) => allChecklists.find((checklist) => checklist.name === name)!.items.filter((item) => item.mode === 'auto').map((item) => item.id);
    expect(automatic('pre-deployment')).toEqual(['resources-available', 'backup-created']);
    expect(automatic('post-deployment')).toEqual(['services-healthy', 'performance-slos', 'no-error-spikes', 'cache-hit-rates', 'audit-trails-intact']);
    expect(automatic('monthly-review')).toEqual(['backup-integrity']);
  });
});

describe('defineChecklist', () => {
  const base = { name: 'weekly', title: 'Weekly', summary: 'Once a week' };

  it('refuses a duplicate item id, a bad id, an empty text, a missing note, a reserved or bad name, no items', () => {
    const cases: Array<[Parameters<typeof defineChecklist>[0], RegExp]> = [
      [{ ...base, items: [{ id: 'a', text: 'A', ...manual }, { id: 'a', text: 'B', ...manual }] }, /item id "a" is used twice/],
      [{ ...base, items: [{ id: 'Not_Kebab', text: 'A', ...manual }] }, /item id "Not_Kebab" must be kebab-case/],
      [{ ...base, items: [{ id: 'x'.repeat(41), text: 'A', ...manual }] }, /at most 40 characters/],
      [{ ...base, items: [{ id: 'a', text: '  ', ...manual }] }, /item "a" needs a text/],
      [{ ...base, items: [{ id: 'a', text: 'A', mode: 'manual', note: '' }] }, /item "a" needs a note/],
      [{ ...base, name: 'tick', items: [{ id: 'a', text: 'A', ...manual }] }, /must be kebab-case and not a word/],
      [{ ...base, name: 'Weekly Review', items: [{ id: 'a', text: 'A', ...manual }] }, /must be kebab-case/],
      [{ ...base, items: [] }, /has no items/],
      [{ ...base, items: Array.from({ length: 41 }, (_, index) => ({ id: `item-${index}`, text: `Item ${index}`, ...manual })) }, /has 41 items; at most 40 fit in one Slack message/],
    ];
    for (const [definition, problem] of cases) expect(() => defineChecklist(definition)).toThrow(problem);
  });

  it('accepts a good one as it is', () => {
    const definition = { ...base, items: [{ id: 'backups-kept', text: 'Backups kept', ...manual }] };
    expect(defineChecklist(definition)).toBe(definition);
  });
});
