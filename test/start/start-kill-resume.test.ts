import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_PORTS } from '../../services/kit/service-ports.js';
import { FIRM_PORTS_WAIT_MS, takeFirmPorts } from '../testing/firm-ports.js';
import { openConsoleSession, type ConsoleSession } from '../testing/console-session.js';
import { unusedLoopbackPort } from '../testing/loopback.js';
import { requireFreePorts, startNpmStart, takenPorts, waitForHealth } from '../testing/npm-start.js';

/**
 * Issue 12's "done when", the part start-local.test.ts leaves out: `npm start` killed with SIGKILL
 * while a run is in a step, started again on the same state directory, and the console shows the
 * run taken over and finished, a run that waited for a decision still waiting for it, and a
 * restore of the backup made meanwhile asking two approvers.
 *
 * What makes a step last long enough to be killed in, for real: the Sandbox Controller stopped
 * with SIGSTOP (a hung process: it accepts connections and never answers). The backup's
 * `save-state` step asks every service for its version and waits for the controller's client
 * to give up; the health check's first step fails on it and waits for a decision.
 */
const LINK = /local Slack console: (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/;
const RUN_ID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

type ConsoleMessage = { text: string; blocks: unknown[]; ts: string };

interface Bot {
  child: ChildProcess;
  output: () => string;
  session: ConsoleSession;
  ops: string;
}

let stateDir: string | undefined;
let botPort = 0;
const bots: Bot[] = [];
/** A service this test stopped with SIGSTOP: continued in afterAll whatever happened. */
let stoppedPid: number | undefined;
/** The services of the killed start: any still running in afterAll is an orphan this test ends. */
let killedServices: number[] = [];

const allPorts = (): Record<string, number> => ({ ...SERVICE_PORTS, bot: botPort });

/** `npm start` as start-local.test.ts runs it: nothing configured but the state directory and the bot's port. */
async function startBot(): Promise<Bot> {
  // The hung Sandbox Controller is what keeps the steps waiting; Level 1 exists to restart it (a
  // frozen service fires ServiceDown within about 8 s), so it is off for this suite.
  const { child, output: read } = startNpmStart({ stateDir: stateDir!, botPort, env: { ACGS_ALERT_LEVEL_ONE: 'off' } });
  const url = await new Promise<string>((resolve, reject) => {
    const printed = () => LINK.exec(read())?.[1];
    const onData = () => {
      if (!printed()) return;
      child.stdout!.off('data', onData);
      resolve(printed()!);
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code, signal) => reject(new Error(`npm start exited (${signal ?? code}) before printing the console link\n${read().slice(-4000)}`)));
  });
  for (const port of Object.values(allPorts())) await waitForHealth(port, 90_000, read);
  const session = await openConsoleSession(url);
  const ops = (await session.get<{ channels: { id: string; name: string }[] }>('workspace')).channels.find((channel) => channel.name === 'acgs-ops')!.id;
  const bot = { child, output: read, session, ops };
  bots.push(bot);
  return bot;
}

async function listed(bot: Bot): Promise<ConsoleMessage[]> {
  return (await bot.session.get<{ messages: ConsoleMessage[] }>(`messages?channel=${bot.ops}&as=U0ONCALL`)).messages;
}

/** Types a line into #acgs-ops as the on-call engineer; answers the bot's newest reply that starts so. */
async function type(bot: Bot, text: string, replyStartsWith: string, timeoutMs = 15_000): Promise<ConsoleMessage> {
  const before = (await listed(bot)).filter((message) => message.text.startsWith(replyStartsWith)).length;
  const sent = await bot.session.post('compose', { as: 'U0ONCALL', channel: bot.ops, text });
  expect(sent.json).toEqual({ ok: true });
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    const replies = (await listed(bot)).filter((message) => message.text.startsWith(replyStartsWith));
    if (replies.length > before) return replies.at(-1)!;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no reply starting "${replyStartsWith}" to "${text}" in ${timeoutMs} ms; newest: ${(await listed(bot)).at(-1)?.text}\n${bot.output().slice(-3000)}`);
}

/** Every text of a message's blocks, as one string of lines. */
function blockText(message: ConsoleMessage): string {
  const texts: string[] = [];
  JSON.stringify(message.blocks, (key, value: unknown) => {
    if (key === 'text' && typeof value === 'string') texts.push(value);
    return value;
  });
  return texts.join('\n');
}

interface StepRow {
  step: number;
  kind: string;
  state: string;
  attempts: number;
}

/** The steps table of `run status`: its fixed-width rows, cells two spaces apart. */
function stepRows(message: ConsoleMessage): StepRow[] {
  return blockText(message)
    .split('\n')
    .filter((line) => /^\d+ {2}/.test(line))
    .map((line) => {
      const [step, , kind, state, attempts] = line.split(/ {2,}/);
      return { step: Number(step), kind: kind!, state: state!, attempts: Number(attempts) };
    });
}

function fieldOf(message: ConsoleMessage, label: string): string | undefined {
  return new RegExp(`\\*${label}\\*\\n([^\\n]*)`).exec(blockText(message))?.[1];
}

interface RunStatus {
  message: ConsoleMessage;
  /** The summary's words after the runbook: "is running", "has succeeded", ... */
  state: string;
  runner: string | undefined;
  steps: StepRow[];
  /** When the reply was read. */
  at: number;
}

async function runStatus(bot: Bot, id: string, runbook: string): Promise<RunStatus> {
  const message = await type(bot, `/acgs run status ${id}`, `Run ${id.slice(0, 8)}: ${runbook}`);
  const state = /^Run [0-9a-f]{8}: [\w-]+: [\w-]+ (is running|is waiting to start|is waiting for a decision|has succeeded|has failed|is being aborted|was aborted)/.exec(message.text)?.[1] ?? message.text;
  return { message, state, runner: fieldOf(message, 'Runner'), steps: stepRows(message), at: Date.now() };
}

/** Types `run status` (a new line each time, as a person would) until `wanted` holds for what it shows. */
async function until(bot: Bot, id: string, runbook: string, what: string, wanted: (status: RunStatus) => boolean, timeoutMs: number, seen: RunStatus[] = []): Promise<RunStatus> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    const status = await runStatus(bot, id, runbook);
    seen.push(status);
    if (wanted(status)) return status;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const last = seen.at(-1);
  throw new Error(`run ${id} (${runbook}): not ${what} after ${timeoutMs} ms; seen: ${[...new Set(seen.map((status) => status.state))].join(', ')}; last: ${last?.message.text}\n${last ? blockText(last.message) : ''}`);
}

const settled = (status: RunStatus) => !['is running', 'is waiting to start'].includes(status.state);

async function startRun(bot: Bot, line: string, runbook: string): Promise<string> {
  const started = await type(bot, line, `Run started: ${runbook}`, 30_000);
  const id = RUN_ID.exec(started.text)?.[0];
  expect(id, `no run id in ${started.text}`).toBeDefined();
  return id!;
}

function pidOf(service: string): number {
  return (JSON.parse(readFileSync(join(stateDir!, 'run', `${service}.pid`), 'utf8')) as { pid: number }).pid;
}

/** A process that is gone, or a zombie no one reaped yet: either way it runs nothing and holds no port. */
function ended(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
  } catch {
    return true;
  }
}

let releaseFirmPorts: (() => Promise<void>) | undefined;

beforeAll(async () => {
  // start-local.test.ts runs npm start on the same ports: one suite at a time.
  releaseFirmPorts = await takeFirmPorts();
  stateDir = mkdtempSync(join(tmpdir(), 'acgs-kill-resume-'));
  botPort = await unusedLoopbackPort();
  await requireFreePorts(allPorts());
}, FIRM_PORTS_WAIT_MS + 10_000);

afterAll(async () => {
  if (stoppedPid !== undefined) {
    try {
      process.kill(stoppedPid, 'SIGCONT');
    } catch {
      // Already gone.
    }
  }
  for (const pid of killedServices.filter((service) => !ended(service))) process.kill(pid, 'SIGKILL');
  for (const { child } of bots) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  await releaseFirmPorts?.();
}, 60_000);

describe('npm start killed with SIGKILL mid-run, then started again', () => {
  let backupRun = '';
  let healthRun = '';
  let firstRunner: string | undefined;
  let second: Bot;

  it('has a run waiting for a decision and a backup in a step when it is killed; its services end with it', async () => {
    const first = await startBot();
    // The Sandbox Controller hangs: the kernel still accepts its connections, nobody answers them.
    stoppedPid = pidOf('sandbox-controller');
    process.kill(stoppedPid, 'SIGSTOP');

    healthRun = await startRun(first, '/acgs run health-check', 'health-check');
    const waiting = await until(first, healthRun, 'health-check', 'settled', settled, 30_000);
    expect(waiting.state).toBe('is waiting for a decision');
    expect(waiting.message.text).toContain('sandbox-controller');

    backupRun = await startRun(first, '/acgs backup', 'backup');
    // Step 4 asks every service for its version and waits for the controller's client to give up.
    const inStep = await until(first, backupRun, 'backup', 'in step 4', (status) => status.steps[3]?.state === 'running' || settled(status), 90_000);
    expect(inStep.state, blockText(inStep.message)).toBe('is running');
    expect(inStep.steps.map((step) => step.state)).toEqual(['done', 'done', 'done', 'running', 'pending', 'pending', 'pending']);
    firstRunner = inStep.runner;
    expect(firstRunner).toMatch(/\/\d+\//);

    const services = Object.keys(SERVICE_PORTS).map((service) => pidOf(service));
    killedServices = services;
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    // Continued, the controller finds its supervisor gone and ends like the others.
    process.kill(stoppedPid, 'SIGCONT');
    stoppedPid = undefined;
    // Nobody stops the services: each ends by itself once its supervisor is gone, freeing its port.
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && (services.some((pid) => !ended(pid)) || (await takenPorts(allPorts())).length > 0); ) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(services.filter((pid) => !ended(pid))).toEqual([]);
    expect(await takenPorts(allPorts())).toEqual([]);
  }, 240_000);

  it('takes the killed backup over once its lease runs out: the interrupted step runs again, the completed ones never, and it succeeds', async () => {
    second = await startBot();
    const up = Date.now();
    const seen: RunStatus[] = [];
    const done = await until(second, backupRun, 'backup', 'settled', settled, 120_000, seen);
    expect(done.state, blockText(done.message)).toBe('has succeeded');
    // Never running under nobody for longer than the dead runner's lease (15 s) and a scan of the new one.
    const takenOver = seen.find((status) => status.runner !== firstRunner || settled(status))!;
    expect(takenOver.at - up).toBeLessThan(25_000);
    expect(seen.slice(seen.indexOf(takenOver)).map((status) => status.runner)).not.toContain(firstRunner);
    expect(done.steps.map((step) => [step.state, step.attempts])).toEqual([
      ['done', 1],
      ['done', 1],
      ['done', 1],
      ['done', 2],
      ['done', 1],
      ['done', 1],
      ['done', 1],
    ]);
    // The run's own message, kept current in #acgs-ops: the restarted console's workspace is empty,
    // so it is posted again and shows the end.
    let runMessage: ConsoleMessage | undefined;
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && !runMessage; ) {
      runMessage = (await listed(second)).find((message) => message.text.startsWith('Runbook backup succeeded') && JSON.stringify(message.blocks).includes(backupRun));
      if (!runMessage) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(runMessage, 'no run message of the backup in #acgs-ops after the restart').toBeDefined();
    const backups = await type(second, '/acgs backups', 'Backups: 1 backup');
    expect(backups.text).toMatch(/1 complete/);
  }, 240_000);

  it('keeps the run that waited for a decision waiting; retried from the console it runs again and succeeds', async () => {
    const still = await runStatus(second, healthRun, 'health-check');
    expect(still.state).toBe('is waiting for a decision');
    const decided = await type(second, `/acgs run decide ${healthRun} retry`, 'Retry decided: health-check');
    expect(decided.text).toContain(healthRun);
    const done = await until(second, healthRun, 'health-check', 'settled', settled, 60_000);
    expect(done.state, blockText(done.message)).toBe('has succeeded');
    expect(done.steps.map((step) => [step.state, step.attempts])).toEqual([
      ['done', 2],
      ['done', 1],
    ]);
  }, 120_000);

  it('asks two approvers, neither the requester, for a restore of that backup, showing its plan', async () => {
    const [id] = readdirSync(join(stateDir!, 'backups')).filter((name) => /^\d{8}T\d{6}Z-[0-9a-f]{6}$/.test(name));
    expect(id).toBeDefined();
    const request = await type(second, `/acgs restore ${id} --unverified`, `Approval pending: restore ${id}`, 60_000);
    const plan = blockText(request);
    expect(plan).toMatch(/plan [0-9a-f]{32} · restore@/);
    for (const step of ["Back up today's data first", 'Stop the services that write', 'Replace each database with its dump']) expect(plan).toContain(step);
    expect(plan).toContain('0 of 2 approved');

    const click = (as: string) => second.session.post('click', { as, actionId: 'acgs_approval_approve', channel: second.ops, messageTs: request.ts });
    const now = async () => (await listed(second)).find((message) => message.ts === request.ts)!;
    // The requester's own approval does not count: they alone are told so, and only then does an approver click.
    expect((await click('U0ONCALL')).status).toBe(200);
    let refusal: ConsoleMessage | undefined;
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && !refusal; ) {
      refusal = (await listed(second)).find((message) => /someone else must approve it|can vote on this request/.test(message.text));
      if (!refusal) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(refusal, 'the requester was not told that their approval does not count').toBeDefined();
    expect((await click('U0APPROVER1')).status).toBe(200);
    let after = await now();
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && !blockText(after).includes('1 of 2 approved'); ) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      after = await now();
    }
    expect(after.text).toMatch(/^Approval pending: restore/);
    expect(blockText(after)).toMatch(/1 of 2 approved by <@U0APPROVER1>(?!,)/);
  }, 120_000);
});
