import { describe, expect, it } from 'vitest';
import type { EvolutionStatus } from '../contract.js';
import { EvolutionStatus as Statuses } from '../contract.js';
import { TRANSITION_RULES, checkTransition } from './lifecycle.js';

const ALL = Statuses.options;
const at = (status: EvolutionStatus) => ({ status, requester_id: 'U-REQUESTER' });

describe('evolution lifecycle rules', () => {
  it('lets a reviewer approve or reject only what is waiting for review', () => {
    for (const action of ['approve', 'reject'] as const) {
      const allowed = ALL.filter((status) => checkTransition(TRANSITION_RULES[action], at(status), 'U-REVIEWER').ok);
      expect(allowed.sort()).toEqual(['fast_track', 'human_review']);
    }
  });

  it('rolls back only changes that are in effect', () => {
    const allowed = ALL.filter((status) => checkTransition(TRANSITION_RULES.rollback, at(status), 'U-OPS').ok);
    expect(allowed.sort()).toEqual(['approved', 'auto_approved']);
  });

  it('refuses the requester as reviewer of their own proposal', () => {
    expect(checkTransition(TRANSITION_RULES.approve, at('human_review'), 'U-REQUESTER')).toEqual({ ok: false, reason: 'self_review' });
    expect(checkTransition(TRANSITION_RULES.reject, at('fast_track'), 'U-REQUESTER')).toEqual({ ok: false, reason: 'self_review' });
  });

  it('lets the requester roll back their own change', () => {
    expect(checkTransition(TRANSITION_RULES.rollback, at('approved'), 'U-REQUESTER')).toEqual({ ok: true });
  });

  it('reports a wrong status before a self-review, since there is nothing to review', () => {
    expect(checkTransition(TRANSITION_RULES.approve, at('approved'), 'U-REQUESTER')).toEqual({ ok: false, reason: 'wrong_status' });
  });

  it('moves every transition to its own target status', () => {
    expect(TRANSITION_RULES.approve.to).toBe('approved');
    expect(TRANSITION_RULES.reject.to).toBe('rejected');
    expect(TRANSITION_RULES.rollback.to).toBe('rolled_back');
  });
});
