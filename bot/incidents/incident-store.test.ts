/**
 * The incident store on the real PostgreSQL, with two pools standing for two replicas: keys stay
 * distinct when both declare at once, a resolution is recorded once when both resolve, every change
 * is recorded with who and when, and every bad input is refused with a clear message.
 */
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { IncidentError, MAX_TITLE_LENGTH, type Declaration } from './incident-input.js';
import { createIncidentStore, INCIDENT_TABLES, migrateIncidentStore, type IncidentStore } from './incident-store.js';

let db: TestDatabase;
let pool: pg.Pool;
let otherReplica: pg.Pool;
let store: IncidentStore;
let other: IncidentStore;
const T0 = new Date('2026-12-07T03:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

beforeAll(async () => {
  db = await createTestDatabase('acgs_incidents');
  pool = createPool({ databaseUrl: db.url, max: 6, applicationName: 'acgs-incidents-test' });
  otherReplica = createPool({ databaseUrl: db.url, max: 6, applicationName: 'acgs-incidents-test-2' });
  expect(await migrateIncidentStore(pool)).toEqual(['1767600000000_incidents', '1767700000000_incident-reviews-and-reminders', '1767800000000_incident-timeline-reference']);
  expect(await migrateIncidentStore(otherReplica)).toEqual([]);
  store = createIncidentStore(pool);
  other = createIncidentStore(otherReplica);
});
afterAll(async () => {
  await pool?.end();
  await otherReplica?.end();
  await db?.drop();
});
beforeEach(async () => {
  await pool.query(`TRUNCATE ${INCIDENT_TABLES.join(', ')} RESTART IDENTITY CASCADE`);
});

const declaration = (overrides: Partial<Declaration> = {}): Declaration => ({
  title: 'Policy Engine latency above 5 s',
  severity: 'sev2',
  type: 'performance',
  declaredBy: 'U0ONCALL',
  at: T0,
  ...overrides,
});

async function refusal(work: Promise<unknown>): Promise<IncidentError> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(IncidentError);
  return error as IncidentError;
}

describe('declaring', () => {
  it('records the incident with its key, times and the declarer as commander', async () => {
    const { created, ...incident } = await store.declare(declaration({ detectedAt: minutes(-7), channelId: 'C0INC1' }));
    expect(created).toBe(true);
    expect(incident).toMatchObject({
      key: 'INC-1',
      title: 'Policy Engine latency above 5 s',
      severity: 'sev2',
      type: 'performance',
      private: false,
      state: 'declared',
      channelId: 'C0INC1',
      declaredBy: 'U0ONCALL',
      declaredAt: T0,
      detectedAt: minutes(-7),
      lastUpdateAt: T0,
      roles: { commander: { holder: 'U0ONCALL', changedBy: 'U0ONCALL', changedAt: T0 } },
    });
    expect(incident.resolvedAt).toBeUndefined();
    expect(await store.find('inc-1')).toEqual(incident);
    expect(await store.find('INC-2')).toBeUndefined();
    expect(await store.find('nonsense')).toBeUndefined();
    expect((await store.timeline(incident.id)).map((entry) => [entry.kind, entry.actor, entry.text, entry.occurredAt])).toEqual([
      ['declared', 'U0ONCALL', 'declared sev2 performance incident: Policy Engine latency above 5 s', T0],
    ]);
  });

  it('records a declaration once per request key: a retry answers the incident the first one declared', async () => {
    const first = await store.declare(declaration({ requestKey: 'trigger:123.456' }));
    const again = await other.declare(declaration({ requestKey: 'trigger:123.456', title: 'typed again', at: minutes(1) }));
    expect(again).toMatchObject({ created: false, key: first.key, title: first.title, declaredAt: T0 });
    expect((await pool.query('SELECT count(*)::int AS n FROM incidents')).rows[0].n).toBe(1);
    expect((await store.timeline(first.id)).filter((entry) => entry.kind === 'declared')).toHaveLength(1);
    expect((await store.roleHistory(first.id)).length).toBe(1);
    // Another request is another incident.
    expect(await store.declare(declaration({ requestKey: 'trigger:789' }))).toMatchObject({ created: true, key: 'INC-2' });
  });

  it('declares once when two replicas receive the same request at the same time', async () => {
    const both = await Promise.all([store.declare(declaration({ requestKey: 'trigger:same' })), other.declare(declaration({ requestKey: 'trigger:same' }))]);
    expect(both.map((incident) => incident.created).sort()).toEqual([false, true]);
    expect(both[0].key).toBe(both[1].key);
    expect((await pool.query('SELECT count(*)::int AS n FROM incidents')).rows[0].n).toBe(1);
  });

  it('makes a security incident private unless told otherwise, and detection defaults to the declaration', async () => {
    const security = await store.declare(declaration({ type: 'security' }));
    expect(security).toMatchObject({ private: true, detectedAt: T0 });
    expect(await store.declare(declaration({ type: 'security', private: false }))).toMatchObject({ private: false });
  });

  it('gives two replicas declaring at once different keys', async () => {
    const declared = await Promise.all(Array.from({ length: 10 }, (_, n) => (n % 2 === 0 ? store : other).declare(declaration({ title: `outage ${n}` }))));
    const keys = new Set(declared.map((incident) => incident.key));
    expect(keys.size).toBe(10);
  });

  it.each([
    [{ severity: 'sev5' }, 'unknown severity "sev5": use one of sev1, sev2, sev3, sev4'],
    [{ type: 'network' }, 'unknown incident type "network": use one of performance, security, constitutional, infrastructure'],
    [{ title: '   ' }, 'the title is empty'],
    [{ title: undefined }, 'the title is missing'],
    [{ title: 'x'.repeat(MAX_TITLE_LENGTH + 1) }, `the title is too long (at most ${MAX_TITLE_LENGTH} characters)`],
    [{ declaredBy: '' }, 'who declared it is empty'],
    [{ detectedAt: minutes(1) }, 'the detection time is after the declaration: an incident is declared once something was noticed'],
    [{ requestKey: ' ' }, 'the request key is empty'],
  ])('refuses %j: %s, and stores nothing', async (overrides, message) => {
    const error = await refusal(store.declare(declaration(overrides as Partial<Declaration>)));
    expect(error).toMatchObject({ code: 'invalid', message });
    expect((await pool.query('SELECT count(*)::int AS n FROM incidents')).rows[0].n).toBe(0);
  });

  it('trims the title', async () => {
    expect(await store.declare(declaration({ title: '  audit chain broken  ' }))).toMatchObject({ title: 'audit chain broken' });
  });
});

describe('roles, severity and type', () => {
  it('records each role change with who and when, and puts it on the timeline', async () => {
    const { id } = await store.declare(declaration());
    const handed = await store.changeRole(id, { role: 'commander', holder: 'U0LEAD', by: 'U0ONCALL', at: minutes(5) });
    expect(handed.changed).toBe(true);
    await store.changeRole(id, { role: 'scribe', holder: 'U0SCRIBE', by: 'U0LEAD', at: minutes(6) });
    const again = await store.changeRole(id, { role: 'scribe', holder: 'U0SCRIBE', by: 'U0LEAD', at: minutes(7) });
    expect(again.changed).toBe(false);
    expect(again.incident.roles).toEqual({
      commander: { holder: 'U0LEAD', changedBy: 'U0ONCALL', changedAt: minutes(5) },
      scribe: { holder: 'U0SCRIBE', changedBy: 'U0LEAD', changedAt: minutes(6) },
    });
    expect((await store.roleHistory(id)).map((change) => [change.role, change.holder])).toEqual([
      ['commander', 'U0ONCALL'],
      ['commander', 'U0LEAD'],
      ['scribe', 'U0SCRIBE'],
    ]);
    expect((await store.timeline(id)).map((entry) => [entry.kind, entry.actor, entry.text])).toEqual([
      ['declared', 'U0ONCALL', 'declared sev2 performance incident: Policy Engine latency above 5 s'],
      ['role-change', 'U0ONCALL', 'commander: U0LEAD'],
      ['role-change', 'U0LEAD', 'scribe: U0SCRIBE'],
    ]);
  });

  it('records severity and type changes on the timeline, once', async () => {
    const { id } = await store.declare(declaration());
    expect((await store.changeSeverity(id, 'sev1', 'U0LEAD', minutes(3))).incident.severity).toBe('sev1');
    expect((await store.changeSeverity(id, 'sev1', 'U0LEAD', minutes(4))).changed).toBe(false);
    expect((await store.changeType(id, 'security', 'U0LEAD', minutes(5))).incident.type).toBe('security');
    expect((await store.timeline(id)).slice(1).map((entry) => [entry.kind, entry.text, entry.occurredAt])).toEqual([
      ['severity-change', 'severity changed from sev2 to sev1', minutes(3)],
      ['type-change', 'type changed from performance to security', minutes(5)],
    ]);
  });

  it('refuses an unknown role, severity or type, and an incident that does not exist', async () => {
    const { id } = await store.declare(declaration());
    expect(await refusal(store.changeRole(id, { role: 'observer' as never, holder: 'U0X', by: 'U0LEAD', at: minutes(1) }))).toMatchObject({
      message: 'unknown incident role "observer": use one of commander, communications, scribe',
    });
    expect((await refusal(store.changeSeverity(id, 'critical', 'U0LEAD', minutes(1)))).message).toBe('unknown severity "critical": use one of sev1, sev2, sev3, sev4');
    expect((await refusal(store.changeType(id, '', 'U0LEAD', minutes(1)))).message).toMatch(/^unknown incident type ""/);
    expect(await refusal(store.changeSeverity('INC-99', 'sev1', 'U0LEAD', minutes(1)))).toMatchObject({ code: 'not-found', message: 'there is no incident INC-99' });
    expect(await refusal(store.timeline('INC-x'))).toMatchObject({ code: 'not-found', message: '"INC-x" is not an incident: incidents are named INC-<number>' });
  });
});

describe('timeline and status updates', () => {
  it('keeps entries in the order they happened, with their original times and references', async () => {
    const { id } = await store.declare(declaration());
    await store.addToTimeline(id, { kind: 'marked-message', occurredAt: minutes(2), actor: 'U0SRE', text: 'restarted the engine by hand', reference: 'https://acgs.slack.com/archives/C0INC1/p1' }, minutes(20));
    await store.addToTimeline(id, { kind: 'command', occurredAt: minutes(1), actor: 'U0ONCALL', text: '/acgs health', reference: 'trail:42' }, minutes(1));
    const timeline = await store.timeline(id);
    expect(timeline.map((entry) => [entry.kind, entry.occurredAt, entry.recordedAt, entry.reference])).toEqual([
      ['declared', T0, T0, undefined],
      ['command', minutes(1), minutes(1), 'trail:42'],
      ['marked-message', minutes(2), minutes(20), 'https://acgs.slack.com/archives/C0INC1/p1'],
    ]);
  });

  it('records a status update, moves the reminder clock forward only, and puts it on the timeline', async () => {
    const { id } = await store.declare(declaration());
    await store.postUpdate(id, { author: 'U0COMMS', text: 'Mitigated by scaling to 3 replicas', at: minutes(30) });
    await store.postUpdate(id, { author: 'U0COMMS', text: 'A replayed earlier update', at: minutes(10) });
    expect((await store.find(id))!.lastUpdateAt).toEqual(minutes(30));
    expect((await store.statusUpdates(id)).map((update) => update.text)).toEqual(['A replayed earlier update', 'Mitigated by scaling to 3 replicas']);
    expect((await store.timeline(id)).filter((entry) => entry.kind === 'status-update')).toHaveLength(2);
  });

  it('refuses an unknown kind, empty text and an empty update', async () => {
    const { id } = await store.declare(declaration());
    expect((await refusal(store.addToTimeline(id, { kind: 'gossip' as never, occurredAt: T0, actor: 'U0X', text: 'x' }, T0))).message).toMatch(/^unknown timeline entry kind "gossip"/);
    expect((await refusal(store.addToTimeline(id, { kind: 'note', occurredAt: T0, actor: 'U0X', text: ' ' }, T0))).message).toBe('the text is empty');
    expect((await refusal(store.postUpdate(id, { author: 'U0X', text: '', at: T0 }))).message).toBe('the update is empty');
    expect((await store.timeline(id)).map((entry) => entry.kind)).toEqual(['declared']);
  });
});

describe('resolving and closing', () => {
  it('goes declared -> resolved -> closed, recording who and when', async () => {
    const { id } = await store.declare(declaration({ detectedAt: minutes(-5) }));
    const resolved = await store.resolve(id, 'U0LEAD', minutes(40));
    expect(resolved).toMatchObject({ changed: true, incident: { state: 'resolved', resolvedAt: minutes(40), resolvedBy: 'U0LEAD' } });
    const closed = await store.close(id, 'U0LEAD', minutes(90));
    expect(closed).toMatchObject({ changed: true, incident: { state: 'closed', closedAt: minutes(90), closedBy: 'U0LEAD', resolvedAt: minutes(40) } });
    expect((await store.close(id, 'U0LEAD', minutes(91))).changed).toBe(false);
  });

  it('records one resolution when two replicas resolve at once', async () => {
    const { id } = await store.declare(declaration());
    const [fromA, fromB] = await Promise.all([store.resolve(id, 'U0ALICE', minutes(10)), other.resolve(id, 'U0BOB', minutes(11))]);
    expect([fromA.changed, fromB.changed].sort()).toEqual([false, true]);
    const winner = fromA.changed ? fromA : fromB;
    expect(fromA.incident.resolvedAt).toEqual(winner.incident.resolvedAt);
    expect(fromB.incident.resolvedBy).toBe(winner.incident.resolvedBy);
  });

  it('puts the resolution and the close on the timeline, once each, with who and when', async () => {
    const { id } = await store.declare(declaration());
    await store.resolve(id, 'U0LEAD', minutes(40));
    await store.resolve(id, 'U0OTHER', minutes(41));
    await store.close(id, 'U0SCRIBE', minutes(90));
    await store.close(id, 'U0OTHER', minutes(91));
    expect((await store.timeline(id)).map((entry) => [entry.kind, entry.actor, entry.occurredAt])).toEqual([
      ['declared', 'U0ONCALL', T0],
      ['resolved', 'U0LEAD', minutes(40)],
      ['closed', 'U0SCRIBE', minutes(90)],
    ]);
  });

  it('refuses a close dated before the resolution, and changes nothing', async () => {
    const { id } = await store.declare(declaration());
    await store.resolve(id, 'U0LEAD', minutes(40));
    expect(await refusal(store.close(id, 'U0LEAD', minutes(39)))).toMatchObject({ code: 'invalid', message: `INC-1 cannot be closed before it was resolved (${minutes(40).toISOString()})` });
    expect(await store.find(id)).toMatchObject({ state: 'resolved', closedAt: undefined });
    expect((await store.timeline(id)).map((entry) => entry.kind)).toEqual(['declared', 'resolved']);
  });

  it('refuses a transition that is not allowed', async () => {
    const { id } = await store.declare(declaration());
    expect(await refusal(store.close(id, 'U0LEAD', minutes(5)))).toMatchObject({ code: 'transition', message: 'INC-1 is not resolved yet: resolve it before closing it' });
    expect(await refusal(store.resolve(id, 'U0LEAD', minutes(-1)))).toMatchObject({ code: 'invalid', message: 'INC-1 cannot be resolved before it was declared' });
    await store.resolve(id, 'U0LEAD', minutes(5));
    await store.close(id, 'U0LEAD', minutes(6));
    expect(await refusal(store.resolve(id, 'U0LEAD', minutes(7)))).toMatchObject({ code: 'transition', message: 'INC-1 is closed already: it cannot be resolved again' });
    expect((await store.find(id))!.state).toBe('closed');
  });

  it('refuses role, severity, timeline and update changes on a closed incident, and changes nothing', async () => {
    const { id } = await store.declare(declaration());
    await store.resolve(id, 'U0LEAD', minutes(5));
    await store.close(id, 'U0LEAD', minutes(6));
    const closed = { code: 'closed', message: 'INC-1 is closed: nothing more can change in it' };
    expect(await refusal(store.changeRole(id, { role: 'commander', holder: 'U0NEW', by: 'U0LEAD', at: minutes(7) }))).toMatchObject(closed);
    expect(await refusal(store.changeSeverity(id, 'sev1', 'U0LEAD', minutes(7)))).toMatchObject(closed);
    expect(await refusal(store.addToTimeline(id, { kind: 'note', occurredAt: minutes(7), actor: 'U0LEAD', text: 'late' }, minutes(7)))).toMatchObject(closed);
    expect(await refusal(store.postUpdate(id, { author: 'U0LEAD', text: 'late', at: minutes(7) }))).toMatchObject(closed);
    expect(await refusal(store.setChannel(id, 'C0OTHER'))).toMatchObject(closed);
    expect((await store.find(id))!.roles.commander!.holder).toBe('U0ONCALL');
    expect((await store.timeline(id)).map((entry) => entry.kind)).toEqual(['declared', 'resolved', 'closed']);
  });
});

describe('request keys and the channel', () => {
  it('records a status update, an action item and a timeline entry once per request key', async () => {
    const { id } = await store.declare(declaration());
    const update = await store.postUpdate(id, { author: 'U0COMMS', text: 'Scaling out', at: minutes(30), requestKey: 'update-1' });
    const replay = await other.postUpdate(id, { author: 'U0COMMS', text: 'Scaling out', at: minutes(45), requestKey: 'update-1' });
    expect(update.created).toBe(true);
    expect(replay).toMatchObject({ created: false, id: update.id, postedAt: minutes(30) });
    expect((await store.find(id))!.lastUpdateAt).toEqual(minutes(30));
    expect(await store.statusUpdates(id)).toHaveLength(1);

    const item = await store.addActionItem(id, { text: 'Alert on p99', owner: 'U0SRE', by: 'U0LEAD', at: minutes(31), requestKey: 'item-1' });
    expect(await other.addActionItem(id, { text: 'Alert on p99', owner: 'U0SRE', by: 'U0LEAD', at: minutes(32), requestKey: 'item-1' })).toEqual(item);
    expect(await store.actionItems(id)).toHaveLength(1);

    const entry = await store.addToTimeline(id, { kind: 'command', occurredAt: minutes(33), actor: 'U0SRE', text: '/acgs health', requestKey: 'command:e1' }, minutes(33));
    expect(await store.addToTimeline(id, { kind: 'command', occurredAt: minutes(33), actor: 'U0SRE', text: '/acgs health', requestKey: 'command:e1' }, minutes(34))).toEqual(entry);
    expect((await store.timeline(id)).map((listed) => listed.kind)).toEqual(['declared', 'status-update', 'command']);
  });

  it('answers a replayed update after the close with what was recorded, and refuses a new one', async () => {
    const { id } = await store.declare(declaration());
    const update = await store.postUpdate(id, { author: 'U0COMMS', text: 'Fixed', at: minutes(5), requestKey: 'update-1' });
    await store.resolve(id, 'U0LEAD', minutes(6));
    await store.close(id, 'U0LEAD', minutes(7));
    expect(await store.postUpdate(id, { author: 'U0COMMS', text: 'Fixed', at: minutes(8), requestKey: 'update-1' })).toMatchObject({ id: update.id, created: false });
    expect(await refusal(store.postUpdate(id, { author: 'U0COMMS', text: 'Late', at: minutes(8), requestKey: 'update-2' }))).toMatchObject({ code: 'closed' });
    expect(await store.statusUpdates(id)).toHaveLength(1);
  });

  it('sets the channel once and never moves an incident to another one', async () => {
    const { id } = await store.declare(declaration());
    expect(await store.setChannel(id, 'C0INC1')).toMatchObject({ changed: true, incident: { channelId: 'C0INC1' } });
    expect(await other.setChannel(id, 'C0OPS')).toMatchObject({ changed: false, incident: { channelId: 'C0INC1' } });
    expect((await store.find(id))!.channelId).toBe('C0INC1');
    expect((await refusal(store.setChannel(id, ' '))).message).toBe('the channel id is empty');
  });
});

describe('action items and the list', () => {
  it('tracks action items after the incident is closed', async () => {
    const { id } = await store.declare(declaration());
    await store.resolve(id, 'U0LEAD', minutes(5));
    await store.close(id, 'U0LEAD', minutes(6));
    const item = await store.addActionItem(id, { text: 'Alert on p99 before p95', owner: 'U0SRE', by: 'U0LEAD', at: minutes(7) });
    expect(item).toMatchObject({ incidentId: id, state: 'open', owner: 'U0SRE', createdBy: 'U0LEAD' });
    expect(await store.setActionItemState(item.id, 'done', 'U0SRE', minutes(60))).toMatchObject({ state: 'done', updatedBy: 'U0SRE', updatedAt: minutes(60) });
    expect(await store.setActionItemState(item.id, 'done', 'U0OTHER', minutes(61))).toMatchObject({ updatedBy: 'U0SRE' });
    expect((await store.actionItems(id)).map((listed) => listed.state)).toEqual(['done']);
    expect((await refusal(store.setActionItemState(item.id, 'finished', 'U0SRE', minutes(62)))).message).toBe('unknown action item state "finished": use one of open, done, dropped');
    expect(await refusal(store.setActionItemState('77', 'done', 'U0SRE', minutes(62)))).toMatchObject({ code: 'not-found', message: 'there is no action item 77' });
    expect((await refusal(store.addActionItem(id, { text: 'x', owner: '', by: 'U0LEAD', at: minutes(7) }))).message).toBe('the owner is empty');
  });

  it('lists incidents not closed whatever their age and the others declared since, newest first', async () => {
    const old = await store.declare(declaration({ title: 'old and open', at: minutes(-10_000) }));
    const oldResolved = await store.declare(declaration({ title: 'old and resolved', at: minutes(-9_000) }));
    await store.resolve(oldResolved.id, 'U0LEAD', minutes(-8_000));
    const recent = await store.declare(declaration({ title: 'recent', at: minutes(10) }));
    await store.resolve(recent.id, 'U0LEAD', minutes(20));
    const oldClosed = await store.declare(declaration({ title: 'old and closed', at: minutes(-8_500) }));
    await store.resolve(oldClosed.id, 'U0LEAD', minutes(-8_000));
    await store.close(oldClosed.id, 'U0LEAD', minutes(-7_000));
    // Resolved is still open: it waits for its review and close.
    expect((await store.list({ since: minutes(0) })).map((incident) => incident.title)).toEqual(['recent', 'old and resolved', 'old and open']);
    expect((await store.open()).map((incident) => incident.title)).toEqual(['old and open', 'old and resolved', 'recent']);
    expect(old.state).toBe('declared');
  });

  it('lists with their role holders in two queries, however many incidents there are', async () => {
    for (let n = 0; n < 6; n += 1) {
      const { id } = await store.declare(declaration({ title: `incident ${n}`, declaredBy: `U0DECLARER${n}`, at: minutes(n) }));
      if (n % 2 === 0) await store.changeRole(id, { role: 'scribe', holder: `U0SCRIBE${n}`, by: 'U0LEAD', at: minutes(n + 1) });
    }
    const counted = createPool({ databaseUrl: db.url, max: 2, applicationName: 'acgs-incidents-test-count' });
    let queries = 0;
    const query = counted.query.bind(counted);
    counted.query = ((...args: Parameters<typeof query>) => {
      queries += 1;
      return query(...args);
    }) as typeof counted.query;
    try {
      const listed = await createIncidentStore(counted).list({ since: minutes(-1) });
      expect(queries).toBe(2);
      expect(listed.map((incident) => [incident.title, incident.roles.commander?.holder, incident.roles.scribe?.holder])).toEqual([
        ['incident 5', 'U0DECLARER5', undefined],
        ['incident 4', 'U0DECLARER4', 'U0SCRIBE4'],
        ['incident 3', 'U0DECLARER3', undefined],
        ['incident 2', 'U0DECLARER2', 'U0SCRIBE2'],
        ['incident 1', 'U0DECLARER1', undefined],
        ['incident 0', 'U0DECLARER0', 'U0SCRIBE0'],
      ]);
    } finally {
      await counted.end();
    }
  });

  it('gives the times of the incidents declared in a period, the end excluded', async () => {
    await store.declare(declaration({ title: 'before', at: minutes(-1) }));
    const inside = await store.declare(declaration({ title: 'inside', at: minutes(10), detectedAt: minutes(4) }));
    await store.resolve(inside.id, 'U0LEAD', minutes(30));
    await store.declare(declaration({ title: 'at the end', at: minutes(60) }));
    expect(await store.declaredIn({ from: minutes(0), to: minutes(60) })).toEqual([{ detectedAt: minutes(4), declaredAt: minutes(10), resolvedAt: minutes(30) }]);
  });
});
