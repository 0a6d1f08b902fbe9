/**
 * The incident and schedule relays' routes on a real incident store and audit trail on PostgreSQL,
 * with the relayed ports on the routes through a channel that carries JSON as the control channel
 * does: reading is open, every change needs the committed execution record of that CLI command
 * (refused, nothing recorded otherwise), the store's refusals come back as the port's, the bot's
 * seams run on the bot's side. test/cli/cli-local-stack.test.ts drives both through npx acgs.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CommandError } from '../../commands/command.js';
import { IncidentRequestError, type IncidentInfo, type Incidents, type OpenedIncidentChannel, type Schedules } from '../../commands/ports.js';
import { createPool } from '../../services/kit/postgres.js';
import { ControlCallError } from '../../services/stack/local/local-control-client.js';
import { ControlError, type ControlExtension } from '../../services/stack/local/local-control.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { createAuditTrail, type AuditTrail } from '../audit-trail/index.js';
import { runExecutionCheck } from '../runbook-runs/run-execution-check.js';
import { createRelayedSchedules, scheduleRelayRoutes } from '../schedules/schedule-relay.js';
import { commandIncidents } from './incident-commands.js';
import { createRelayedIncidents, incidentRelayRoutes } from './incident-relay.js';
import { createIncidentStore, INCIDENT_TABLES, migrateIncidentStore } from './incident-store.js';
import { incidentReviews } from './incident-reviews.js';
import { createReviewStore } from './review-store.js';

let db: TestDatabase;
let pool: pg.Pool;
let trail: AuditTrail;
let spoolDir: string;
const CLI = 'cli:operator';

beforeAll(async () => {
  db = await createTestDatabase('acgs_incident_relay');
  pool = createPool({ databaseUrl: db.url, max: 4, applicationName: 'acgs-incident-relay-test' });
  await migrateIncidentStore(pool);
  spoolDir = mkdtempSync(join(tmpdir(), 'acgs-incident-relay-'));
  trail = createAuditTrail({ pool, spoolDir });
  await trail.start();
});
afterAll(async () => {
  await trail?.close();
  await pool?.end();
  await db?.drop();
  if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
});
beforeEach(async () => {
  await pool.query(`TRUNCATE ${INCIDENT_TABLES.join(', ')} RESTART IDENTITY CASCADE`);
});

/** The execution record the CLI's command path commits before an allowed command runs. */
async function execution(command: string, overrides: { actor?: string; origin?: 'cli' | 'slash'; decision?: string } = {}): Promise<string> {
  const receipt = await trail.appendToChain({
    kind: 'execution',
    key: `cli:execution:${randomUUID()}`,
    actor: overrides.actor ?? CLI,
    origin: overrides.origin ?? 'cli',
    command,
    decision: overrides.decision ?? 'allow',
    level: 1,
    details: { execution_id: randomUUID() },
  });
  return receipt.key;
}

/** What the control channel does to a call: JSON both ways, a ControlError as the client's ControlCallError. */
function channelOver(routes: Record<string, ControlExtension>) {
  return {
    supervisorPid: 4242,
    async call<T>(_method: string, path: string, body: unknown): Promise<T> {
      const route = routes[path.replace(/^\/v1\//, '')];
      if (!route) throw new ControlCallError('NOT_FOUND', `no route ${path}`, 404);
      try {
        return JSON.parse(JSON.stringify(await route(JSON.parse(JSON.stringify(body)) as Record<string, unknown>))) as T;
      } catch (error) {
        if (error instanceof ControlError) throw new ControlCallError(error.code, error.message, error.status);
        throw error;
      }
    },
  };
}

interface Seams {
  opened: IncidentInfo[];
  announced: string[];
  closed: string[];
}

function botPort(seams: Seams, options: { openFails?: boolean } = {}): Incidents {
  return commandIncidents(createIncidentStore(pool), {
    timezone: 'Europe/Berlin',
    opsChannel: 'C0OPS',
    openChannel: async (incident): Promise<OpenedIncidentChannel> => {
      if (options.openFails) throw new Error('Slack said name_taken');
      seams.opened.push(incident);
      return { channelId: `C0INC${incident.id}`, name: `inc-${incident.id}`, notInvited: [{ user: 'U0GONE', reason: 'user_not_found' }] };
    },
    announceUpdate: async (incident, update) => void seams.announced.push(`${incident.key}: ${update.text}`),
    closed: async (incident) => void seams.closed.push(incident.key),
  });
}

async function setUp(options: { openFails?: boolean } = {}) {
  const seams: Seams = { opened: [], announced: [], closed: [] };
  const bot = botPort(seams, options);
  const routes = incidentRelayRoutes(bot, runExecutionCheck(trail));
  let current: string | undefined;
  const relayed = await createRelayedIncidents(channelOver(routes), { execution: () => current });
  return { seams, bot, routes, relayed, use: (key: string | undefined) => (current = key) };
}

const count = async (table: string) => Number((await pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);

async function refusedBy(work: Promise<unknown>): Promise<ControlError> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ControlError);
  return error as ControlError;
}

describe('the incident relay', () => {
  it('declares under the execution record and places the incident in its own channel on the bot side, once', async () => {
    const { relayed, seams, use } = await setUp();
    expect(relayed.timezone).toBe('Europe/Berlin');
    expect(relayed.opsChannel).toBe('C0OPS');
    use(await execution('incident declare'));
    const declared = await relayed.declare({ title: 'Policy Engine latency above 5 s', severity: 'sev3', type: 'performance', by: CLI, at: new Date(), requestKey: 'execution:one' });
    expect(declared.created).toBe(true);
    expect(declared.incident.declaredAt).toBeInstanceOf(Date);
    expect(declared.incident.roles).toEqual({ commander: CLI });
    expect(seams.opened.map((incident) => incident.key)).toEqual([declared.incident.key]);
    // The command's own placement is answered with what the bot did: nothing opened twice.
    const opened = await relayed.openChannel!(declared.incident);
    expect(opened).toEqual({ channelId: `C0INC${declared.incident.id}`, name: `inc-${declared.incident.id}`, notInvited: [{ user: 'U0GONE', reason: 'user_not_found' }] });
    const placed = await relayed.setChannel(declared.incident.key, opened.channelId);
    expect(placed.incident.channelId).toBe(opened.channelId);
    expect(seams.opened).toHaveLength(1);
    const found = await relayed.find(declared.incident.key);
    expect(found?.channelId).toBe(opened.channelId);
    expect(found?.lastUpdateAt).toBeInstanceOf(Date);
    // Anything else is no placement of the bot's: refused as the port's error.
    await expect(relayed.setChannel(declared.incident.key, 'C0ELSEWHERE')).rejects.toBeInstanceOf(IncidentRequestError);
  });

  it('falls back to channels.ops when Slack refuses the channel, and the command learns why', async () => {
    const { relayed, use } = await setUp({ openFails: true });
    use(await execution('incident declare'));
    const declared = await relayed.declare({ title: 'Audit engine down', severity: 'sev2', type: 'infrastructure', by: CLI, at: new Date() });
    await expect(relayed.openChannel!(declared.incident)).rejects.toThrow('Slack said name_taken');
    expect((await relayed.setChannel(declared.incident.key, 'C0OPS')).incident.channelId).toBe('C0OPS');
  });

  it('updates, notes, hands over, changes severity, resolves and closes, each under its own record; the seams run on the bot side', async () => {
    const { relayed, seams, use } = await setUp();
    use(await execution('incident declare'));
    const { incident } = await relayed.declare({ title: 'Cache misses', severity: 'sev3', type: 'performance', by: CLI, at: new Date() });
    use(await execution('incident update'));
    expect(await relayed.postUpdate(incident.key, { author: CLI, text: 'Cache warmed, watching p99', at: new Date(), requestKey: 'execution:upd' })).toEqual({ created: true });
    expect(seams.announced).toEqual([`${incident.key}: Cache warmed, watching p99`]);
    use(await execution('incident note'));
    await relayed.note(incident.key, { actor: CLI, text: 'Redis restarted at 03:10', at: new Date() });
    use(await execution('incident commander'));
    expect((await relayed.changeRole(incident.key, { role: 'commander', holder: 'U0ALICE', by: CLI, at: new Date() })).incident.roles.commander).toBe('U0ALICE');
    use(await execution('incident severity'));
    expect((await relayed.changeSeverity(incident.key, 'sev2', CLI, new Date())).incident.severity).toBe('sev2');
    use(await execution('incident action'));
    const item = await relayed.addActionItem(incident.key, { text: 'Alert on cache hit rate', owner: 'U0ALICE', by: CLI, at: new Date() });
    expect(item.createdAt).toBeInstanceOf(Date);
    use(await execution('incident action'));
    expect((await relayed.setActionItemState(incident.key, item.id, 'done', CLI, new Date())).state).toBe('done');
    use(await execution('incident resolve'));
    const resolved = await relayed.resolve(incident.key, CLI, new Date());
    expect(resolved.incident.resolvedAt).toBeInstanceOf(Date);
    use(await execution('incident close'));
    expect((await relayed.close(incident.key, CLI, new Date())).changed).toBe(true);
    expect(seams.closed).toEqual([incident.key]);
    expect((await relayed.actionItems(incident.key)).map((listed) => listed.state)).toEqual(['done']);
    const listed = await relayed.list(new Date(Date.now() - 60_000));
    expect(listed.map((one) => [one.key, one.state])).toEqual([[incident.key, 'closed']]);
    expect((await relayed.times({ from: new Date(Date.now() - 60_000), to: new Date(Date.now() + 60_000) })).declared).toBe(1);
    // The store's refusal comes back as the port's, with its code.
    use(await execution('incident update'));
    const closed = await relayed.postUpdate(incident.key, { author: CLI, text: 'late', at: new Date() }).catch((error: unknown) => error);
    expect(closed).toBeInstanceOf(IncidentRequestError);
    expect((closed as IncidentRequestError).code).toBe('closed');
    expect(seams.announced).toHaveLength(1);
  });

  it('reads the review the bot kept at the close, a draft before it; an unknown key or a non-cli asker is refused', async () => {
    const store = createIncidentStore(pool);
    const reviews = incidentReviews({ store, reviews: createReviewStore(pool), timeZone: 'Europe/Berlin' });
    const bot = commandIncidents(store, { timezone: 'Europe/Berlin', closed: reviews.closed, review: reviews.review });
    const routes = incidentRelayRoutes(bot, runExecutionCheck(trail));
    let current: string | undefined;
    const relayed = await createRelayedIncidents(channelOver(routes), { execution: () => current });
    current = await execution('incident declare');
    const { incident } = await relayed.declare({ title: 'Audit chain gap', severity: 'sev2', type: 'constitutional', by: CLI, at: new Date() });
    const draft = await relayed.review!(incident.key, CLI, new Date());
    expect(draft).toMatchObject({ draft: true, incident: { key: incident.key } });
    expect(draft.generatedAt).toBeInstanceOf(Date);
    current = await execution('incident resolve');
    await relayed.resolve(incident.key, CLI, new Date());
    current = await execution('incident close');
    await relayed.close(incident.key, CLI, new Date());
    const kept = await relayed.review!(incident.key, CLI, new Date());
    expect(kept).toMatchObject({ draft: false, fileName: `inc-${incident.id}-review.md` });
    expect(kept.markdown).toContain('Audit chain gap');
    expect(kept.incident.closedAt).toBeInstanceOf(Date);
    const unknown = await relayed.review!('INC-99999', CLI, new Date()).catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(IncidentRequestError);
    expect((unknown as IncidentRequestError).code).toBe('not-found');
    expect((await refusedBy(routes['incidents/review']!({ key: incident.key, asker: 'U0SLACK' }))).message).toMatch(/asker must be a cli:<user>/);
  });

  it('refuses a change without an execution record, with an unknown one, one of another command or actor, or one used before: nothing recorded', async () => {
    const { routes, relayed, use } = await setUp();
    const body = { title: 'Nothing', severity: 'sev4', type: 'performance', by: CLI };
    expect((await refusedBy(routes['incidents/declare']!(body))).message).toContain('the request names no execution record');
    expect((await refusedBy(routes['incidents/declare']!({ ...body, execution: `cli:execution:${randomUUID()}` }))).message).toContain("the bot's audit trail holds no execution record");
    expect((await refusedBy(routes['incidents/declare']!({ ...body, execution: await execution('incident close') }))).message).toContain('is of `incident close`, not of `incident declare`');
    expect((await refusedBy(routes['incidents/declare']!({ ...body, execution: await execution('incident declare', { actor: 'cli:someone-else' }) }))).message).toContain('was not written by the CLI for cli:operator');
    expect((await refusedBy(routes['incidents/declare']!({ ...body, execution: await execution('incident declare', { decision: 'deny' }) }))).message).toContain('carries the decision "deny"');
    const once = await execution('incident declare');
    await routes['incidents/declare']!({ ...body, execution: once });
    expect(await count('incidents')).toBe(1);
    const again = await refusedBy(routes['incidents/declare']!({ ...body, execution: once }));
    expect(again.status).toBe(403);
    expect(again.message).toContain('was already used');
    expect(again.message).toContain('Nothing was recorded.');
    expect(await count('incidents')).toBe(1);
    // Through the CLI's port the refusal is a CommandError the command path shows.
    use(undefined);
    await expect(relayed.note('INC-1', { actor: CLI, text: 'no record', at: new Date() })).rejects.toBeInstanceOf(CommandError);
    expect(await count('incident_timeline')).toBe(1);
  });

  it('refuses bad bodies and non-cli actors before looking at the trail, naming the field', async () => {
    const { routes } = await setUp();
    const record = await execution('incident declare');
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['incidents/declare', { title: 'x', severity: 'sev3', type: 'performance', by: 'U0SLACKUSER', execution: record }, 'by: by must be a cli:<user>'],
      ['incidents/declare', { title: 'x', severity: 'sev3', type: 'performance', by: CLI, execution: record, at: '2020-01-01T00:00:00Z' }, 'Unrecognized key'],
      ['incidents/declare', { title: 42, severity: 'sev3', type: 'performance', by: CLI, execution: record }, 'title: title must be text'],
      ['incidents/post-update', { key: 'INC-1', author: CLI, text: 'x'.repeat(4001), execution: record }, 'text'],
      ['incidents/set-action-item-state', { key: 'INC-1', item: '1', state: 'finished', by: CLI, execution: record }, 'state must be open, done or dropped'],
      ['incidents/list', { since: 'yesterday' }, 'since must be an ISO time'],
      ['incidents/find', {}, 'key must be an incident key'],
    ];
    for (const [route, body, message] of cases) {
      const refused = await refusedBy(routes[route]!(body));
      expect(refused.code).toBe('INCIDENT_INPUT');
      expect(refused.message).toContain(message);
    }
    expect(await count('incidents')).toBe(0);
    // The record was not spent by the refused bodies.
    await routes['incidents/declare']!({ title: 'Now right', severity: 'sev3', type: 'performance', by: CLI, execution: record });
    expect(await count('incidents')).toBe(1);
  });

  it('an unknown severity is the store’s refusal, carried back with its code; nothing recorded', async () => {
    const { relayed, use } = await setUp();
    use(await execution('incident declare'));
    const refused = await relayed.declare({ title: 'x', severity: 'sev9', type: 'performance', by: CLI, at: new Date() }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(IncidentRequestError);
    expect((refused as IncidentRequestError).code).toBe('invalid');
    expect(await count('incidents')).toBe(0);
  });

  it('answers "still starting" while the bot has no port yet', async () => {
    const routes = incidentRelayRoutes(() => undefined, runExecutionCheck(trail));
    const refused = await refusedBy(routes['incidents/open']!({}));
    expect(refused.status).toBe(503);
    expect(refused.message).toContain('still starting');
  });
});

describe('the schedule relay', () => {
  function scheduler(ran: string[]): Schedules {
    const started = new Date('2026-12-07T02:00:00.000Z');
    return {
      timezone: 'UTC',
      jobs: async () => [{ name: 'backup', summary: 'Daily backup', cron: '0 2 * * *', enabled: true, nextRunAt: new Date('2026-12-08T02:00:00.000Z'), lastRun: { id: 'r1', trigger: 'schedule', outcome: 'ok', scheduledFor: started, startedAt: started, endedAt: started } }],
      runNow: async (job, by) => {
        if (job !== 'backup') return { kind: 'unknown', known: ['backup'] };
        ran.push(`${job} by ${by}`);
        return { kind: 'started', run: { id: 'r2', trigger: 'manual', outcome: 'running', scheduledFor: new Date(), startedAt: new Date(), requestedBy: by } };
      },
    };
  }

  it('lists with dates intact and runs a job only under the execution record of schedule run', async () => {
    const ran: string[] = [];
    const routes = scheduleRelayRoutes(scheduler(ran), runExecutionCheck(trail));
    let current: string | undefined;
    const relayed = await createRelayedSchedules(channelOver(routes), { execution: () => current });
    const [job] = await relayed.jobs();
    expect(job!.nextRunAt).toEqual(new Date('2026-12-08T02:00:00.000Z'));
    expect(job!.lastRun!.endedAt).toBeInstanceOf(Date);
    expect((await relayed.jobs())[0]!.name).toBe('backup');
    await expect(relayed.runNow('backup', CLI)).rejects.toThrow('the request names no execution record');
    current = await execution('schedule');
    await expect(relayed.runNow('backup', CLI)).rejects.toThrow('is of `schedule`, not of `schedule run`');
    current = await execution('schedule run');
    const started = await relayed.runNow('backup', CLI);
    expect(started.kind === 'started' && started.run.startedAt instanceof Date).toBe(true);
    expect(ran).toEqual([`backup by ${CLI}`]);
    current = await execution('schedule run');
    expect(await relayed.runNow('cleanup', CLI)).toEqual({ kind: 'unknown', known: ['backup'] });
    const slack = await refusedBy(routes['schedules/run']!({ job: 'backup', by: 'U0SLACK', execution: await execution('schedule run') }));
    expect(slack.message).toContain('by must be a cli:<user>');
    const bad = await refusedBy(routes['schedules/run']!({ job: 'Backup; rm', by: CLI, execution: await execution('schedule run') }));
    expect(bad.message).toContain('job must be a job name');
    expect(ran).toHaveLength(1);
  });
});
