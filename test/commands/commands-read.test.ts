import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { formatPercent } from '../../commands/format.js';
import type { ResultDocument } from '../../commands/result.js';
import { createAuditEngineClient } from '../../services/clients/audit-engine.js';
import { createEvolutionOversightClient } from '../../services/clients/evolution-oversight.js';
import { createPolicyEngineClient } from '../../services/clients/policy-engine.js';
import { lowRiskProposal } from '../../services/evolution-oversight/testing/fixtures.js';
import { CONSTITUTIONAL_HASH } from '../../services/kit/constitution.js';
import type { ServiceName } from '../../services/kit/service-ports.js';
import { block, checkLine, commandRunner, fieldValue } from '../testing/commands.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { downPostgresUrl, downRedisUrl } from '../testing/stack.js';
import { realStackForSuite } from '../testing/suite.js';

const suite = realStackForSuite();
const run = commandRunner({ services: () => suite.stack.services });

const policyClient = () => createPolicyEngineClient({ baseUrl: suite.stack.endpoints['policy-engine'] });

/** A request the constitution denies as a safety violation (shell access), recorded by the Policy Engine in the audit trail. */
async function causeViolation(agentId: string): Promise<void> {
  const decision = await policyClient().decide({
    type: 'action_authorization',
    constitutional_hash: CONSTITUTIONAL_HASH,
    action: 'system.execute_shell',
    context: { agent: { id: agentId, trust_level: 0.9 } },
  });
  expect(decision.safety_violation).toBe(true);
}

async function waitForViolations(count: number): Promise<void> {
  const audit = createAuditEngineClient(suite.stack.endpoints['audit-engine']);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const page = await audit.listEvents({ event_type: 'safety_violation', limit: 100 });
    if (page.events.length >= count) return;
    if (Date.now() > deadline) throw new Error(`expected ${count} safety violations in the audit trail, found ${page.events.length}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('violations', () => {
  it('says there are none on a fresh audit trail', async () => {
    const outcome = await run('violations');
    expect(outcome.outcome).toBe('ok');
    expect(outcome.document.summary).toBe('No safety violations are recorded.');
    expect(outcome.document.data).toEqual({ violations: [], limit: 10 });
  });

  it('lists recent safety violations newest first, as a warning', async () => {
    for (const agent of ['agent-first', 'agent-second', 'agent-third']) {
      await causeViolation(agent);
      // One at a time, so that the audit trail's order is the order above.
      await waitForViolations(['agent-first', 'agent-second', 'agent-third'].indexOf(agent) + 1);
    }
    const outcome = await run('violations');
    expect(outcome.document.tone).toBe('warn');
    expect(outcome.document.summary).toMatch(/^3 safety violations; the newest \d+ s ago\.$/);
    const table = block(outcome.document, 'table');
    expect(table.columns).toEqual(['when', 'agent', 'source', 'what', 'event']);
    expect(table.rows.map((row) => row[1])).toEqual(['agent-third', 'agent-second', 'agent-first']);
    expect(table.rows[0]![3]).toMatch(/^system\.execute_shell: /);
    const sequences = table.rows.map((row) => Number(row[4]!.slice(1)));
    expect(sequences).toEqual([...sequences].sort((a, b) => b - a));
  });

  it('shows only as many as the limit asks for, the newest', async () => {
    const outcome = await run('violations 2');
    expect(block(outcome.document, 'table').rows.map((row) => row[1])).toEqual(['agent-third', 'agent-second']);
    expect(outcome.document.summary).toMatch(/^The newest 2 safety violations/);
    const data = outcome.document.data as { limit: number; violations: { agent_id: string; data: { action: string } }[] };
    expect(data.limit).toBe(2);
    expect(data.violations.map((violation) => violation.data.action)).toEqual(['system.execute_shell', 'system.execute_shell']);
  });
});

describe('metrics', () => {
  it('marks every KPI against the runbook thresholds with the engine\'s own figures', async () => {
    const client = policyClient();
    // Five different inputs, each asked twice: half of the lookups hit the cache, far under 95 %.
    for (let round = 0; round < 2; round += 1) {
      for (let index = 0; index < 5; index += 1) {
        await client.decide({ type: 'action_authorization', constitutional_hash: CONSTITUTIONAL_HASH, action: 'data.read', context: { agent: { id: `reader-${index}`, trust_level: 0.9 } } });
      }
    }
    const outcome = await run('metrics');
    const figures = await client.metrics();
    const document = outcome.document;
    expect(document.title).toBe('Policy Engine KPIs');
    expect(block(document, 'checks').items.map((item) => item.name)).toEqual(['P99 latency', 'Error rate', 'Cache hit rate', 'Requests', 'Safety violations', 'Targets met']);
    expect(figures.cache_hit_rate).toBeLessThan(0.9);
    expect(checkLine(document, 'Cache hit rate')).toEqual({
      name: 'Cache hit rate',
      tone: 'fail',
      text: expect.stringContaining(`${formatPercent(figures.cache_hit_rate)} (L1`),
    });
    expect(checkLine(document, 'Cache hit rate')?.text).toContain('target over 95 %');
    expect(checkLine(document, 'Error rate')).toMatchObject({ tone: 'ok', text: expect.stringContaining('0.00 % (0 of') });
    expect(checkLine(document, 'P99 latency')?.text).toContain('target under 1 ms');
    expect(checkLine(document, 'Safety violations')).toMatchObject({ tone: 'info', text: expect.stringContaining('3 since start') });
    expect(checkLine(document, 'Targets met')).toMatchObject({ tone: 'warn', text: expect.stringContaining('cache_hit_rate_over_95') });
    expect(document.tone).toBe('fail');
    expect(document.summary).toContain('Cache hit rate');
    expect(fieldValue(document, 'Modes')).toBe('normal');
    const data = document.data as { request_count: number; marks: Record<string, string>; thresholds: { policyP99Ms: { target: number } } };
    expect(data.request_count).toBe(figures.request_count);
    expect(data.marks.cache_hit_rate).toBe('fail');
    expect(data.thresholds.policyP99Ms.target).toBe(1);
  });
});

describe('cache stats', () => {
  it('shows both cache levels with sizes and counts from the engine', async () => {
    // Two new inputs, each asked twice: as many misses as hits, whatever ran before.
    for (let round = 0; round < 2; round += 1) {
      for (const id of ['cache-a', 'cache-b']) {
        await policyClient().decide({ type: 'action_authorization', constitutional_hash: CONSTITUTIONAL_HASH, action: 'data.read', context: { agent: { id, trust_level: 0.9 } } });
      }
    }
    const outcome = await run('cache stats');
    const figures = await policyClient().metrics();
    const { l1, l2 } = figures.cache_stats;
    expect(checkLine(outcome.document, 'L1 (in process)')?.text).toBe(
      `${l1.size} of 10,000 entries (${formatPercent(l1.size / l1.max)}) · ${l1.hits} hits, ${l1.misses} misses`,
    );
    // Under load some Redis lookups time out (the engine then evaluates); the line says how many.
    expect(checkLine(outcome.document, 'L2 (Redis)')).toMatchObject({
      tone: l2.errors > 0 ? 'warn' : 'ok',
      text: expect.stringContaining(`${l2.hits} hits, ${l2.misses} misses, ${l2.errors} errors`),
    });
    expect(checkLine(outcome.document, 'Hit rate')?.tone).toBe('fail');
    expect(outcome.document.summary).toMatch(/under the runbook's 95 %/);
  });
});

describe('audit verify and db status', () => {
  it('reports the audit chain intact', async () => {
    // --full: every record, whether or not a signed checkpoint was made yet (the default walks from it).
    const outcome = await run('audit verify --full');
    expect(outcome.document).toMatchObject({ title: 'Audit chain intact', tone: 'ok' });
    expect(outcome.document.summary).toMatch(/^All [1-9]\d* audit records match their hashes and links\.$/);
    expect((outcome.document.data as { valid: boolean }).valid).toBe(true);
  });

  it('shows PostgreSQL, its connections and per-table inserts, updates and deletes', async () => {
    // Known activity on a table of its own; a backend publishes its statistics when it exits.
    const sql = new pg.Client({ connectionString: suite.stack.auditDatabase.url });
    await sql.connect();
    await sql.query('CREATE TABLE activity_probe (id int PRIMARY KEY, note text)');
    await sql.query("INSERT INTO activity_probe VALUES (1, 'a'), (2, 'b'), (3, 'c')");
    await sql.query("UPDATE activity_probe SET note = 'changed' WHERE id = 1");
    await sql.query('DELETE FROM activity_probe WHERE id = 3');
    await sql.end();

    const probeRow = (document: ResultDocument) => block(document, 'table').rows.find((row) => row[0] === 'activity_probe');
    const deadline = Date.now() + 5000;
    let outcome = await run('db status');
    while (probeRow(outcome.document)?.[1] !== '3' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      outcome = await run('db status');
    }
    const document = outcome.document;
    expect(document.tone).toBe('ok');
    expect(checkLine(document, 'PostgreSQL')?.text).toMatch(/^reachable · [\d.]+ m?s · \d+/);
    expect(fieldValue(document, 'Database')).toBe(suite.stack.auditDatabase.name);
    expect(Number(fieldValue(document, 'Active connections'))).toBeGreaterThanOrEqual(1);
    const table = block(document, 'table');
    expect(table.columns).toEqual(['table', 'inserts', 'updates', 'deletes', 'live rows']);
    expect(probeRow(document)).toEqual(['activity_probe', '3', '1', '1', '2']);
    expect(table.rows.map((row) => row[0])).toContain('audit_events');
    const data = document.data as { tables: { table: string; inserts: number; updates: number; deletes: number }[] };
    expect(data.tables.find((entry) => entry.table === 'activity_probe')).toMatchObject({ inserts: 3, updates: 1, deletes: 1 });
  });

  it('names the first broken record when the chain was tampered with', async () => {
    const sql = new pg.Client({ connectionString: suite.stack.auditDatabase.url });
    await sql.connect();
    try {
      // Around the append-only triggers, as an attacker with database access would.
      await sql.query('SET session_replication_role = replica');
      await sql.query(`UPDATE audit_events SET data = '{"action":"nothing to see"}' WHERE sequence = 2`);
    } finally {
      await sql.end();
    }
    // A change of content alone (hashes untouched) before the last checkpoint is found by a full walk.
    const outcome = await run('audit verify --full', { user: 'U0AUDITOR' });
    expect(outcome.document.title).toBe('Audit chain broken');
    expect(outcome.document.tone).toBe('fail');
    expect(outcome.document.summary).toBe('The first broken record is #2: its content was changed after it was recorded.');
    expect(fieldValue(outcome.document, 'First broken record')).toMatch(/^#2 \([0-9a-f-]{36}\)$/);
    expect(fieldValue(outcome.document, 'Failed check')).toBe('content_hash');
    expect(block(outcome.document, 'code').text).toMatch(/^.+\nexpected [0-9a-f]+\nstored   [0-9a-f]+$/);
    expect(outcome.document.footer).toMatch(/security incident/);
  });
});

describe('db status and redis status when their server is down or absent', () => {
  it('fails db status with where and what to try when PostgreSQL is down', async () => {
    const url = await downPostgresUrl();
    const outcome = await run('db status', { services: suite.stack.servicesWith({ postgresUrl: url }) });
    expect(outcome.outcome).toBe('fail');
    expect(outcome.document.summary).toBe(`PostgreSQL at 127.0.0.1:${new URL(url).port}/acgs_audit is not reachable.`);
    expect(checkLine(outcome.document, 'PostgreSQL')).toMatchObject({ tone: 'fail', text: expect.stringContaining('connection refused') });
    expect(outcome.document.footer).toContain('docker-compose restart postgres');
  });

  it('answers db status with "not configured" when there is no DATABASE_URL', async () => {
    const outcome = await run('db status', { services: suite.stack.servicesWith({ postgresUrl: null }) });
    expect(outcome.document).toMatchObject({ tone: 'info', summary: 'No PostgreSQL is configured for the bot: DATABASE_URL is not set.' });
  });

  it('shows Redis memory, eviction policy and keyspace hit rate', async () => {
    const outcome = await run('redis status');
    const document = outcome.document;
    expect(block(document, 'checks').items.map((item) => item.name)).toEqual(['Redis', 'Memory', 'Eviction policy', 'Keyspace hit rate']);
    expect(checkLine(document, 'Redis')).toMatchObject({ tone: 'ok', text: expect.stringMatching(/^reachable · .* · \d+\.\d+\.\d+ · up /) });
    expect(checkLine(document, 'Memory')?.text).toMatch(/(MiB|KiB) (used|of)/);
    const data = document.data as { maxmemory_policy: string; used_memory: number; keyspace_hits: number };
    expect(checkLine(document, 'Eviction policy')?.text.startsWith(data.maxmemory_policy)).toBe(true);
    expect(data.used_memory).toBeGreaterThan(0);
    expect(['ok', 'warn', 'info']).toContain(document.tone);
  });

  it('fails redis status with what to try when Redis is down', async () => {
    const outcome = await run('redis status', { services: suite.stack.servicesWith({ redisUrl: await downRedisUrl() }) });
    expect(outcome.document.tone).toBe('fail');
    expect(outcome.document.summary).toMatch(/^Redis at 127\.0\.0\.1:\d+ is not reachable\.$/);
    expect(checkLine(outcome.document, 'Redis')?.text).toContain('connection refused');
    expect(outcome.document.footer).toContain('docker-compose restart redis');
  });

  it('answers redis status with "not configured" when there is no REDIS_URL', async () => {
    const outcome = await run('redis status', { services: suite.stack.servicesWith({ redisUrl: null }) });
    expect(outcome.document).toMatchObject({ tone: 'info', summary: 'No Redis is configured for the bot: REDIS_URL is not set.' });
  });
});

describe('sandbox status', () => {
  it('shows the runtimes, the image, the slots and the resource usage', async () => {
    const outcome = await run('sandbox status');
    const document = outcome.document;
    expect(document.tone).toBe('ok');
    expect(checkLine(document, 'Docker Engine')?.tone).toBe('ok');
    expect(checkLine(document, 'Runtimes')?.text).toMatch(/runc/);
    expect(checkLine(document, 'Sandbox image')).toMatchObject({ tone: 'ok', text: 'acgs-test/busybox:latest present' });
    expect(checkLine(document, 'Active sandboxes')).toMatchObject({ tone: 'ok', text: '0 of 4' });
    expect(checkLine(document, 'Resource usage')).toMatchObject({ tone: 'ok', text: 'no sandbox containers running' });
    const data = document.data as { runtimes_available: string[]; resource_usage: { totals: { active: number } } };
    expect(data.runtimes_available).toContain('runc');
    expect(data.resource_usage.totals.active).toBe(0);
  });

  it('says the resource usage needs the admin token when it has none', async () => {
    const outcome = await run('sandbox status', { services: suite.stack.servicesWith({ adminToken: null }) });
    expect(checkLine(outcome.document, 'Resource usage')).toMatchObject({ tone: 'warn', text: expect.stringContaining('needs the admin token: set ACGS_ADMIN_TOKEN') });
    expect(outcome.document.tone).toBe('warn');
  });
});

describe('evolutions', () => {
  it('lists the evolutions waiting for review, newest first, and none of the decided ones', async () => {
    const client = createEvolutionOversightClient(suite.stack.endpoints['evolution-oversight'], 10_000, { serviceToken: suite.stack.serviceToken });
    const auto = await client.propose(lowRiskProposal({ agent_id: 'agent-auto' }));
    const fast = await client.propose(lowRiskProposal({ agent_id: 'agent-fast', external_dependencies: true, priority: 'medium' }));
    const human = await client.propose(lowRiskProposal({ agent_id: 'agent-human', privilege_escalation: true, priority: 'high' }));
    expect([auto.status, fast.status, human.status]).toEqual(['auto_approved', 'fast_track', 'human_review']);

    const pending = await run('evolutions');
    expect(pending.document.title).toBe('Pending reviews');
    expect(pending.document.tone).toBe('info');
    expect(pending.document.summary).toMatch(/^2 evolutions waiting for review; the oldest was proposed \d+ s ago\.$/);
    const table = block(pending.document, 'table');
    expect(table.rows.map((row) => [row[0], row[1], row[4]])).toEqual([
      [human.id.slice(0, 8), 'agent-human', 'human_review'],
      [fast.id.slice(0, 8), 'agent-fast', 'fast_track'],
    ]);

    const approved = await run('evolutions AUTO_APPROVED');
    expect(block(approved.document, 'table').rows.map((row) => row[1])).toEqual(['agent-auto']);
    expect((approved.document.data as { filter: string }).filter).toBe('auto_approved');
  });

  it('says so when no evolution has the status asked for', async () => {
    const outcome = await run('evolutions rejected');
    expect(outcome.document).toMatchObject({ tone: 'ok', title: 'Evolutions: rejected', summary: 'No evolutions with status rejected.' });
  });
});

describe('a service that is down or hangs', () => {
  const cases: [string, ServiceName, string][] = [
    ['metrics', 'policy-engine', 'Policy Engine'],
    ['cache stats', 'policy-engine', 'Policy Engine'],
    ['violations', 'audit-engine', 'Audit Engine'],
    ['audit verify', 'audit-engine', 'Audit Engine'],
    ['evolutions', 'evolution-oversight', 'Evolution Oversight'],
    ['sandbox status', 'sandbox-controller', 'Sandbox Controller'],
  ];

  it.each(cases)('%s says the %s is down and what to try, not an internal error', async (line, service, label) => {
    const url = await unusedLoopbackUrl();
    const outcome = await run(line, { services: suite.stack.servicesWith({ endpoints: { [service]: url } }) });
    expect(outcome.outcome).toBe('rejected');
    expect(outcome.rejection).toBe('unavailable');
    expect(outcome.document.title).toBe(`${line}: not available right now`);
    expect(outcome.document.tone).toBe('fail');
    expect(outcome.document.summary).toBe(`The ${label} at ${url} does not answer (nothing accepts connections there).`);
    expect(outcome.document.footer).toContain(`docker-compose restart ${service}`);
  });

  it('gives up on a hung service after the call timeout and says so', async () => {
    const services = suite.stack.servicesWith({ endpoints: { 'policy-engine': suite.hung.url }, callTimeoutMs: 500 });
    const started = performance.now();
    const outcome = await run('metrics', { services });
    expect(performance.now() - started).toBeLessThan(500 + 700);
    expect(outcome.rejection).toBe('unavailable');
    expect(outcome.document.summary).toBe(`The Policy Engine at ${suite.hung.url} did not answer in time.`);
  });
});
