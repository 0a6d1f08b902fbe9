/** The runbooks of the gate suites, the same in the test's bot and in its runner processes (same versions). */
import type pg from 'pg';
import type { AnyRunbook } from '../../../runbooks/engine/definition.js';
import { scriptedRunbook } from '../../../runbooks/engine/testing/scripted-runbooks.js';

export function gateRunbooks(pool: pg.Pool): AnyRunbook[] {
  return [
    scriptedRunbook(
      pool,
      'gated-deploy',
      [
        { id: 'checks', kind: 'check', title: 'Checks pass' },
        { id: 'approve', kind: 'gate', title: 'An approver lets the deploy go on', gate: { level: 2, pollEveryMs: 50 } },
        { id: 'deploy', title: 'Deploy the new version' },
      ],
      { level: 1, summary: 'A deploy behind a gate' },
    ),
    scriptedRunbook(
      pool,
      'two-eyes',
      [
        { id: 'approve', kind: 'gate', title: 'Two approvers let the change go on', gate: { level: 2, pollEveryMs: 50, approvals: 2 } },
        { id: 'change', title: 'Change the thing' },
      ],
      { level: 1, summary: 'A gate that asks more approvers than its level' },
    ),
    scriptedRunbook(pool, 'plain', [{ id: 'only' }], { level: 1, summary: 'No gate' }),
  ];
}
