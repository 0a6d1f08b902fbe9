/**
 * An incident's records as the store returns them, for the review's tests: declared as sev3 at
 * 03:00Z after being noticed at 02:54Z, raised to sev1, commander handed over, a command that
 * started a runbook run, an alert, a note with a permalink, two updates, resolved at 04:20Z and
 * closed at 05:00Z, with three action items.
 */
import type { ActionItem, Incident, StatusUpdate } from '../incident-store.js';
import type { ReviewRecords, ReviewTimelineEntry } from '../review-document.js';

export const T0 = new Date('2026-12-07T03:00:00.000Z');
export const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

export function reviewIncident(overrides: Partial<Incident> = {}): Incident {
  return {
    id: '7',
    key: 'INC-7',
    title: 'Policy Engine latency above 5 s',
    severity: 'sev1',
    type: 'performance',
    private: false,
    state: 'closed',
    channelId: 'C0INC7',
    declaredBy: 'U0ALICE',
    declaredAt: T0,
    detectedAt: minutes(-6),
    resolvedAt: minutes(80),
    resolvedBy: 'U0BOB',
    closedAt: minutes(120),
    closedBy: 'U0BOB',
    lastUpdateAt: minutes(45),
    roles: {
      commander: { holder: 'U0BOB', changedBy: 'U0ALICE', changedAt: minutes(10) },
      scribe: { holder: 'U0CAROL', changedBy: 'U0BOB', changedAt: minutes(12) },
    },
    ...overrides,
  };
}

let nextId = 1;
export function entry(kind: string, minute: number, text: string, options: { actor?: string; reference?: string; recordedMinute?: number; id?: string } = {}): ReviewTimelineEntry {
  return {
    id: options.id ?? String(nextId++),
    kind,
    occurredAt: minutes(minute),
    recordedAt: minutes(options.recordedMinute ?? minute),
    actor: options.actor ?? 'U0ALICE',
    text,
    reference: options.reference,
  };
}

export function update(id: string, minute: number, text: string, author = 'U0BOB'): StatusUpdate {
  return { id, author, text, postedAt: minutes(minute) };
}

export function actionItem(id: string, text: string, owner: string, state: ActionItem['state'], minute = 110): ActionItem {
  return { id, incidentId: '7', text, owner, state, createdBy: 'U0BOB', createdAt: minutes(100), updatedBy: 'U0BOB', updatedAt: minutes(minute) };
}

export function reviewRecords(overrides: Partial<ReviewRecords> = {}): ReviewRecords {
  return {
    incident: reviewIncident(),
    timeline: [
      entry('declared', 0, 'declared sev3 performance incident', { id: '1' }),
      entry('alert', -6, 'p99 latency above 5 ms on policy-engine', { actor: 'alertmanager', reference: 'alert-41', recordedMinute: 1, id: '2' }),
      entry('severity-change', 5, 'severity changed from sev3 to sev1', { id: '3' }),
      entry('role-change', 10, 'commander: U0BOB', { id: '4' }),
      entry('role-change', 12, 'scribe: U0CAROL', { actor: 'U0BOB', id: '5' }),
      entry('command', 15, 'restart policy-engine', { actor: 'U0BOB', reference: 'run-3f2a', id: '6' }),
      entry('runbook-step', 16, 'step 1: policy-engine restarted', { actor: 'U0BOB', reference: 'run-3f2a', id: '7' }),
      entry('runbook-step', 18, 'step 2: p99 back under 5 ms', { actor: 'U0BOB', reference: 'run-3f2a', id: '8' }),
      entry('approval', 17, 'scale policy-engine to 3 approved by U0DAVE', { actor: 'U0DAVE', reference: 'approval-9', id: '9' }),
      entry('status-update', 30, 'Restarted; watching latency.', { actor: 'U0BOB', id: '10' }),
      entry('note', 40, 'cache hit rate dropped to 40 %', { actor: 'U0CAROL', reference: 'https://acme.slack.com/archives/C0INC7/p1765076400000100', id: '11' }),
      entry('status-update', 45, 'Latency normal for 15 min.', { actor: 'U0BOB', id: '12' }),
      entry('resolved', 80, 'resolved', { actor: 'U0BOB', id: '13' }),
      entry('closed', 120, 'closed', { actor: 'U0BOB', id: '14' }),
    ],
    statusUpdates: [update('1', 30, 'Restarted; watching latency.'), update('2', 45, 'Latency normal for 15 min.')],
    roleChanges: [
      { role: 'commander', holder: 'U0ALICE', changedBy: 'U0ALICE', changedAt: T0 },
      { role: 'commander', holder: 'U0BOB', changedBy: 'U0ALICE', changedAt: minutes(10) },
      { role: 'scribe', holder: 'U0CAROL', changedBy: 'U0BOB', changedAt: minutes(12) },
    ],
    actionItems: [
      actionItem('1', 'Alert on cache hit rate below 60 %', 'U0CAROL', 'open'),
      actionItem('2', 'Document the restart in the runbook', 'U0BOB', 'done', 115),
      actionItem('3', 'Add a third replica', 'U0DAVE', 'dropped', 118),
    ],
    ...overrides,
  };
}
