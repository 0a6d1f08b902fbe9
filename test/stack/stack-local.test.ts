/**
 * The local driver of the Stack port over real supervised child processes (the same supervisor
 * `npm start` uses), each a small HTTP service with a health endpoint on a free loopback port.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { superviseProcess, type SupervisedProcess } from '../../services/stack/local/local-supervisor.js';
import { createLocalStack } from '../../services/stack/local/local-stack.js';
import type { SkippedStats, Stack } from '../../services/stack/stack.js';
import { FIXTURE_SERVICE_SCRIPT, startFixtureProcesses, type FixtureProcesses } from '../testing/fixture-processes.js';
import { stackErrorOf } from '../testing/stack-error.js';

let fixture: FixtureProcesses | undefined;
let stack: Stack;
let urls: Record<string, string>;
let crashFlag: string;
let alphaProcess: SupervisedProcess;
let betaProcess: SupervisedProcess;

beforeAll(async () => {
  // 50 lines per process: small enough for a test to overflow the ring buffer.
  fixture = await startFixtureProcesses({ logCapacity: 50 });
  ({ stack, urls, crashFlag } = fixture);
  alphaProcess = fixture.processes.get('alpha')!;
  betaProcess = fixture.processes.get('beta')!;
}, 30_000);

afterAll(() => fixture?.close(), 30_000);

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('Local stack: seeing the processes', () => {
  it('is the local kind', () => {
    expect(stack.kind).toBe('local');
  });

  it('lists each service as one running process with its health, pid, command and uptime', async () => {
    const services = await stack.list();
    expect(services.map((service) => service.name)).toEqual(['alpha', 'beta', 'sick']);
    const alpha = services[0]!.replicas;
    expect(alpha).toHaveLength(1);
    expect(alpha[0]).toMatchObject({ id: 'local:alpha', name: 'alpha', number: 1, state: 'running', health: 'healthy', restarts: 0 });
    expect(alpha[0]!.pid).toBe(alphaProcess.pid());
    expect(alpha[0]!.image).toBe(`node ${FIXTURE_SERVICE_SCRIPT}`);
    expect(alpha[0]!.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(services[2]!.replicas[0]!.health).toBe('unhealthy');
  });

  it('reports health per service, with why an unhealthy one is unhealthy', async () => {
    expect(await stack.health('alpha')).toMatchObject({ service: 'alpha', status: 'healthy' });
    const sick = await stack.health('sick');
    expect(sick.status).toBe('unhealthy');
    expect(sick.replicas[0]!.detail).toBe(`${urls.sick}/health answered 503`);
  });

  it('refuses a service that is not one of the processes, naming the ones there are', async () => {
    const error = await stackErrorOf(stack.restart('policy-engine'));
    expect(error.code).toBe('SERVICE_UNKNOWN');
    expect(error.message).toBe('There is no service "policy-engine" in the local stack; its services are: alpha, beta, sick');
  });
});

describe('Local stack: restart', () => {
  it('restarts a process, waits until it answers healthy and reports the new pid', async () => {
    const before = alphaProcess.pid();
    const report = await stack.restart('alpha', { timeoutMs: 15_000 });
    expect(report.health).toBe('healthy');
    const [replica] = report.replicas;
    expect(replica!.previousPid).toBe(before);
    expect(replica!.pid).toBe(alphaProcess.pid());
    expect(replica!.pid).not.toBe(before);
    expect(Date.parse(replica!.startedAt!)).toBeGreaterThan(Date.parse(replica!.previousStartedAt!));
    expect((await fetch(`${urls.alpha}/health`)).status).toBe(200);
    // A deliberate restart is not a crash.
    expect(alphaProcess.restarts()).toBe(0);
  });

  it('restarts a stopped (SIGSTOP) process gracefully, continuing it after SIGTERM instead of waiting to SIGKILL it', async () => {
    const stoppingLines = async () => (await stack.logs('alpha', { grep: 'alpha stopping' })).lines.length;
    const before = await stoppingLines();
    const frozen = alphaProcess.pid()!;
    process.kill(frozen, 'SIGSTOP');
    try {
      const report = await stack.restart('alpha', { timeoutMs: 15_000 });
      expect(report.health).toBe('healthy');
      expect(report.replicas[0]!.previousPid).toBe(frozen);
      expect(alphaProcess.pid()).not.toBe(frozen);
    } finally {
      try {
        process.kill(frozen, 'SIGCONT');
      } catch {
        // Ended by the restart, as it should be.
      }
    }
    // Its SIGTERM handler ran (it says "stopping" before closing): SIGKILL after 10 s would have said nothing.
    expect(await stoppingLines()).toBe(before + 1);
    expect(() => process.kill(frozen, 0)).toThrow();
  }, 30_000);

  it('refuses a second restart of the same process while the first one runs', async () => {
    const first = stack.restart('alpha', { timeoutMs: 15_000 });
    const second = await stackErrorOf(stack.restart('alpha'));
    expect(second.code).toBe('BUSY');
    expect((await first).health).toBe('healthy');
  });

  it('times out with the health answer when the restarted process never becomes healthy', async () => {
    // Long enough for the restarted node process to be listening even on a loaded machine, so
    // that the last health answer is its 503 and not a refused connection.
    const error = await stackErrorOf(stack.restart('sick', { timeoutMs: 6000 }));
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toContain(`sick did not become healthy within 6 s after the restart (${urls.sick}/health answered 503)`);
    expect(error.message).toContain('its last log lines: ');
  });

  it('says so, with the process\'s last words, when the restarted process exits while starting', async () => {
    writeFileSync(crashFlag, '');
    try {
      const error = await stackErrorOf(stack.restart('beta', { timeoutMs: 10_000 }));
      expect(error.code).toBe('UNHEALTHY');
      expect(error.message).toContain('beta exited again while starting after the restart');
      expect(error.message).toContain(`fatal: configuration is broken (${crashFlag} exists)`);
    } finally {
      rmSync(crashFlag, { force: true });
    }
    // The supervisor brings it back once the cause is gone.
    expect(await betaProcess.waitUntilHealthy(15_000)).toBe(true);
    // Its exits were unexpected: counted as crashes, the last one with its code, for the monitor.
    const [beta] = (await stack.list()).find((service) => service.name === 'beta')!.replicas;
    expect(beta!.restarts).toBeGreaterThan(0);
    expect(beta!.lastExit).toMatchObject({ code: 3, signal: null });
    expect(Date.parse(beta!.lastExit!.at)).toBeLessThanOrEqual(Date.now());
    expect(beta!.held).toBeUndefined();
  }, 30_000);
});

describe('Local stack: logs and stats', () => {
  const say = (stream: 'stdout' | 'stderr', text: string) => fetch(`${urls.alpha}/say/${stream}/${encodeURIComponent(text)}`).then((r) => r.text());

  it('returns lines from the ring buffer by tail, time and plain text', async () => {
    const before = new Date();
    await say('stdout', 'Alpha Marker one');
    await say('stderr', 'beta marker');
    await say('stdout', 'alpha MARKER two');
    await say('stdout', 'a.*b (x)');
    await new Promise((resolve) => setTimeout(resolve, 100));

    const filtered = await stack.logs('alpha', { grep: 'alpha marker' });
    expect(filtered.lines.map((line) => line.text)).toEqual(['Alpha Marker one', 'alpha MARKER two']);
    expect(filtered.lines[0]).toMatchObject({ replica: 'alpha', stream: 'stdout' });
    expect((await stack.logs('alpha', { grep: 'beta marker' })).lines[0]!.stream).toBe('stderr');
    expect((await stack.logs('alpha', { grep: '.*' })).lines.map((line) => line.text)).toEqual(['a.*b (x)']);
    expect((await stack.logs('alpha', { tail: 2 })).lines.map((line) => line.text)).toEqual(['alpha MARKER two', 'a.*b (x)']);
    const since = await stack.logs('alpha', { since: before });
    expect(since.lines.map((line) => line.text)).toEqual(['Alpha Marker one', 'beta marker', 'alpha MARKER two', 'a.*b (x)']);
  });

  it('keeps only the most recent lines of a process', async () => {
    for (let index = 0; index < 60; index += 1) await say('stdout', `line ${index}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const logs = await stack.logs('alpha', { tail: 1000 });
    expect(logs.lines).toHaveLength(50);
    expect(logs.lines.at(-1)!.text).toBe('line 59');
    expect(logs.lines[0]!.text).toBe('line 10');
  });

  it('refuses a bad tail with a message', async () => {
    const error = await stackErrorOf(stack.logs('alpha', { tail: 0 }));
    expect(error.code).toBe('INVALID_ARGUMENT');
  });

  it('samples CPU and memory per process', async () => {
    const stats = await stack.stats();
    expect(stats.map((sample) => sample.service)).toEqual(['alpha', 'beta', 'sick']);
    for (const sample of stats) {
      expect(sample.cpuPercent).toBeGreaterThanOrEqual(0);
      expect(sample.memory.usedBytes).toBeGreaterThan(10 * 1024 * 1024);
      expect(sample.memory.limitBytes).toBe(totalmem());
      expect(sample.network).toBeNull();
      expect(sample.blockIo === null || sample.blockIo.readBytes >= 0).toBe(true);
    }
    expect((await stack.stats('sick')).map((sample) => sample.replica)).toEqual(['sick']);
  });
});

describe('Local stack: stats of processes that are not running', () => {
  it('measures the others and names a process that exited and waits to be restarted, and why; asked for it alone, measures nothing and names it', async () => {
    writeFileSync(crashFlag, '');
    try {
      process.kill(betaProcess.pid()!, 'SIGKILL');
      // It now exits at every start and waits, seconds each time, to be started again.
      await waitFor(() => betaProcess.state() === 'backoff');
      const skipped: SkippedStats[] = [];
      const stats = await stack.stats(undefined, { onSkipped: (entry) => skipped.push(entry) });
      expect(stats.map((sample) => sample.service)).toEqual(['alpha', 'sick']);
      expect(skipped).toEqual([
        { service: 'beta', reason: expect.stringMatching(/^beta exited and waits for the supervisor to restart it \(\d+ restarts so far\), not running: nothing to measure$/) },
      ]);

      await waitFor(() => betaProcess.state() === 'backoff');
      const alone: SkippedStats[] = [];
      expect(await stack.stats('beta', { onSkipped: (entry) => alone.push(entry) })).toEqual([]);
      expect(alone).toEqual([{ service: 'beta', reason: expect.stringContaining('beta exited and waits for the supervisor') }]);
    } finally {
      rmSync(crashFlag, { force: true });
    }
    expect(await betaProcess.waitUntilHealthy(40_000)).toBe(true);
  }, 60_000);

  it('names a process stopped with the stack', async () => {
    const idle = superviseProcess({
      name: 'idle',
      command: process.execPath,
      args: ['-e', 'setInterval(() => {}, 1000)'],
      env: {},
      // Never asked: stats do not probe health.
      healthUrl: 'http://127.0.0.1:9/health',
      echo: false,
    });
    const withIdle = createLocalStack({ processes: [alphaProcess, idle], cpuSampleMs: 200 });
    try {
      await idle.stop();
      const skipped: SkippedStats[] = [];
      expect((await withIdle.stats(undefined, { onSkipped: (entry) => skipped.push(entry) })).map((sample) => sample.service)).toEqual(['alpha']);
      expect(skipped).toEqual([{ service: 'idle', reason: 'idle is stopped with the local stack, not running: nothing to measure' }]);
    } finally {
      await idle.stop();
      await withIdle.close();
    }
  });
});

describe('Local stack: what needs containers', () => {
  it('refuses to scale, saying why and what to use instead', async () => {
    const error = await stackErrorOf(stack.scale('alpha', 2));
    expect(error.code).toBe('NOT_SUPPORTED');
    expect(error.message).toContain('Scaling is not possible on the local stack, where alpha runs as one local process');
    expect(error.message).toContain('ACGS_STACK=docker');
  });

  it('refuses exec of an allowed command, giving the command to run on this machine', async () => {
    const error = await stackErrorOf(stack.exec('alpha', 'redis-memory'));
    expect(error.code).toBe('NOT_SUPPORTED');
    expect(error.message).toContain('Run `redis-cli info memory` on this machine instead');
  });

  it('refuses exec of anything off the allow list before anything else', async () => {
    const error = await stackErrorOf(stack.exec('alpha', 'rm -rf /' as never));
    expect(error.code).toBe('INVALID_ARGUMENT');
  });

  it('refuses to recreate from an image', async () => {
    const error = await stackErrorOf(stack.recreate('alpha', 'acgs/stack:2'));
    expect(error.code).toBe('NOT_SUPPORTED');
    expect(error.message).toContain('local processes run the code of this checkout');
  });
});
