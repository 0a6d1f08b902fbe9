import { describe, expect, it } from 'vitest';
import type { RunPlanInfo, RunPlanStep } from './ports.js';
import { describePlanChange, planFingerprint, planHash, planLines, runbookApprovalPlan } from './runbook-plan.js';

function step(index: number, id: string, dryRun: RunPlanStep['dryRun']): RunPlanStep {
  return { index, id, kind: 'act', title: `Do ${id}`, idempotent: true, skippable: true, canBeUndone: false, dryRun };
}

function plan(overrides: Partial<RunPlanInfo> = {}): RunPlanInfo {
  return {
    runbook: 'restore',
    version: '0123456789abcdef',
    level: 3,
    args: { id: '20261206T152000Z-a1b2c3' },
    steps: [
      step(0, 'take-backup', { mode: 'read-only-check', text: 'would dump acgs (12.1 MB now)', target: 'database acgs' }),
      step(1, 'replace', { mode: 'description', text: 'would replace acgs from the backup', target: 'database acgs' }),
    ],
    ...overrides,
  };
}

describe('the plan hash', () => {
  it('ignores evidence: dry run text, mode and a failed check', () => {
    const evidence = plan({
      steps: [
        step(0, 'take-backup', { mode: 'description', text: 'would dump acgs (14.9 MB now, 3 min old)', target: 'database acgs', error: 'timed out' }),
        step(1, 'replace', { mode: 'description', text: 'other words', target: 'database acgs' }),
      ],
    });
    expect(planHash(evidence)).toBe(planHash(plan()));
    expect(planFingerprint(evidence)).toBe(planFingerprint(plan()));
    expect(planHash(plan())).toMatch(/^[0-9a-f]{32}$/);
  });

  it.each([
    ['the version', plan({ version: 'fedcba9876543210' }), "the runbook's code changed (version 0123456789abcdef is now fedcba9876543210)"],
    ['the arguments', plan({ args: { id: '20261206T160000Z-ffffff' } }), 'the arguments as the runbook reads them changed'],
    [
      "a step's target",
      plan({ steps: [plan().steps[0]!, step(1, 'replace', { mode: 'description', text: 'would replace', target: 'database acgs_old' })] }),
      'what step 2 (Do replace, now on database acgs_old) would do changed',
    ],
    ['the steps', plan({ steps: [plan().steps[0]!] }), 'it has 1 step now, 2 when requested'],
    ['the runbook', plan({ runbook: 'restore-fast' }), 'it now runs runbook "restore-fast", not "restore"'],
  ])('changes with %s, and says which part changed', (_, changed, words) => {
    expect(planHash(changed)).not.toBe(planHash(plan()));
    expect(describePlanChange(planFingerprint(plan()), changed)).toBe(words);
  });

  it('says nothing changed for the same plan, and what it cannot compare', () => {
    expect(describePlanChange(planFingerprint(plan()), plan())).toBeUndefined();
    expect(describePlanChange('line: run restore', plan())).toBe('the plan it was requested with cannot be compared with the plan now');
  });

  it('keeps the fingerprint within the store’s 200 characters, folding many steps into one hash', () => {
    const many = plan({ steps: Array.from({ length: 40 }, (_, index) => step(index, `s${index}`, { mode: 'description', text: 'x', target: `t${index}` })) });
    const fingerprint = planFingerprint(many);
    expect(fingerprint.length).toBeLessThanOrEqual(200);
    expect(fingerprint).toMatch(/ · steps 40:[0-9a-f]{8}$/);
    const moved = plan({ steps: many.steps.map((s) => (s.index === 7 ? { ...s, dryRun: { ...s.dryRun, target: 'elsewhere' } } : s)) });
    expect(describePlanChange(fingerprint, moved)).toBe('its steps or what they act on changed');
  });
});

describe('the plan as people read it', () => {
  it('shows every step, its target, and whether its dry run really checked', () => {
    const failed = plan({ steps: [step(0, 'take-backup', { mode: 'read-only-check', text: 'would dump acgs', target: 'database acgs', error: 'pg_dump is missing' })] });
    expect(planLines(plan())).toEqual([
      '1. Do take-backup (act on database acgs); checked (read-only): would dump acgs (12.1 MB now)',
      '2. Do replace (act on database acgs); description only: would replace acgs from the backup',
    ]);
    expect(planLines(failed)).toEqual(['1. Do take-backup (act on database acgs); description (its check failed): would dump acgs: pg_dump is missing']);
    const approval = runbookApprovalPlan(plan());
    expect(approval.summary).toBe('Run runbook restore, Level 3 (critical), version 0123456789abcdef: 2 steps, 1 checked for real by a read-only dry run, the others only described');
    expect(approval.target).toBe('runbook restore');
    expect(approval.fingerprint).toMatch(/^plan [0-9a-f]{32} · restore@0123456789abcdef · args [0-9a-f]{8} · steps [0-9a-f]{6},[0-9a-f]{6}$/);
  });

  it("keeps a long dry run whole, and says where a plan longer than the store keeps continues", () => {
    const evidence = `would replace ${Array.from({ length: 120 }, (_, index) => `acgs_${index}`).join(', ')}`;
    const long = plan({ steps: [step(0, 'replace', { mode: 'read-only-check', text: evidence, target: 'database acgs' })] });
    expect(runbookApprovalPlan(long).details).toEqual([`1. Do replace (act on database acgs); checked (read-only): ${evidence}`]);
    const many = plan({ steps: Array.from({ length: 130 }, (_, index) => step(index, `s${index}`, { mode: 'description', text: 'x' })) });
    const details = runbookApprovalPlan(many).details!;
    expect(details).toHaveLength(100);
    expect(details[98]).toBe('99. Do s98 (act); description only: x');
    expect(details[99]).toBe("… steps 100 to 130 are not listed here: the whole plan is the runbook's --dry-run");
  });
});
