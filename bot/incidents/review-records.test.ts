/**
 * The review written from what the real store returns (PostgreSQL): an incident run from
 * declaration to close, with the records arriving in the store's own shapes and order.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { IncidentError } from './incident-input.js';
import { createIncidentStore, migrateIncidentStore, type IncidentStore } from './incident-store.js';
import { reviewDocument } from './review-document.js';
import { readReviewRecords } from './review-records.js';
import { reviewSummary } from './review-summary.js';

let db: TestDatabase;
let pool: pg.Pool;
let store: IncidentStore;
const T0 = new Date('2026-12-07T03:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

beforeAll(async () => {
  db = await createTestDatabase('acgs_incident_review');
  pool = createPool({ databaseUrl: db.url, max: 4, applicationName: 'acgs-incident-review-test' });
  await migrateIncidentStore(pool);
  store = createIncidentStore(pool);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

describe('the review from the incident store', () => {
  it('reflects everything recorded from declaration to close', async () => {
    const incident = await store.declare({ title: 'Audit chain *broken*', severity: 'sev3', type: 'security', declaredBy: 'U0ALICE', at: T0, detectedAt: minutes(-4) });
    await store.changeSeverity(incident.id, 'sev1', 'U0ALICE', minutes(2));
    await store.changeRole(incident.id, { role: 'commander', holder: 'U0BOB', by: 'U0ALICE', at: minutes(3) });
    // Recorded late, but it happened first: the review puts it by its original time.
    await store.addToTimeline(incident.id, { kind: 'alert', occurredAt: minutes(-4), actor: 'alertmanager', text: 'audit chain verification failed', reference: 'alert-77' }, minutes(5));
    await store.addToTimeline(incident.id, { kind: 'command', occurredAt: minutes(6), actor: 'U0BOB', text: 'lockdown', reference: 'run-9c1' }, minutes(6));
    await store.postUpdate(incident.id, { author: 'U0BOB', text: 'Lockdown in place.', at: minutes(10) });
    await store.resolve(incident.id, 'U0BOB', minutes(50));
    await store.close(incident.id, 'U0BOB', minutes(70));
    await store.addActionItem(incident.id, { text: 'Alert on chain verification', owner: 'U0CAROL', by: 'U0BOB', at: minutes(71) });

    const records = await readReviewRecords(store, incident.key);
    const markdown = reviewDocument(records, { generatedAt: minutes(72) });
    expect(markdown.split('\n')[0]).toBe(`# ${incident.key} post-incident review: Audit chain \\*broken\\*`);
    expect(markdown).toContain('- **Severity:** sev1, changed once:\n  - 2026-12-07 03:02Z by U0ALICE: severity changed from sev3 to sev1');
    expect(markdown).toContain('- **Commander:** U0BOB, handed over once:');
    expect(markdown).toContain('- **State:** closed (private incident)');
    expect(markdown).toContain('- **Detection time** (noticed → declared): 4 min 0 s');
    expect(markdown).toContain('- **Resolution time** (noticed → resolved): 54 min 0 s');
    const timeline = markdown.slice(markdown.indexOf('## Timeline'), markdown.indexOf('## What was done'));
    expect(timeline.indexOf('audit chain verification failed')).toBeLessThan(timeline.indexOf('severity changed'));
    expect(timeline).toContain('| status update | U0BOB | Lockdown in place. |');
    expect(markdown).toContain('- 2026-12-07 03:06:00Z, U0BOB: lockdown (`run-9c1`)');
    expect(markdown).toContain('  > Lockdown in place.');
    expect(markdown).toMatch(/- \*\*open\*\* #[0-9]+ Alert on chain verification, owner U0CAROL/);

    expect(reviewSummary(records).summary).toBe(`A sev1 security incident, resolved 54 min 0 s after it was noticed; 1 of 1 action item open. The whole review is in inc-${incident.id}-review.md.`);
  });

  it('refuses an incident that does not exist or a name that is not an incident, in words', async () => {
    await expect(readReviewRecords(store, 'INC-999999')).rejects.toThrow(new IncidentError('there is no incident INC-999999', 'not-found'));
    await expect(readReviewRecords(store, 'latest')).rejects.toThrow('"latest" is not an incident: incidents are named INC-<number>');
  });
});
