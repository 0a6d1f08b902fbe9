/**
 * The incident procedures as the runbook writes them ("Emergency Procedures" and the high latency
 * alert response in OPERATIONAL_RUNBOOK.md): one per incident type, every numbered step an item in
 * its order, checked where the bot can measure it.
 */
import { describe, expect, it } from 'vitest';
import { incidentProcedures } from './incident-procedures.js';
import { allChecklists } from './index.js';

/** The runbook's numbered steps, in its order. */
const RUNBOOK_STEPS: Record<keyof typeof incidentProcedures, string[]> = {
  performance: ['Check current metrics', 'Check cache hit rate', 'Warm cache if needed', 'Check system resources', 'Scale if necessary'],
  security: ['Immediate containment', 'Preserve evidence', 'Assess impact', 'Notify security team', 'Begin forensic analysis'],
  constitutional: ['Enable emergency lockdown mode', 'Review violation details', 'Implement additional safeguards', 'Notify constitutional oversight team'],
  infrastructure: [
    'Assess impact',
    'Activate incident response',
    'Notify stakeholders',
    'Attempt quick recovery',
    'Detailed diagnostics (5-30 minutes)',
    'Isolate failing components',
    'Implement workarounds',
    'Prepare for extended outage if needed',
  ],
};

describe('the incident procedures', () => {
  it('cover every incident type, each with the runbook steps in order', () => {
    // The bot's incident types (bot/incidents/incident-input.ts); the briefing checks the two agree at compile time.
    const types = ['performance', 'security', 'constitutional', 'infrastructure'] as const;
    expect(Object.keys(incidentProcedures).sort()).toEqual([...types].sort());
    for (const type of types) expect(incidentProcedures[type].items.map((item) => item.text), type).toEqual(RUNBOOK_STEPS[type]);
  });

  it('check what the bot can measure and leave the actions and judgements to people', () => {
    const automatic = (type: keyof typeof incidentProcedures) => incidentProcedures[type].items.filter((item) => item.mode === 'auto').map((item) => item.id);
    expect(automatic('performance')).toEqual(['check-current-metrics', 'check-cache-hit-rate', 'check-system-resources']);
    expect(automatic('security')).toEqual([]);
    expect(automatic('constitutional')).toEqual([]);
    expect(automatic('infrastructure')).toEqual(['assess-impact']);
  });

  it('have names no maintenance checklist uses, so both can be started side by side', () => {
    const names = Object.values(incidentProcedures).map((procedure) => procedure.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(allChecklists.map((checklist) => checklist.name)).not.toContain(name);
  });
});
