/**
 * Issue 10, item 5: the trail against its own database owner. The bot runs as a role that may only
 * append; the owner role (migrations) can still switch triggers off, delete a record, recompute
 * every hash and move the head, so that the chain alone looks intact; the signed checkpoints,
 * whose key is outside the database, show the rewrite and name the missing record.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateApprovalStore } from '../../bot/approvals/index.js';
import { type AuditTrail, createAuditTrail } from '../../bot/audit-trail/audit-trail.js';
import { auditTrailVerifyDocument } from '../../commands/audit-documents.js';
import { type ChainedRecord, TRAIL_TABLES, trailChainHash, trailContentHash, trailGenesisHash } from '../../bot/audit-trail/trail-chain.js';
import { auditEngineWitness, loadTrailSigningKey, TRAIL_CHECKPOINT_EVENT } from '../../bot/audit-trail/trail-checkpoints.js';
import { createTrailStore, rowToChained, type TrailRow, TRAIL_COLUMNS } from '../../bot/audit-trail/trail-store.js';
import { verifyTrail } from '../../bot/audit-trail/trail-verifier.js';
import { describeBotRoles, prepareBotDatabase } from '../../bot/bot-database.js';
import { buildApp as buildAuditEngine } from '../../services/audit-engine/app.js';
import { loadConfig as loadAuditEngineConfig } from '../../services/audit-engine/config.js';
import { createAuditEngineClient } from '../../services/clients/audit-engine.js';
import { createAuditOutbox } from '../../services/kit/audit-outbox.js';
import { createPool } from '../../services/kit/postgres.js';
import { createChecklistStore, migrateChecklistStore } from '../../runbooks/checklists/checklist-store.js';
import { createNoticeLedger, migrateNoticeLedger } from '../../bot/notices/notice-ledger.js';
import { createAlertStore, migrateAlertStore } from '../../bot/alerts/alert-store.js';
import { createAlertMessageStore, migrateAlertMessageStore } from '../../bot/slack/alert-message-store.js';
import { createEscalationRecords, migrateEscalationRecords } from '../../bot/alerts/escalation-records.js';
import { createPageLedger, migratePageLedger } from '../../bot/paging/page-ledger.js';
import { createLevelOneClaims } from '../../bot/alerts/level-one-claims.js';
import { createLeaseStore, migrateLeaseStore } from '../../bot/leadership/lease-store.js';
import { createIncidentStore, migrateIncidentStore } from '../../bot/incidents/incident-store.js';
import { createReviewStore, incidentInfo, incidentReviews } from '../../bot/incidents/index.js';
import { createUpdateReminderLedger, type UpdateReminderLedger } from '../../bot/incidents/update-reminder-duty.js';
import type { DeploymentNotice } from '../../runbooks/engine/ports.js';
import { createReleaseRecords, migrateReleaseRecords } from '../../runbooks/deploy/release-records.js';
import { createRunStore, migrateRunStore } from '../../runbooks/engine/run-store.js';
import { type RewritableChain, createRuntimeRole, rewriteChainWithout } from '../testing/chain-owner.js';
import { unusedLoopbackPort } from '../testing/loopback.js';
import { TEST_SERVICE_TOKEN } from '../testing/tokens.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';

interface RolesFixture {
  db: TestDatabase;
  /** The owner role's connection (here the superuser that created the database). */
  owner: pg.Client;
  /** A connection as the bot's restricted role. */
  bot: pg.Client;
  runtimeUrl: string;
  pool: pg.Pool;
  stateDir: string;
  trail: AuditTrail;
  close(): Promise<void>;
}

const fixtures: RolesFixture[] = [];
afterAll(async () => {
  await Promise.allSettled(fixtures.map((fixture) => fixture.close()));
});

/**
 * A database set up the old way first (the bot's role ran the migrations and owned the trail),
 * then prepared with an owner role as the fix does.
 */
async function restrictedTrail(): Promise<RolesFixture> {
  const db = await createTestDatabase('acgs_trail_roles');
  const owner = new pg.Client({ connectionString: db.url });
  await owner.connect();
  const role = await createRuntimeRole(db, owner, 'acgs_bot');
  const runtimeUrl = role.url;
  const stateDir = mkdtempSync(join(tmpdir(), 'acgs-trail-roles-'));
  const pool = createPool({ databaseUrl: runtimeUrl, max: 2, applicationName: 'acgs-trail-roles-test' });
  const bot = new pg.Client({ connectionString: runtimeUrl });
  const fixture: RolesFixture = {
    db,
    owner,
    bot,
    runtimeUrl,
    pool,
    stateDir,
    trail: undefined as unknown as AuditTrail,
    async close() {
      await fixture.trail?.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await bot.end().catch(() => undefined);
      await owner.end().catch(() => undefined);
      await db.drop();
      await role.drop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  fixtures.push(fixture);

  // The former set-up: the bot's own role created (and so owned) the trail.
  await owner.query(`GRANT CREATE ON SCHEMA public TO ${role.name}`);
  await createTrailStore(pool).initialize();
  await owner.query(`REVOKE CREATE ON SCHEMA public FROM ${role.name}`);

  const roles = await prepareBotDatabase({ ownerUrl: db.url, runtimeUrl });
  expect(roles).toMatchObject({ runtimeRole: role.name, ownerRole: 'postgres', restricted: true, runtimeIsSuperuser: false });
  await bot.connect();
  fixture.trail = createAuditTrail({
    pool,
    spoolDir: join(stateDir, 'spool'),
    checkpoints: { key: loadTrailSigningKey(stateDir, {}), localFile: join(stateDir, 'trail-checkpoint.json'), everyRecords: 1000 },
  });
  await fixture.trail.start();
  return fixture;
}

/** Six records, the third a break-glass, signed by a checkpoint; then two more after it. */
async function appendHistory(trail: AuditTrail): Promise<string> {
  for (let index = 1; index <= 6; index += 1) {
    if (index === 3) {
      await trail.append({ kind: 'break_glass', actor: 'U0ADMIN', command: 'lockdown', key: 'break_glass:incident-42', details: { reason: 'attack' } });
    } else {
      await trail.append({ kind: 'command', actor: 'U0ALICE', command: 'scale', args: { replicas: index } });
    }
  }
  expect((await trail.checkpoint!()).map((checkpoint) => checkpoint.sequence)).toEqual([6]);
  await trail.append({ kind: 'command', actor: 'U0BOB', command: 'health' });
  await trail.append({ kind: 'command', actor: 'U0BOB', command: 'metrics' });
  return 'break_glass:incident-42';
}

/** The trail's chain for the owner's rewrite (test/testing/chain-owner.ts). */
const TRAIL_CHAIN: RewritableChain<ChainedRecord> = {
  tables: TRAIL_TABLES,
  prevHashColumn: 'prev_hash',
  idColumn: 'idempotency_key',
  genesisHash: trailGenesisHash(),
  records: async (owner) => (await owner.query<TrailRow>(`SELECT ${TRAIL_COLUMNS} FROM bot_audit_trail ORDER BY sequence`)).rows.map(rowToChained),
  rehash(record, sequence, prevHash) {
    const moved = trailContentHash({ ...record, sequence });
    return { id: record.idempotency_key, contentHash: moved, hash: trailChainHash(prevHash, moved) };
  },
};

const rewriteWithout = (owner: pg.Client, sequence: number) => rewriteChainWithout(owner, TRAIL_CHAIN, sequence);

describe("the bot's restricted database role", () => {
  let fixture: RolesFixture;
  beforeAll(async () => {
    fixture = await restrictedTrail();
    await appendHistory(fixture.trail);
  });

  it('cannot switch the triggers off, delete, change or truncate records, move the head back or remove checkpoints', async () => {
    const { bot } = fixture;
    const refusals: [string, RegExp][] = [
      ['ALTER TABLE bot_audit_trail DISABLE TRIGGER USER', /must be owner of table bot_audit_trail/],
      ['ALTER TABLE bot_audit_trail_head DISABLE TRIGGER USER', /must be owner of table bot_audit_trail_head/],
      ['SET session_replication_role = replica', /permission denied to set parameter/],
      ['DELETE FROM bot_audit_trail WHERE sequence = 3', /permission denied for table bot_audit_trail/],
      [`UPDATE bot_audit_trail SET actor = 'U0MALLORY' WHERE sequence = 3`, /permission denied for table bot_audit_trail/],
      ['TRUNCATE bot_audit_trail', /permission denied for table bot_audit_trail/],
      ['UPDATE bot_audit_trail_head SET sequence = 2', /only moves forward/],
      ['DELETE FROM bot_audit_trail_checkpoints', /permission denied for table bot_audit_trail_checkpoints/],
      ['UPDATE bot_audit_trail_checkpoints SET records = $$[]$$', /permission denied for table bot_audit_trail_checkpoints/],
      ['CREATE OR REPLACE FUNCTION bot_audit_trail_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END; $$', /must be owner of function|permission denied for schema public/],
      ['DROP TABLE bot_audit_trail', /must be owner of table bot_audit_trail/],
    ];
    for (const [statement, refusal] of refusals) await expect(bot.query(statement), statement).rejects.toThrow(refusal);
    expect(await fixture.trail.verify()).toMatchObject({ valid: true, head: { sequence: 8 } });
  });

  it('still appends, reads its trail, and uses the approvals and evolution review tables', async () => {
    const { trail, pool, bot } = fixture;
    expect(await trail.append({ kind: 'command', actor: 'U0CAROL', command: 'status' })).toMatchObject({ stored: 'chain' });
    expect((await trail.query({ user: 'U0CAROL' })).records).toHaveLength(1);
    // Nothing is pending, so the bot's start-up migration only reads the bookkeeping table.
    expect(await migrateApprovalStore(pool)).toEqual([]);
    const privileges = await bot.query<{ allowed: boolean }>(
      `SELECT bool_and(has_table_privilege(current_user, t, p)) AS allowed
         FROM unnest(ARRAY['approval_requests', 'approval_votes', 'evolution_review_cards']) AS t,
              unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS p`,
    );
    expect(privileges.rows[0]!.allowed).toBe(true);
  });

  it('records runbook runs in the tables the owner migrated, and cannot delete them', async () => {
    const { pool, bot } = fixture;
    expect(await migrateRunStore(pool)).toEqual([]);
    const run = await createRunStore(pool).create({ runbook: 'health-check', version: 'v1', args: {}, requester: 'U0CAROL', origin: 'slash' });
    expect(await createRunStore(pool).get(run.id)).toMatchObject({ state: 'pending', requester: 'U0CAROL' });
    await expect(bot.query('DELETE FROM runbook_runs')).rejects.toThrow(/permission denied for table runbook_runs/);
    await expect(bot.query('DROP TABLE runbook_step_attempts')).rejects.toThrow(/must be owner of table runbook_step_attempts/);
  });

  it('starts and ticks checklists in the tables the owner migrated, and cannot rewrite their history', async () => {
    const { pool, bot } = fixture;
    expect(await migrateChecklistStore(pool)).toEqual([]);
    const store = createChecklistStore(pool);
    const id = randomUUID();
    await store.create({ id, checklist: 'monthly-review', title: 'Monthly review', startedBy: 'U0CAROL', origin: 'slash', items: [{ id: 'team-training', text: 'Team training conducted', mode: 'manual', note: 'people' }] });
    expect(await store.mark(id, 'team-training', 'U0CAROL', 'tick')).toMatchObject({ completedBy: 'U0CAROL' });
    expect(await store.events(id)).toMatchObject([{ itemId: 'team-training', action: 'tick', actor: 'U0CAROL' }]);
    await expect(bot.query('UPDATE checklist_events SET actor = $$U0MALLORY$$')).rejects.toThrow(/permission denied for table checklist_events/);
    await expect(bot.query('DELETE FROM checklist_events')).rejects.toThrow(/permission denied for table checklist_events/);
  });

  it('records which targets a deployment notice reached in the table the owner migrated, and cannot remove them', async () => {
    const { pool, bot } = fixture;
    expect(await migrateNoticeLedger(pool)).toEqual([]);
    const ledger = createNoticeLedger(pool);
    const notice: DeploymentNotice = { kind: 'started', runId: randomUUID(), version: '1.4.0', requester: 'U0CAROL', startedAt: '2026-12-06T03:00:00.000Z', services: [] };
    await ledger.record(notice, 'direct-message', 'U0CAROL');
    await ledger.record(notice, 'direct-message', 'U0CAROL');
    expect(await ledger.reached(notice)).toEqual(new Set(['direct-message:U0CAROL']));
    await expect(bot.query('DELETE FROM deployment_notice_deliveries')).rejects.toThrow(/permission denied for table deployment_notice_deliveries/);
  });

  it('records deployments and takes the deploy lock in the tables the owner migrated, and cannot rewrite the lock\'s history', async () => {
    const { pool, bot } = fixture;
    expect(await migrateReleaseRecords(pool)).toEqual([]);
    const records = createReleaseRecords({ pool, stack: { kind: 'local', description: 'local processes' } });
    const run = await createRunStore(pool).create({ runbook: 'deploy', version: 'v1', args: {}, requester: 'U0CAROL', origin: 'slash' });
    await records.acquire(run.id, 'deploy', 'U0CAROL');
    expect(await records.forceUnlock('U0ADMIN', 'the runner hung for an hour')).toMatchObject({ runId: run.id });
    expect(await records.recordInitial('policy-engine', { version: '0.1.0', commit: null, artifact: null })).toMatchObject({ kind: 'initial' });
    await expect(bot.query('UPDATE deploy_lock_events SET reason = $$nothing$$')).rejects.toThrow(/permission denied for table deploy_lock_events/);
    await expect(bot.query('DELETE FROM deployment_records')).rejects.toThrow(/permission denied for table deployment_records/);
  });

  it('takes alerts in, acknowledges and silences them in the tables the owner migrated, and cannot rewrite their history', async () => {
    const { pool, bot } = fixture;
    expect(await migrateAlertStore(pool)).toEqual([]);
    const alerts = createAlertStore({ pool });
    await alerts.silence({ rule: 'HighCpu', until: new Date(Date.now() + 60_000), reason: 'load test', by: 'U0CAROL' });
    const report = { source: 'monitor', fingerprint: 'monitor/ServiceDown/service=audit-engine', rule: 'ServiceDown', status: 'firing', labels: {}, annotations: {}, startsAt: new Date() } as const;
    expect(await alerts.report([report, report])).toEqual({ stored: 1, duplicates: 1 });
    const [open] = await alerts.listOpen();
    expect(await alerts.acknowledge(open!.id, 'U0CAROL')).toMatchObject({ changed: true });
    await expect(bot.query('UPDATE alert_events SET actor = $$U0MALLORY$$')).rejects.toThrow(/permission denied for table alert_events/);
    await expect(bot.query('DELETE FROM alert_silences')).rejects.toThrow(/permission denied for table alert_silences/);
    await expect(bot.query('DELETE FROM alerts')).rejects.toThrow(/permission denied for table alerts/);
    // Level 1's claims: taken once, finished, never deleted.
    const claims = createLevelOneClaims(pool);
    const claim = { alertId: open!.id, episode: open!.firedAt, attempt: 1, rule: 'ServiceDown', service: 'audit-engine', command: 'restart audit-engine', claimedBy: 'replica-a', at: new Date() };
    const claimed = await claims.claim(claim);
    expect(await claims.claim({ ...claim, claimedBy: 'replica-b' })).toBeUndefined();
    await claims.finish(claimed!.id, 'succeeded', new Date(), { evidence: 'healthy' });
    expect(await claims.ofEpisode(open!.id, open!.firedAt)).toMatchObject([{ outcome: 'succeeded', claimedBy: 'replica-a' }]);
    await expect(bot.query('DELETE FROM alert_level_one_actions')).rejects.toThrow(/permission denied for table alert_level_one_actions/);
  });

  it('takes, renews and hands over leases in the table the owner migrated, and cannot delete them', async () => {
    const { pool, bot } = fixture;
    expect(await migrateLeaseStore(pool)).toEqual([]);
    const leases = createLeaseStore(pool);
    const held = await leases.acquire('alert-monitor', 'replica-a', 10_000);
    expect(await leases.renew(held!, 10_000)).toMatchObject({ holder: 'replica-a' });
    await leases.release(held!);
    expect(await leases.acquire('alert-monitor', 'replica-b', 10_000)).toMatchObject({ fencingToken: '2' });
    await expect(bot.query('DELETE FROM leadership_leases')).rejects.toThrow(/permission denied for table leadership_leases/);
  });

  it("decides, posts and tells alert messages in the tables the owner migrated, and cannot delete where they are", async () => {
    const { pool, bot } = fixture;
    expect(await migrateAlertMessageStore(pool)).toEqual([]);
    const alerts = createAlertStore({ pool });
    await alerts.report([{ source: 'monitor', fingerprint: 'monitor/ServiceDown/service=policy-engine', rule: 'ServiceDown', status: 'firing', labels: {}, annotations: {}, startsAt: new Date() }]);
    const alert = (await alerts.byFingerprint('monitor/ServiceDown/service=policy-engine'))!;
    const messages = createAlertMessageStore({ pool });
    const decision = await messages.decide(alert.id, { channel: 'C0ACGSALERT', stormThreshold: 1, toldThrough: '0' });
    expect(decision.kind).toBe('message');
    expect(await messages.posted(alert.id, (decision as { claim: { token: string } }).claim, '1765000000.000100')).toBe(true);
    expect(await messages.takeReplies(alert.id, '0', '5')).toBe(true);
    // The threshold is reached: the next alert joins a storm, whose summary the role records too.
    await alerts.report([{ source: 'monitor', fingerprint: 'monitor/ServiceDown/service=audit-engine', rule: 'ServiceDown', status: 'firing', labels: {}, annotations: {}, startsAt: new Date() }]);
    const second = (await alerts.byFingerprint('monitor/ServiceDown/service=audit-engine'))!;
    const storm = await messages.decide(second.id, { channel: 'C0ACGSALERT', stormThreshold: 1, toldThrough: '0' });
    expect(storm).toMatchObject({ kind: 'storm' });
    expect((await messages.storm((storm as { stormId: string }).stormId))!.total).toBe(1);
    await expect(bot.query('DELETE FROM bot_slack_alert_messages')).rejects.toThrow(/permission denied for table bot_slack_alert_messages/);
    await expect(bot.query('DELETE FROM bot_slack_alert_storms')).rejects.toThrow(/permission denied for table bot_slack_alert_storms/);
  });

  it('claims an escalation level in the table the owner migrated, once, and cannot undo or change it', async () => {
    const { pool, bot } = fixture;
    expect(await migrateEscalationRecords(pool)).toEqual([]);
    const alerts = createAlertStore({ pool });
    const startsAt = new Date();
    await alerts.report([{ source: 'monitor', fingerprint: 'monitor/HighCpu/service=policy-engine', rule: 'HighCpu', status: 'firing', labels: {}, annotations: {}, startsAt }]);
    const alert = (await alerts.byFingerprint('monitor/HighCpu/service=policy-engine'))!;
    const records = createEscalationRecords(pool);
    expect(await records.claim({ alertId: alert.id, firedAt: startsAt }, 2, new Date(), 'HighCpu alerts start at Level 2')).toBe(true);
    expect(await records.claim({ alertId: alert.id, firedAt: startsAt }, 2, new Date(), 'HighCpu alerts start at Level 2')).toBe(false);
    await expect(bot.query('DELETE FROM alert_escalations')).rejects.toThrow(/permission denied for table alert_escalations/);
    await expect(bot.query('UPDATE alert_escalations SET level = 1')).rejects.toThrow(/permission denied for table alert_escalations/);
  });

  it('claims, attempts and ends an alert page in the table the owner migrated, and cannot delete it', async () => {
    const { pool, bot } = fixture;
    expect(await migratePageLedger(pool)).toEqual([]);
    const alerts = createAlertStore({ pool });
    const startsAt = new Date();
    await alerts.report([{ source: 'monitor', fingerprint: 'monitor/HighMemory/service=policy-engine', rule: 'HighMemory', status: 'firing', labels: {}, annotations: {}, startsAt }]);
    const alert = (await alerts.byFingerprint('monitor/HighMemory/service=policy-engine'))!;
    const ledger = createPageLedger(pool);
    const key = { alertId: alert.id, episode: startsAt, level: 2 as const, contact: 'pager', channel: 'webhook' as const, target: 'https://paging.example.com' };
    const now = new Date();
    expect(await ledger.claim([key], { reason: 'HighMemory alerts start at Level 2', issueType: 'infrastructure' }, now)).toHaveLength(1);
    expect(await ledger.claim([key], { reason: 'HighMemory alerts start at Level 2', issueType: 'infrastructure' }, now)).toEqual([]);
    expect(await ledger.take(key, 0, now, new Date(now.getTime() + 30_000))).toBe(true);
    await ledger.finish(key, 'sent', now);
    expect((await ledger.ofAlert(alert.id)).map((page) => [page.state, page.attempts])).toEqual([['sent', 1]]);
    await expect(bot.query('DELETE FROM alert_pages')).rejects.toThrow(/permission denied for table alert_pages/);
  });

  it('runs an incident through the tables the owner migrated, and cannot rewrite its history', async () => {
    const { pool, bot } = fixture;
    expect(await migrateIncidentStore(pool)).toEqual([]);
    const incidents = createIncidentStore(pool);
    const at = new Date();
    const { id } = await incidents.declare({ title: 'Audit chain head stuck', severity: 'sev2', type: 'infrastructure', declaredBy: 'U0CAROL', at });
    await incidents.changeRole(id, { role: 'scribe', holder: 'U0DAVE', by: 'U0CAROL', at });
    await incidents.postUpdate(id, { author: 'U0CAROL', text: 'Restarting the audit engine', at });
    await incidents.resolve(id, 'U0CAROL', at);
    const item = await incidents.addActionItem(id, { text: 'Alert on a stuck head', owner: 'U0DAVE', by: 'U0CAROL', at });
    expect(await incidents.setActionItemState(item.id, 'done', 'U0DAVE', at)).toMatchObject({ state: 'done' });
    for (const table of ['incident_timeline', 'incident_role_changes', 'incident_status_updates']) {
      await expect(bot.query(`UPDATE ${table} SET incident_id = incident_id`)).rejects.toThrow(new RegExp(`permission denied for table ${table}`));
      await expect(bot.query(`DELETE FROM ${table}`)).rejects.toThrow(new RegExp(`permission denied for table ${table}`));
    }
    await expect(bot.query('DELETE FROM incidents')).rejects.toThrow(/permission denied for table incidents/);

    // The review is kept once as written and never rewritten; a reminder's claim may be given back.
    await incidents.close(id, 'U0CAROL', at);
    const reviews = incidentReviews({ store: incidents, reviews: createReviewStore(pool), timeZone: 'UTC' });
    await reviews.closed(incidentInfo((await incidents.find(id))!));
    expect((await reviews.review(`INC-${id}`, 'U0DAVE', at)).draft).toBe(false);
    await expect(bot.query('UPDATE incident_reviews SET markdown = $1', ['rewritten'])).rejects.toThrow(/permission denied for table incident_reviews/);
    await expect(bot.query('DELETE FROM incident_reviews')).rejects.toThrow(/permission denied for table incident_reviews/);
    const reminder = { onceKey: `incident-update-reminder:${id}:${at.toISOString()}`, incident: { id }, dueAt: at } as Parameters<UpdateReminderLedger['claim']>[0];
    const ledger = createUpdateReminderLedger(pool);
    expect(await ledger.claim(reminder, at)).toBe(true);
    expect(await ledger.claim(reminder, at)).toBe(false);
    await ledger.release(reminder);
    expect(await ledger.claim(reminder, at)).toBe(true);
  });
});

describe('a rewrite by the owner role', () => {
  it('triggers off, a break-glass record deleted, hashes recomputed, head moved: the chain alone looks intact, the checkpoint names the missing record', async () => {
    const { trail, owner, pool } = await restrictedTrail();
    const breakGlass = await appendHistory(trail);
    await rewriteWithout(owner, 3);

    // What `audit verify` said before checkpoints: every hash and link matches again.
    expect(await verifyTrail(createTrailStore(pool))).toMatchObject({ valid: true, head: { sequence: 7 } });

    const verification = await trail.verify({ scope: 'checkpoint' });
    expect(verification).toMatchObject({
      valid: false,
      firstBad: { sequence: 3, check: 'missing' },
      missing: [{ sequence: 3, key: breakGlass }],
    });
    expect(verification.firstBad!.problem).toContain(`record #3 (${breakGlass})`);
    const document = auditTrailVerifyDocument(verification);
    expect(document).toMatchObject({ tone: 'fail', title: "Bot's audit trail broken" });
    expect(JSON.stringify(document.blocks)).toContain(`#3 ${breakGlass}`);
    expect((await trail.verify({ scope: 'full' })).firstBad).toMatchObject({ sequence: 3, check: 'missing' });
  });

  it('is still shown when the owner also deletes the checkpoints from the database: the copy outside it is kept', async () => {
    const { trail, owner, stateDir } = await restrictedTrail();
    await appendHistory(trail);
    expect(statSync(join(stateDir, 'trail-checkpoint.json')).mode & 0o777).toBe(0o600);
    await rewriteWithout(owner, 2);
    await owner.query('ALTER TABLE bot_audit_trail_checkpoints DISABLE TRIGGER USER');
    await owner.query('DELETE FROM bot_audit_trail_checkpoints');
    const verification = await trail.verify({ scope: 'checkpoint' });
    expect(verification.valid).toBe(false);
    expect(verification.firstBad).toMatchObject({ check: 'checkpoint' });
    expect(verification.notes).toEqual([expect.stringMatching(/newest signed checkpoint #6 .* is missing from the database/)]);
  });

  it('cannot pass a checkpoint it signed itself: rows not signed by the key are ignored', async () => {
    const { trail, owner } = await restrictedTrail();
    await appendHistory(trail);
    const { rows } = await owner.query<{ checkpoint: Record<string, unknown> }>('SELECT checkpoint FROM bot_audit_trail_checkpoints WHERE sequence = 6');
    await rewriteWithout(owner, 3);
    const head = (await owner.query<{ sequence: string; hash: string }>('SELECT sequence, hash FROM bot_audit_trail_head')).rows[0]!;
    const forged = { ...rows[0]!.checkpoint, sequence: Number(head.sequence), hash: head.hash };
    await owner.query('INSERT INTO bot_audit_trail_checkpoints (sequence, checkpoint, records) VALUES ($1, $2, $3)', [9, forged, '[]']);
    const verification = await trail.verify({ scope: 'checkpoint' });
    expect(verification).toMatchObject({ valid: false, firstBad: { sequence: 3, check: 'missing' } });
    expect(verification.notes).toContain('1 checkpoint row is not signed by this key and was ignored');
  });
});

describe('audit verify from the last checkpoint', () => {
  it('walks only the records written after the newest checkpoint, and calls made meanwhile share one run', async () => {
    const { trail } = await restrictedTrail();
    await appendHistory(trail);
    const [first, second] = await Promise.all([trail.verify({ scope: 'checkpoint' }), trail.verify({ scope: 'checkpoint' })]);
    expect(first).toMatchObject({ valid: true, checked: 2, scope: 'checkpoint', checkpoint: { sequence: 6 }, head: { sequence: 8 } });
    expect(second.checkedAt).toBe(first.checkedAt);
    expect(await trail.verify({ scope: 'full' })).toMatchObject({ valid: true, checked: 8, scope: 'full' });
  });
});

describe("the Audit Engine's copy of each checkpoint", () => {
  it('still shows the rewrite when the owner deletes every checkpoint from the database and none is kept on disk', async () => {
    const engineDb = await createTestDatabase('acgs_trail_witness');
    const engineState = mkdtempSync(join(tmpdir(), 'acgs-trail-witness-'));
    const engine = buildAuditEngine(
      loadAuditEngineConfig({ DATABASE_URL: engineDb.url, ACGS_STATE_DIR: engineState, ACGS_SERVICE_TOKEN: TEST_SERVICE_TOKEN, AUDIT_VERIFY_INTERVAL_MS: '0' }),
      { logger: false },
    );
    const engineUrl = await engine.listen({ host: '127.0.0.1', port: 0 });
    const outbox = createAuditOutbox({ auditEngineUrl: engineUrl, spoolDir: join(engineState, 'outbox'), source: 'acgs-chatops', serviceToken: TEST_SERVICE_TOKEN, flushIntervalMs: 20, maxBackoffMs: 100 });
    const db = await createTestDatabase('acgs_trail_witnessed');
    const pool = createPool({ databaseUrl: db.url, max: 2, applicationName: 'acgs-trail-witness-test' });
    const owner = new pg.Client({ connectionString: db.url });
    await owner.connect();
    // No local file: the database's rows and the Audit Engine's copies are all there is.
    const trail = createAuditTrail({ pool, spoolDir: join(engineState, 'spool'), outbox, checkpoints: { key: loadTrailSigningKey(engineState, {}), witness: auditEngineWitness(engineUrl), everyRecords: 1000 } });
    try {
      await trail.start();
      // The start signs what an earlier run left in the background; on a loaded machine it could
      // otherwise read the head after the first record below and sign a checkpoint #1 too.
      expect(await trail.checkpoint!()).toEqual([]);
      await appendHistory(trail);
      const client = createAuditEngineClient(engineUrl);
      await expect
        .poll(async () => (await client.listEvents({ event_type: TRAIL_CHECKPOINT_EVENT })).events.map((event) => (event.data as { checkpoint: { sequence: number } }).checkpoint.sequence), { timeout: 10_000 })
        .toEqual([6]);

      await rewriteWithout(owner, 3);
      await owner.query('ALTER TABLE bot_audit_trail_checkpoints DISABLE TRIGGER USER');
      await owner.query('DELETE FROM bot_audit_trail_checkpoints');
      const verification = await trail.verify({ scope: 'checkpoint' });
      expect(verification).toMatchObject({ valid: false, firstBad: { check: 'checkpoint' } });
      expect(verification.notes).toEqual([expect.stringMatching(/^the newest signed checkpoint #6 of .* is missing from the database \(deleted\?\); checked against the copy kept outside it$/)]);
    } finally {
      await trail.close().catch(() => undefined);
      await outbox.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await owner.end().catch(() => undefined);
      await engine.close().catch(() => undefined);
      await Promise.allSettled([db.drop(), engineDb.drop()]);
      rmSync(engineState, { recursive: true, force: true });
    }
  });
});

describe('preparing the bot database with ACGS_MIGRATIONS_DATABASE_URL', () => {
  it('refuses an owner URL it cannot reach, naming it without its password, and changes nothing', async () => {
    const db = await createTestDatabase('acgs_trail_badowner');
    try {
      const port = await unusedLoopbackPort();
      const attempt = prepareBotDatabase({ ownerUrl: `postgres://acgs:hunter2-secret@127.0.0.1:${port}/acgs`, runtimeUrl: db.url });
      await expect(attempt).rejects.toThrow(`could not connect to postgres://acgs:***@127.0.0.1:${port}/acgs`);
      await expect(attempt).rejects.not.toThrow(/hunter2/);
      const tables = new pg.Client({ connectionString: db.url });
      await tables.connect();
      expect((await tables.query("SELECT count(*)::int AS n FROM pg_tables WHERE tablename LIKE 'bot_%'")).rows[0].n).toBe(0);
      await tables.end();
    } finally {
      await db.drop();
    }
  });

  it("says what to do when the owner role cannot take the trail over from the bot's role", async () => {
    const db = await createTestDatabase('acgs_trail_takeover');
    const suffix = randomBytes(4).toString('hex');
    const [bot, owner] = [`acgs_bot_${suffix}`, `acgs_owner_${suffix}`];
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    const urlAs = (role: string) => Object.assign(new URL(db.url), { username: role }).toString();
    try {
      await admin.query(`CREATE ROLE ${bot} LOGIN; CREATE ROLE ${owner} LOGIN; GRANT CREATE ON SCHEMA public TO ${bot}, ${owner}`);
      const botPool = createPool({ databaseUrl: urlAs(bot), max: 1, applicationName: 'acgs-takeover-test' });
      await createTrailStore(botPool).initialize();
      await botPool.end();
      // Neither a superuser nor a member of the bot's role: it may not take the tables.
      await expect(prepareBotDatabase({ ownerUrl: urlAs(owner), runtimeUrl: urlAs(bot) })).rejects.toThrow(
        new RegExp(`owned by the runtime role "${bot}", and the migrations role could not take them over .*run once with a superuser, or a role that is a member of "${bot}"`),
      );
      const { rows } = await admin.query<{ owner: string }>("SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname = 'bot_audit_trail'");
      expect(rows[0]!.owner).toBe(bot);
    } finally {
      await admin.end();
      await db.drop();
      const cleanup = new pg.Client({ connectionString: new URL('/postgres', db.url).toString() });
      await cleanup.connect();
      await cleanup.query(`DROP ROLE IF EXISTS ${bot}; DROP ROLE IF EXISTS ${owner}`);
      await cleanup.end();
    }
  });

  it('says so when both URLs name one role: nothing is restricted, and the start-up line tells how to fix it', async () => {
    const db = await createTestDatabase('acgs_trail_onerole');
    try {
      const roles = await prepareBotDatabase({ ownerUrl: db.url, runtimeUrl: db.url });
      expect(roles).toMatchObject({ restricted: false, runtimeRole: 'postgres', ownerRole: 'postgres' });
      expect(describeBotRoles(roles)).toBe(
        'bot database: ACGS_MIGRATIONS_DATABASE_URL and DATABASE_URL both name the role "postgres", so the bot\'s role owns its audit trail; give DATABASE_URL a role of its own to make the trail append-only for the bot',
      );
    } finally {
      await db.drop();
    }
  });
});

describe('the background full walk', () => {
  it('finds a change of content alone before the checkpoint, which the quick verify then reports too', async () => {
    const db = await createTestDatabase('acgs_trail_background');
    const stateDir = mkdtempSync(join(tmpdir(), 'acgs-trail-background-'));
    const pool = createPool({ databaseUrl: db.url, max: 2, applicationName: 'acgs-trail-background-test' });
    const owner = new pg.Client({ connectionString: db.url });
    await owner.connect();
    const trail = createAuditTrail({ pool, spoolDir: join(stateDir, 'spool'), checkpoints: { key: loadTrailSigningKey(stateDir, {}), everyRecords: 1000, fullVerifyEveryMs: 100 } });
    try {
      await trail.start();
      await appendHistory(trail);
      // Content changed, hashes left as they were: record #2 still has the hash the checkpoint signed.
      await owner.query('ALTER TABLE bot_audit_trail DISABLE TRIGGER USER');
      await owner.query(`UPDATE bot_audit_trail SET actor = 'U0MALLORY' WHERE sequence = 2`);
      await owner.query('ALTER TABLE bot_audit_trail ENABLE TRIGGER USER');
      await expect.poll(async () => (await trail.verify({ scope: 'checkpoint' })).firstBad, { timeout: 10_000 }).toMatchObject({ sequence: 2, check: 'content' });
      const quick = await trail.verify({ scope: 'checkpoint' });
      expect(quick).toMatchObject({ valid: false, scope: 'checkpoint' });
      expect(quick.notes).toEqual([expect.stringMatching(/^the full walk of .* found this break before the checkpoint$/)]);
    } finally {
      await trail.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await owner.end().catch(() => undefined);
      await db.drop();
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
