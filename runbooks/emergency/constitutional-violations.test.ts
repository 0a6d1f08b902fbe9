/**
 * The pure parts of the constitutional emergency: violation patterns by agent, action and
 * principle, the summary a person reads first, and the safeguards checked against what was read.
 */
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../services/audit-engine/contract.js';
import { additionalSafeguards } from './constitutional-emergency.js';
import { violationPatterns, violationSummary, type ViolationDetails } from './constitutional-violations.js';

function violation(sequence: number, agent: string | undefined, action: string | undefined, principles: string[]): AuditEvent {
  return {
    id: `e${sequence}`,
    sequence,
    event_type: 'safety_violation',
    source: 'policy-engine',
    ...(agent ? { agent_id: agent } : {}),
    data: { ...(action ? { action } : {}), violations: principles.map((principle) => ({ principle })) },
    occurred_at: `2026-12-07T10:0${sequence}:00.000Z`,
    recorded_at: `2026-12-07T10:0${sequence}:00.000Z`,
    constitutional_hash: 'cdd01ef066bc6cf2',
    content_hash: 'c',
    prev_chain_hash: 'p',
    chain_hash: 'h',
  } as AuditEvent;
}

const EVENTS = [violation(1, 'agent-a', 'system.execute_shell', ['safety', 'safety']), violation(2, 'agent-b', 'data.export', ['privacy']), violation(3, 'agent-a', 'system.execute_shell', ['safety']), violation(4, undefined, undefined, [])];

describe('violation patterns', () => {
  it('counts by agent, action and principle, most first, a principle once per event, the unnamed said so', () => {
    expect(violationPatterns(EVENTS)).toEqual({
      total: 4,
      oldest: '2026-12-07T10:01:00.000Z',
      newest: '2026-12-07T10:04:00.000Z',
      byAgent: [{ key: 'agent-a', count: 2 }, { key: 'agent-b', count: 1 }, { key: 'unknown agent', count: 1 }],
      byAction: [{ key: 'system.execute_shell', count: 2 }, { key: 'data.export', count: 1 }, { key: 'unknown action', count: 1 }],
      byPrinciple: [{ key: 'safety', count: 2 }, { key: 'privacy', count: 1 }],
    });
  });

  it('says no violation, and names each source that could not be read', () => {
    const details: ViolationDetails = { patterns: violationPatterns([]), engine: null, pendingReviews: [], logLines: null, unread: { 'Policy Engine metrics': 'no answer within 10 s', 'Policy Engine logs': 'no Stack port' } };
    expect(violationSummary(details)).toBe('The Audit Engine holds no safety violation. 0 change proposals waiting for human review. Not read: Policy Engine metrics (no answer within 10 s); Policy Engine logs (no Stack port).');
  });
});

describe('additional safeguards', () => {
  const details: ViolationDetails = {
    patterns: violationPatterns(EVENTS),
    engine: { violationsTotal: 4, violationsPerMinute: 2, strict: true, lockdown: false },
    pendingReviews: [{ id: '4f1c2d3e-0000-4000-8000-000000000000', agent: 'agent-a', priority: 'high', change: 'more tools' }],
    logLines: [],
    unread: {},
  };

  it('marks strict mode in place, the lockdown and the held proposals to do with their commands', () => {
    const safeguards = additionalSafeguards(details, { line: 'lockdown x', outcome: { kind: 'approval', request: 'req-1', approvalsRequired: 2, postedTo: [] } });
    const by = Object.fromEntries(safeguards.map((safeguard) => [safeguard.id, safeguard]));
    expect(by['lockdown']).toMatchObject({ state: 'to-do', command: 'approvers decide request req-1 (Level 4)' });
    expect(by['strict-mode']).toMatchObject({ state: 'in-place' });
    expect(by['hold-changes']).toMatchObject({ state: 'to-do', command: '/acgs evolution review 4f1c2d3e reject <reason> (Level 2)' });
    expect(by['sandboxes']).toMatchObject({ state: 'to-do', command: '/acgs sandbox prune --agent agent-a (Level 1)' });
  });

  it("calls what could not be read unknown, never in place", () => {
    const safeguards = additionalSafeguards({ ...details, engine: null, pendingReviews: null, unread: { 'Policy Engine metrics': 'refused', 'Evolution Oversight reviews': 'refused' } }, undefined);
    const by = Object.fromEntries(safeguards.map((safeguard) => [safeguard.id, safeguard]));
    expect(by['lockdown']!.state).toBe('unknown');
    expect(by['strict-mode']).toMatchObject({ state: 'unknown', evidence: "the Policy Engine's modes could not be read: refused" });
    expect(by['hold-changes']!.state).toBe('unknown');
  });
});
