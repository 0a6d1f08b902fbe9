/**
 * The stack commands against the local driver over real supervised child processes (the
 * supervisor `npm start` uses): status, stats, logs, restart and scale through the one execution
 * path, with every bad input and refused role answered before anything is done.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderText } from '../../bot/cli-render.js';
import { renderDocument } from '../../bot/slack/render.js';
import { validateBlocks } from '../../bot/slack/stand-in/index.js';
import type { CommandPathDependencies } from '../../bot/command-path/index.js';
import type { SupervisedProcess } from '../../services/stack/local/local-supervisor.js';
import type { Stack } from '../../services/stack/stack.js';
import { SCALE_WITHOUT_APPROVALS } from '../testing/command-access.js';
import { block, commandRunner, stackOnlyServices } from '../testing/commands.js';
import { FIXTURE_SERVICE_SCRIPT, startFixtureProcesses, type FixtureProcesses } from '../testing/fixture-processes.js';
import { commandAccessForSuite } from '../testing/suite.js';

const USERS = { oncall: 'U0ONCALL', admin: 'U0ADMIN', nobody: 'U0NOBODY' } as const;
const access = commandAccessForSuite({ roles: { oncall: [USERS.oncall], admins: [USERS.admin] }, overrides: SCALE_WITHOUT_APPROVALS });
let fixture: FixtureProcesses | undefined;
let processes: Map<string, SupervisedProcess>;
let urls: Record<string, string>;
let crashFlag: string;
let stack: Stack;
let services: CommandPathDependencies;
const run = commandRunner({ services: () => services, access, user: USERS.oncall });

beforeAll(async () => {
  fixture = await startFixtureProcesses({ logCapacity: 200 });
  ({ processes, urls, crashFlag, stack } = fixture);
  services = await stackOnlyServices(stack);
}, 40_000);

afterAll(() => fixture?.close(), 30_000);

const pids = () => Object.fromEntries([...processes].map(([name, supervised]) => [name, supervised.pid()]));

async function say(service: string, text: string, stream: 'stdout' | 'stderr' = 'stdout'): Promise<void> {
  const response = await fetch(`${urls[service]}/say/${stream}/${encodeURIComponent(text)}`);
  expect(response.status).toBe(200);
  // The supervisor reads the child's output asynchronously.
  const deadline = Date.now() + 5000;
  while (!processes.get(service)!.logs().some((line) => line.text.includes(text))) {
    if (Date.now() > deadline) throw new Error(`"${text}" never reached the log of ${service}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('status', () => {
  it('lists every process with state, health, command, uptime and pid, and offers logs and a restart for the unhealthy one', async () => {
    const { document, outcome } = await run('status');
    expect(outcome).toBe('fail');
    expect(document.summary).toBe('1 of 3 services need attention: sick (unhealthy).');
    expect(block(document, 'checks').items).toEqual([
      { name: 'alpha', tone: 'ok', text: 'healthy · 1 of 1 replica running' },
      { name: 'beta', tone: 'ok', text: 'healthy · 1 of 1 replica running' },
      { name: 'sick', tone: 'fail', text: 'unhealthy · 1 of 1 replica running' },
    ]);
    const table = block(document, 'table');
    expect(table.columns).toEqual(['service', 'replica', 'state', 'health', 'command', 'uptime', 'pid']);
    expect(table.rows[0]).toEqual(['alpha', 'alpha', 'running', 'healthy', `node ${FIXTURE_SERVICE_SCRIPT}`, expect.stringMatching(/^\d+ s$/), String(processes.get('alpha')!.pid())]);
    expect(document.actions?.map((action) => action.command)).toEqual(['logs sick --tail 50', 'restart sick']);
    expect(document.footer).toContain('The local stack (processes supervised by npm start)');
  });

  it('answers to ps and narrows to one service', async () => {
    const { document } = await run('ps alpha');
    expect(document.tone).toBe('ok');
    expect(block(document, 'table').rows.map((row) => row[0])).toEqual(['alpha']);
  });

  it('renders the same document for Slack within its limits and for the terminal', async () => {
    const { document } = await run('status');
    expect(validateBlocks(renderDocument(document).blocks, 'message')).toEqual([]);
    const text = renderText(document);
    expect(text).toContain('✗ sick');
    expect(text).toMatch(/alpha +alpha +running +healthy +node test\/fixtures/);
  });

  it('refuses a service the stack does not have, with the closest name and the list', async () => {
    const outcome = await run('status alpah');
    expect(outcome.outcome).toBe('rejected');
    expect(outcome.rejection).toBe('usage');
    expect(outcome.document.summary).toBe('There is no service `alpah` in the local stack (processes supervised by npm start); did you mean `alpha`?');
    expect(outcome.document.footer).toBe('Its services: alpha, beta, sick. Nothing was done.');
  });

  it('refuses clearly when the bot has no stack', async () => {
    const outcome = await run('status', { services: { ...services, stack: undefined } as CommandPathDependencies });
    expect(outcome.rejection).toBe('unavailable');
    expect(outcome.document.summary).toBe('This bot controls no stack: it was started without a Stack driver.');
  });
});

describe('stats', () => {
  it('measures CPU and memory of each process against the machine and the runbook thresholds', async () => {
    const { document } = await run('stats');
    expect(document.tone).toBe('ok');
    const rows = block(document, 'table').rows;
    expect(rows.map((row) => row[0])).toEqual(['alpha', 'beta', 'sick']);
    for (const row of rows) {
      expect(row[1]).toMatch(/^\d+\.\d %$/);
      expect(row[2]).toMatch(/^[\d.]+ MiB \/ [\d.]+ GiB$/);
    }
    expect(document.footer).toContain("memory is measured against the machine's memory");
    const samples = (document.data as { samples: Array<{ memory: { usedBytes: number }; marks: { cpu: string } }> }).samples;
    expect(samples.every((sample) => sample.memory.usedBytes > 1024 * 1024)).toBe(true);
  });

  it('narrows to one service', async () => {
    const { document } = await run('stats beta');
    expect(block(document, 'table').rows.map((row) => row[0])).toEqual(['beta']);
  });
});

describe('logs', () => {
  it('shows the last lines of a process, filtered by plain text, oldest first', async () => {
    await say('alpha', 'first marker line');
    await say('alpha', 'unrelated line');
    await say('alpha', 'second MARKER line with <@U0ADMIN> and *stars*', 'stderr');
    const { document } = await run('logs alpha --grep marker');
    expect(document.tone).toBe('info');
    const lines = block(document, 'code').text.split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^\d\d:\d\d:\d\d first marker line$/),
      expect.stringMatching(/^\d\d:\d\d:\d\d second MARKER line with <@U0ADMIN> and \*stars\*$/),
    ]);
    expect(document.summary).toMatch(/^Last 2 lines containing "marker", /);
    // In Slack the line is text in a code block: no mention, no markup.
    const slack = JSON.stringify(renderDocument(document).blocks);
    expect(slack).toContain('&lt;@U0ADMIN&gt;');
    expect(slack).not.toContain('<@U0ADMIN>');
  });

  it('takes the filter as text, never as a pattern', async () => {
    await say('alpha', 'cost is $5 (a.*b) [x]');
    const literal = await run(`logs alpha --grep "(a.*b) [x]"`);
    expect(block(literal.document, 'code').text).toMatch(/cost is \$5 \(a\.\*b\) \[x\]$/);
    const pattern = await run('logs alpha --grep "marker.*line"');
    expect(pattern.document.summary).toMatch(/^No lines containing "marker\.\*line"/);
  });

  it('returns only the last N lines and says older ones exist', async () => {
    const { document } = await run('logs alpha --tail 1');
    expect(block(document, 'code').text.split('\n')).toHaveLength(1);
    expect(block(document, 'text').text).toBe('Cut: older lines exist beyond the 1 asked for.');
  });

  it('keeps to the window given with --since', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await say('alpha', 'fresh line');
    const { document } = await run('logs alpha --since 1s');
    expect(block(document, 'code').text).toMatch(/^\d\d:\d\d:\d\d fresh line$/);
  });

  it.each([
    ['logs', /service: must be a service name/],
    ['logs alpha --tail 0', /tail: must be a whole number from 1 to 500 \(got `0`\)/],
    ['logs alpha --tail 501', /tail: must be a whole number from 1 to 500/],
    ['logs alpha --tail ten', /tail: must be a whole number from 1 to 500 \(got `ten`\)/],
    ['logs alpha --tail -5', /`--tail -5` is not allowed: numbers must not be negative/],
    ['logs alpha --tail=-5', /tail: must be a whole number from 1 to 500 \(got `-5`\)/],
    ['logs alpha --since 0s', /since: must be a duration such as 30s/],
    ['logs alpha --since 30d', /since: must be a duration such as 30s, 10m, 2h or 1d .*at most 7d \(got `30d`\)/],
    ['logs alpha --since yesterday', /since: must be a duration/],
    ['logs alpha --grep ""', /grep: must be some text to look for/],
    [`logs alpha --grep ${'x'.repeat(201)}`, /grep: must be at most 200 characters/],
    ['logs alpha --follow', /`--follow` is not an option of `logs`/],
    ['logs alpha beta', /`logs` takes at most 1 argument/],
    ['logs ../alpha', /service: must be a service name/],
    ['logs gamma', /There is no service `gamma` in the local stack/],
  ])('refuses %s with a message a person can act on', async (line, message) => {
    const outcome = await run(line);
    expect(outcome.outcome).toBe('rejected');
    expect(outcome.document.ephemeral).toBe(true);
    expect(outcome.document.summary).toMatch(message);
  });
});

describe('restart', () => {
  it('restarts a process for on-call and reports the new pid, the time it took and the health after', async () => {
    const before = processes.get('alpha')!.pid();
    const { document, outcome } = await run('restart alpha');
    expect(outcome).toBe('ok');
    const after = processes.get('alpha')!.pid();
    expect(after).not.toBe(before);
    expect(document.title).toBe('Restarted alpha');
    expect(document.summary).toMatch(/^alpha was restarted \(1 replica\) in [\d.]+ (ms|s); it is healthy now\.$/);
    expect(block(document, 'checks').items).toEqual([{ name: 'alpha', tone: 'ok', text: expect.stringMatching(new RegExp(`^pid ${before} → ${after} · started \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ · healthy$`)) }]);
    expect(block(document, 'fields').fields).toEqual([
      { label: 'Took', value: expect.stringMatching(/^[\d.]+ (ms|s)$/) },
      { label: 'Health after', value: 'healthy' },
    ]);
    expect((await fetch(`${urls.alpha}/health`)).status).toBe(200);
  });

  it('lets an admin restart too', async () => {
    const before = processes.get('alpha')!.pid();
    expect((await run('restart alpha', { user: USERS.admin })).outcome).toBe('ok');
    expect(processes.get('alpha')!.pid()).not.toBe(before);
  });

  it('refuses someone without the on-call or admins role, and restarts nothing', async () => {
    const before = pids();
    const outcome = await run('restart alpha', { user: USERS.nobody });
    expect(outcome.rejection).toBe('refused');
    expect(outcome.document.summary).toBe('"restart" is a Level 1 (automatic) action that the oncall or admins role may request; you hold no role.');
    expect(pids()).toEqual(before);
  });

  it.each(['restart gamma', 'restart', 'restart alpha beta', 'restart "alpha;beta"', 'restart <@U0ADMIN>'])('refuses %s and restarts nothing', async (line) => {
    const before = pids();
    const restartsBefore = [...processes.values()].map((supervised) => supervised.startedAt()?.getTime());
    const outcome = await run(line);
    expect(outcome.outcome).toBe('rejected');
    expect(outcome.rejection).toBe('usage');
    expect(pids()).toEqual(before);
    expect([...processes.values()].map((supervised) => supervised.startedAt()?.getTime())).toEqual(restartsBefore);
  });

  it('refuses a second restart of a service while the first runs, and finishes the first', async () => {
    const before = processes.get('alpha')!.pid();
    const first = run('restart alpha');
    // Once the old process is gone the first restart is waiting for the new one's health.
    while (processes.get('alpha')!.pid() === before) await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await run('restart alpha');
    expect(second.document.title).toBe('restart: already in progress');
    expect(second.document.summary).toMatch(/^Cannot restart alpha now: a restart of alpha started/);
    expect(second.document.ephemeral).toBe(true);
    expect((await first).outcome).toBe('ok');
  });

  it('says what was done and what was not when the process crashes after the restart', async () => {
    writeFileSync(crashFlag, 'broken');
    try {
      const { document, outcome } = await run('restart beta');
      expect(outcome).toBe('fail');
      expect(document.title).toBe('restart: not healthy');
      expect(document.summary).toMatch(/^beta exited again while starting after the restart; its last log lines: .*beta: fatal: configuration is broken/);
      expect(block(document, 'checks').items).toEqual([
        { name: 'Done', tone: 'ok', text: 'restarted beta' },
        { name: 'Not done', tone: 'fail', text: 'the supervisor restarts it with a growing delay; read its logs for the cause' },
      ]);
      expect(document.actions?.map((action) => action.command)).toEqual(['logs beta --tail 50', 'status beta']);
      expect(document.ephemeral).toBeUndefined();
    } finally {
      rmSync(crashFlag, { force: true });
    }
    expect(await processes.get('beta')!.waitUntilHealthy(20_000)).toBe(true);
    expect(existsSync(crashFlag)).toBe(false);
  }, 40_000);
});

describe('scale', () => {
  it('answers an admin with the local driver\'s reason it cannot scale, and changes nothing', async () => {
    const before = pids();
    const { document, outcome } = await run('scale alpha 2', { user: USERS.admin });
    expect(outcome).toBe('fail');
    expect(document.title).toBe('scale: not possible on this stack');
    expect(document.summary).toMatch(/^Scaling is not possible on the local stack, where alpha runs as one local process: it owns its firm port/);
    expect(document.ephemeral).toBe(true);
    expect(pids()).toEqual(before);
  });

  it('refuses on-call when the rules let only admins request scaling', async () => {
    const before = pids();
    const outcome = await run('scale alpha 2', { user: USERS.oncall });
    expect(outcome.rejection).toBe('refused');
    expect(outcome.document.title).toBe('scale: refused');
    expect(outcome.document.summary).toBe('"scale" is a Level 2 (human decision) action that the admins role may request; your roles: oncall.');
    expect(pids()).toEqual(before);
  });

  it.each([
    ['scale alpha 0', /replicas: must be a whole number from 1 to 10 \(got `0`\)/],
    ['scale alpha 11', /replicas: must be a whole number from 1 to 10 \(got `11`\)/],
    ['scale alpha -1', /numbers must not be negative/],
    ['scale alpha two', /replicas: must be a whole number from 1 to 10 \(got `two`\)/],
    ['scale alpha 2.5', /replicas: must be a whole number from 1 to 10/],
    ['scale alpha 1e1', /replicas: must be a whole number from 1 to 10/],
    ['scale alpha', /replicas: must be a whole number from 1 to 10/],
    ['scale alpha 2 3', /`scale` takes at most 2 arguments/],
    ['scale gamma 2', /There is no service `gamma`/],
  ])('refuses %s for an admin and touches nothing', async (line, message) => {
    const before = pids();
    const outcome = await run(line, { user: USERS.admin });
    expect(outcome.rejection).toBe('usage');
    expect(outcome.document.summary).toMatch(message);
    expect(pids()).toEqual(before);
  });
});
