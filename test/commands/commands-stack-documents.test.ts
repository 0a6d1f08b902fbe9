/**
 * The pure parts of the stack commands: argument checks, the interim role rule, the documents
 * built from fixed figures (thresholds, cuts, failures), and that they fit Slack's limits.
 */
import { describe, expect, it } from 'vitest';
import { renderDocument } from '../../bot/slack/render.js';
import { validateBlocks } from '../../bot/slack/stand-in/index.js';
import { StackError, type ContainerStats, type LogLine } from '../../services/stack/stack.js';
import { dbConnectionsDocument } from '../../commands/db-connections.js';
import { LOGS_DISPLAY_CHARS, LOGS_LINE_CHARS, grepArgument, logsDocument, logsText, sinceArgument } from '../../commands/logs.js';
import { redisMemoryDocument } from '../../commands/redis-memory.js';
import { sandboxPruneDocument } from '../../commands/sandbox-prune.js';
import { serviceArgument, stackFailureDocument } from '../../commands/stack-access.js';
import { statsDocument } from '../../commands/stats.js';
import { statusDocument } from '../../commands/status.js';

const dockerStack = { kind: 'docker' as const, description: 'project acgs on unix:///var/run/docker.sock' };
const localStack = { kind: 'local' as const, description: 'processes supervised by npm start' };

describe('--since', () => {
  it.each([
    ['30s', 30],
    ['10m', 600],
    ['2h', 7200],
    ['1d', 86_400],
    ['7d', 604_800],
    ['10M', 600],
  ])('reads %s as %i seconds', (typed, seconds) => {
    expect(sinceArgument.parse(typed)).toBe(seconds);
  });

  it.each(['0s', '8d', '-5m', '10', 'm', '1h30m', '1.5h', '2025-01-01', '10 minutes', '99999999s', ''])('refuses %j with what it accepts', (typed) => {
    const result = sinceArgument.safeParse(typed);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.message).toMatch(/^must be a duration such as 30s, 10m, 2h or 1d .* at most 7d/);
  });
});

describe('--grep and service names', () => {
  it('takes plain text with pattern and shell characters as it is', () => {
    expect(grepArgument.parse('a.*b [x] $HOME; rm -rf /')).toBe('a.*b [x] $HOME; rm -rf /');
  });

  it.each([
    ['', 'must be some text to look for'],
    ['   ', 'not only spaces'],
    ['x'.repeat(201), 'at most 200 characters'],
    ['line\nbreak', 'no control characters'],
    ['bell\u0007', 'no control characters'],
  ])('refuses %j', (typed, message) => {
    expect(grepArgument.safeParse(typed).error!.issues[0]!.message).toContain(message);
  });

  it.each(['policy-engine', 'web_1', 'a.b', '0day'])('accepts the service name %s', (name) => {
    expect(serviceArgument.parse(name)).toBe(name);
  });

  it.each(['-rf', '../etc', 'a b', 'x'.repeat(64), '$(id)', 'policy-engine;ls', '<@U123>'])('refuses the service name %j', (name) => {
    expect(serviceArgument.safeParse(name).error!.issues[0]!.message).toMatch(/^must be a service name such as policy-engine/);
  });
});

describe('status document', () => {
  const replica = (overrides: Partial<Parameters<typeof statusDocument>[1][number]['replicas'][number]> = {}) => ({
    id: 'c1',
    name: 'acgs-policy-engine',
    number: 1,
    state: 'running' as const,
    health: 'healthy' as const,
    image: 'acgs:1',
    startedAt: '2025-01-01T00:00:00.000Z',
    uptimeSeconds: 3725,
    restarts: 0,
    ...overrides,
  });

  it('marks each service by its replicas and offers logs and a confirmed restart for the ones in trouble', () => {
    const document = statusDocument(dockerStack, [
      { name: 'audit-engine', replicas: [replica({ name: 'acgs-audit-engine', state: 'exited', health: 'none', startedAt: null, uptimeSeconds: null })] },
      { name: 'policy-engine', replicas: [replica(), replica({ name: 'acgs-policy-engine-2', number: 2, health: 'unhealthy' })] },
      { name: 'sandbox-controller', replicas: [replica({ name: 'acgs-sandbox-controller' })] },
    ]);
    expect(document.tone).toBe('fail');
    expect(document.summary).toBe('2 of 3 services need attention: audit-engine (down), policy-engine (degraded).');
    expect(document.blocks[0]).toEqual({
      type: 'checks',
      items: [
        { name: 'audit-engine', tone: 'fail', text: 'down · 0 of 1 replica running (others: exited)' },
        { name: 'policy-engine', tone: 'warn', text: 'degraded · 2 of 2 replicas running' },
        { name: 'sandbox-controller', tone: 'ok', text: 'healthy · 1 of 1 replica running' },
      ],
    });
    expect(document.blocks[1]).toMatchObject({ type: 'table', columns: ['service', 'replica', 'state', 'health', 'image', 'uptime', 'restarts'] });
    expect((document.blocks[1] as { rows: string[][] }).rows[0]).toEqual(['audit-engine', 'acgs-audit-engine', 'exited', 'none', 'acgs:1', '-', '0']);
    expect((document.blocks[1] as { rows: string[][] }).rows[1]![5]).toBe('1 h 2 min');
    expect(document.actions?.map((action) => action.command)).toEqual(['logs audit-engine --tail 50', 'restart audit-engine', 'logs policy-engine --tail 50', 'restart policy-engine']);
    expect(document.actions?.[1]?.confirm?.title).toBe('Restart audit-engine?');
  });

  it('says so when the stack has no services', () => {
    const document = statusDocument(dockerStack, []);
    expect(document).toMatchObject({ tone: 'warn', footer: 'Start the stack with `docker-compose -p acgs up -d`.' });
  });
});

describe('stats document', () => {
  const sample = (replica: string, cpuPercent: number, memoryPercent: number, service = 'policy-engine'): ContainerStats => ({
    service,
    replica,
    id: replica,
    cpuPercent,
    memory: { usedBytes: memoryPercent * 10 * 1024 * 1024, limitBytes: 1000 * 1024 * 1024, percent: memoryPercent },
    network: { rxBytes: 2048, txBytes: 1024 },
    blockIo: { readBytes: 0, writeBytes: 4096 },
    pids: 12,
  });

  it('marks CPU over 80 % and memory over 85 % per replica and names the services over', () => {
    const document = statsDocument(dockerStack, [sample('pe-1', 79.9, 84.9), sample('pe-2', 80, 10), sample('ae-1', 5, 85.1, 'audit-engine')]);
    expect(document.tone).toBe('warn');
    expect(document.summary).toMatch(/^Over the runbook's thresholds: policy-engine, audit-engine\./);
    const checks = document.blocks[0] as { items: { name: string; tone: string; text: string }[] };
    expect(checks.items).toEqual([
      { name: 'policy-engine', tone: 'warn', text: '2 replicas · CPU up to 80.0 % · memory up to 849.0 MiB of 1000.0 MiB (84.9 %) · CPU over 80 %' },
      { name: 'audit-engine', tone: 'warn', text: 'CPU 5.0 % · memory 851.0 MiB of 1000.0 MiB (85.1 %) · memory over 85 %' },
    ]);
    const rows = (document.blocks[1] as { rows: string[][] }).rows;
    expect(rows.map((row) => [row[1], row[3]])).toEqual([
      ['79.9 %', '84.9 %'],
      ['80.0 % !', '10.0 %'],
      ['5.0 %', '85.1 % !'],
    ]);
    expect(rows[0]![4]).toBe('2.0 KiB / 1.0 KiB');
    expect(document.data).toMatchObject({ thresholds: { cpu_percent: 80, memory_percent: 85 } });
  });

  it('names each service it could not measure, with the reason, as a warning', () => {
    const skipped = [{ service: 'sick', reason: 'pid 4242 of sick is not running (a stale pid file)' }];
    const document = statsDocument(localStack, [{ ...sample('alpha', 1, 1, 'alpha'), network: null, blockIo: null, pids: null }], skipped);
    expect(document.tone).toBe('warn');
    expect(document.summary).toBe("Every service measured is within the runbook's thresholds. Not measured: sick (why below; `status` shows its state).");
    expect((document.blocks[0] as { items: unknown[] }).items).toEqual([
      { name: 'alpha', tone: 'ok', text: expect.stringMatching(/^CPU 1\.0 %/) },
      { name: 'sick', tone: 'warn', text: 'not measured: pid 4242 of sick is not running (a stale pid file)' },
    ]);
    expect(document.data).toMatchObject({ skipped });
    const none = statsDocument(localStack, [], skipped);
    expect(none.summary).toContain('Not measured: sick');
    expect((none.blocks[0] as { items: unknown[] }).items).toHaveLength(1);
  });

  it('names the replicas it could not measure, once each, when a Docker service has several', () => {
    const skipped = [
      { service: 'web', replica: 'acgs-web-2', reason: 'acgs-web-2 is exited, not running: nothing to measure' },
      { service: 'web', replica: 'acgs-web-3', reason: 'acgs-web-3 is exited, not running: nothing to measure' },
    ];
    const document = statsDocument(dockerStack, [sample('web', 1, 1, 'acgs-web-1')], skipped);
    expect(document.summary).toContain('Not measured: acgs-web-2, acgs-web-3 (why below');
    expect((document.blocks[0] as { items: Array<{ name: string }> }).items.map((item) => item.name)).toEqual(['acgs-web-1', 'acgs-web-2', 'acgs-web-3']);
    expect(document.data).toMatchObject({ skipped: [{ service: 'web', replica: 'acgs-web-2' }, { service: 'web', replica: 'acgs-web-3' }] });
  });

  it('is ok within the thresholds, and says local memory is measured against the machine', () => {
    const document = statsDocument(localStack, [{ ...sample('alpha', 1, 1), network: null, blockIo: null, pids: null }]);
    expect(document.tone).toBe('ok');
    expect(document.footer).toContain("memory is measured against the machine's memory");
    expect(document.footer).toContain('Network figures per replica are not available');
    expect((document.blocks[1] as { rows: string[][] }).rows[0]!.slice(4)).toEqual(['-', '-', '-']);
  });
});

describe('logs document', () => {
  const line = (text: string, second: number, replica = 'web-1'): LogLine => ({
    replica,
    stream: 'stdout',
    time: new Date(Date.UTC(2025, 0, 31, 14, 5, second)).toISOString(),
    text,
  });

  it('prefixes the time, and the replica only when there are several', () => {
    expect(logsText([line('one', 1), line('two', 2)]).text).toBe('14:05:01 one\n14:05:02 two');
    expect(logsText([line('one', 1), line('two', 2, 'web-2')]).text).toBe('14:05:01 web-1 | one\n14:05:02 web-2 | two');
  });

  it('cuts long lines and keeps the newest lines within the budget, saying what was cut', () => {
    const lines = Array.from({ length: 200 }, (_, index) => line(`${index} ${'x'.repeat(600)}`, index % 60));
    const document = logsDocument(dockerStack, { service: 'web', tail: 200 }, { service: 'web', lines, scanned: 500, truncated: true });
    const code = document.blocks[0] as { type: 'code'; text: string };
    expect(code.text.length).toBeLessThanOrEqual(LOGS_DISPLAY_CHARS);
    expect(code.text.split('\n').at(-1)).toMatch(/^14:\d\d:\d\d 199 x+ …\[cut\]$/);
    expect(code.text.split('\n')[0]!.length).toBe('14:05:00 '.length + LOGS_LINE_CHARS + ' …[cut]'.length);
    const cut = document.blocks[1] as { type: 'text'; text: string };
    expect(cut.text).toMatch(/^Cut: \d+ older lines were left out to fit the message; --json has all 200; older lines exist beyond the 200 asked for; \d+ long lines were cut at 400 characters/);
    expect((document.data as { lines: unknown[] }).lines).toHaveLength(200);
  });

  it('gives the time span and the count of cut lines of the lines it shows, not of every line fetched', () => {
    const lines = Array.from({ length: 100 }, (_, index) => ({ ...line(`${index} ${'z'.repeat(600)}`, 0), time: new Date(Date.UTC(2025, 0, 31, 14, 0, index)).toISOString() }));
    const document = logsDocument(dockerStack, { service: 'web', tail: 100 }, { service: 'web', lines, scanned: 100, truncated: false });
    const shown = (document.blocks[0] as { type: 'code'; text: string }).text.split('\n');
    expect(shown.length).toBeLessThan(100);
    const firstShown = lines[100 - shown.length]!;
    expect(shown[0]).toMatch(new RegExp(`^${firstShown.time.slice(11, 19)} ${100 - shown.length} z+`));
    expect(document.summary).toBe(`Last ${shown.length} lines, ${firstShown.time.slice(0, 10)} ${firstShown.time.slice(11, 19)}Z to 2025-01-31 14:01:39Z (UTC).`);
    expect((document.blocks[1] as { type: 'text'; text: string }).text).toContain(`; ${shown.length} long lines were cut at 400 characters`);
  });

  it('renders the largest answer within Slack limits, with mentions and markup escaped', () => {
    const lines = Array.from({ length: 500 }, (_, index) => line(`<@U0ADMIN> <!channel> *bold* \`\`\` ${index} ${'y'.repeat(300)}`, index % 60));
    const document = logsDocument(dockerStack, { service: 'web', tail: 500, grep: 'channel' }, { service: 'web', lines, scanned: 10_000, truncated: false });
    const message = renderDocument(document);
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
    const text = JSON.stringify(message.blocks);
    expect(text).not.toContain('<@U0ADMIN>');
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('&lt;@U0ADMIN&gt;');
  });

  it('says first that the stack is not running and when its log file was last written, as a warning', () => {
    const stackStopped = { why: 'its supervisor is gone', logFile: '/state/logs/web.log', lastWrittenAt: '2025-01-31T14:06:00.000Z' };
    const document = logsDocument(localStack, { service: 'web', tail: 50 }, { service: 'web', lines: [line('one', 1)], scanned: 1, truncated: false, stackStopped });
    expect(document.tone).toBe('warn');
    expect(document.summary).toBe(
      'The local stack is not running (its supervisor is gone). These are the last lines it wrote; /state/logs/web.log was last written 2025-01-31 14:06:00Z (UTC). Last 1 line, 2025-01-31 14:05:01Z to 2025-01-31 14:05:01Z (UTC).',
    );
    expect(document.footer).toContain('Start it with `npm start`');
    expect(document.data).toMatchObject({ stack_stopped: { why: 'its supervisor is gone', log_file: '/state/logs/web.log', last_written_at: '2025-01-31T14:06:00.000Z' } });
    const empty = logsDocument(localStack, { service: 'web', tail: 50, grep: 'x' }, { service: 'web', lines: [], scanned: 3, truncated: false, stackStopped });
    expect(empty.tone).toBe('warn');
    expect(empty.summary).toMatch(/^The local stack is not running \(its supervisor is gone\)\. .* No lines containing "x" \(3 looked at\)\.$/);
    // A running stack's answer says nothing of the kind.
    expect(logsDocument(localStack, { service: 'web', tail: 50 }, { service: 'web', lines: [line('one', 1)], scanned: 1, truncated: false }).data).not.toHaveProperty('stack_stopped');
  });

  it('says there were no lines, with the filters it applied', () => {
    const document = logsDocument(dockerStack, { service: 'web', tail: 50, grep: 'nothing', sinceSeconds: 600 }, { service: 'web', lines: [], scanned: 42, truncated: false });
    expect(document.summary).toBe('No lines containing "nothing" from the last 10 min 0 s (42 looked at).');
  });
});

describe('stack failures as documents', () => {
  it('shows what was done and not done after a partial failure, with the next step and buttons', () => {
    const error = new StackError('PARTIAL', 'web-2 did not become healthy', { done: ['restarted web-1'], notDone: ['web-3 was not restarted'] });
    const document = stackFailureDocument('restart', error, 'web');
    expect(document).toMatchObject({ title: 'restart: partly done', tone: 'fail', summary: 'web-2 did not become healthy' });
    expect(document.ephemeral).toBeUndefined();
    expect(document.blocks).toEqual([
      {
        type: 'checks',
        items: [
          { name: 'Done', tone: 'ok', text: 'restarted web-1' },
          { name: 'Not done', tone: 'fail', text: 'web-3 was not restarted' },
        ],
      },
    ]);
    expect(document.footer).toBe('Read `logs web --tail 50` for the cause; `status web` shows its state now.');
    expect(document.actions?.map((action) => action.command)).toEqual(['logs web --tail 50', 'status web']);
    expect(document.data).toMatchObject({ error: { code: 'PARTIAL', done: ['restarted web-1'], not_done: ['web-3 was not restarted'] } });
  });

  it('shows refusals where nothing happened only to the person who asked', () => {
    for (const code of ['NOT_SUPPORTED', 'BUSY', 'INVALID_ARGUMENT', 'SERVICE_UNKNOWN'] as const) {
      expect(stackFailureDocument('scale', new StackError(code, 'no'), 'web').ephemeral).toBe(true);
    }
    for (const code of ['ENGINE_DOWN', 'TIMEOUT', 'UNHEALTHY', 'CONTAINER_MISSING', 'IMAGE_MISSING'] as const) {
      expect(stackFailureDocument('restart', new StackError(code, 'no'), 'web').ephemeral).toBeUndefined();
    }
  });
});

describe('redis memory document', () => {
  const figures = { used_memory: 900, used_memory_peak: 950, used_memory_rss: 200 * 1024 * 1024, mem_fragmentation_ratio: 1.8, maxmemory: 1000, maxmemory_policy: 'noeviction' };

  it('marks memory over 85 % of maxmemory, wasteful fragmentation and a policy that fails writes', () => {
    const document = redisMemoryDocument(figures, '127.0.0.1:6379');
    expect(document.tone).toBe('warn');
    expect(document.summary).toBe('Redis at 127.0.0.1:6379: look at used, fragmentation, eviction policy.');
  });

  it('is ok under the threshold with the expected policy, and does not judge fragmentation of a small dataset', () => {
    const document = redisMemoryDocument({ ...figures, used_memory: 100, used_memory_rss: 1024 * 1024, maxmemory_policy: 'allkeys-lru' }, '127.0.0.1:6379');
    expect(document.tone).toBe('ok');
  });
});

describe('db connections document', () => {
  it("marks sessions idle in a transaction for over the runbook's hour and quotes its fix, which the bot does not run", () => {
    const document = dbConnectionsDocument(
      '127.0.0.1:5432/acgs_audit',
      {
        groups: [
          { state: 'idle', application: 'audit-engine', connections: '4', oldest_seconds: '120.4' },
          { state: 'idle in transaction', application: 'psql', connections: '2', oldest_seconds: '7300' },
          { state: 'active', application: '(none)', connections: '1', oldest_seconds: '0.2' },
        ],
        idle: [
          { pid: 41, database: 'acgs_audit', application: 'psql', user_name: 'acgs', idle_seconds: '7300' },
          { pid: 42, database: 'acgs_audit', application: 'psql', user_name: 'acgs', idle_seconds: '30' },
        ],
        maxConnections: 100,
      },
      3,
    );
    expect(document.tone).toBe('warn');
    expect(document.summary).toBe('1 session has been idle in a transaction for over 1 h 0 min, holding connections and locks.');
    expect((document.blocks[0] as { items: unknown[] }).items).toEqual([
      { name: 'PostgreSQL', tone: 'ok', text: 'reachable · 3 ms' },
      { name: 'Connections', tone: 'info', text: '7 of 100 · 1 active, 4 idle' },
      { name: 'Idle in transaction', tone: 'warn', text: "2 · oldest 2 h 1 min (pid 41, psql on acgs_audit) · 1 over the runbook's 1 h 0 min" },
    ]);
    expect(document.footer).toContain('pg_terminate_backend');
    expect(document.footer).toContain('run by a person, not by the bot');
  });
});

describe('sandbox prune document', () => {
  const sandbox = { container_id: 'c', name: 'acgs-sandbox-1', sandbox_id: 's', agent_id: 'agent-1', runtime: 'runsc', own: false, probe: false, exit_code: 137, finished_at: '2025-01-01T10:00:00.000Z' };

  it('warns about containers the engine refused to remove and explains the ones kept', () => {
    const document = sandboxPruneDocument({
      removed: [sandbox],
      failed: [{ ...sandbox, name: 'acgs-sandbox-2', reason: 'removal of container is already in progress' }],
      kept: [{ ...sandbox, name: 'acgs-sandbox-3', reason: 'it exited 4 s ago; the controller that ran it removes it itself within 30 s' }],
      left_alone: { running: 2, created: 1 },
      grace_seconds: 30,
      constitutional_hash: 'cdd01ef066bc6cf2',
    });
    expect(document.tone).toBe('warn');
    expect(document.summary).toBe('Removed 1 exited sandbox container; the engine refused 1; kept 1 still being read.');
    expect((document.blocks[0] as { items: unknown[] }).items).toEqual([
      { name: 'Removed', tone: 'ok', text: '1 exited sandbox container' },
      { name: 'Not removed: acgs-sandbox-2', tone: 'warn', text: 'removal of container is already in progress' },
      { name: 'Kept: acgs-sandbox-3', tone: 'info', text: 'it exited 4 s ago; the controller that ran it removes it itself within 30 s' },
      { name: 'Left alone', tone: 'info', text: '2 running, 1 created (prune never touches a container that has not exited)' },
    ]);
    expect((document.blocks[1] as { rows: string[][] }).rows).toEqual([['acgs-sandbox-1', 'agent-1', 'runsc', '137', '2025-01-01 10:00:00Z']]);
  });
});
