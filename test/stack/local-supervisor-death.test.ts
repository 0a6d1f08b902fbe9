import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { unusedLoopbackPort } from '../testing/loopback.js';

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone: what the test wants
    }
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once the process is gone; the test's own timeout bounds the wait. */
async function exited(pid: number): Promise<void> {
  while (alive(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('a supervised service whose supervisor dies', () => {
  it('shuts down and frees its port instead of living on as an orphan', async () => {
    const port = await unusedLoopbackPort();
    const supervisor = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/stack/one-service-supervisor.ts'], {
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    started.push(supervisor.pid!);
    let output = '';
    supervisor.stdout!.on('data', (chunk) => (output += chunk));
    while (!/ready (\d+)/.test(output)) {
      if (supervisor.exitCode !== null) throw new Error(`the supervisor exited early: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const servicePid = Number(/ready (\d+)/.exec(output)![1]);
    started.push(servicePid);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);

    // SIGKILL: the supervisor gets no chance to stop its child.
    supervisor.kill('SIGKILL');
    await once(supervisor, 'exit');
    await exited(servicePid);
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  }, 60_000);

  it('is gone soon after a second Ctrl-C ends a supervisor that waited for its hung shutdown', async () => {
    const port = await unusedLoopbackPort();
    const supervisor = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/stack/one-service-supervisor.ts'], {
      env: { ...process.env, PORT: String(port), GRACEFUL: '1', HANG_ON_CLOSE: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    started.push(supervisor.pid!);
    let output = '';
    supervisor.stdout!.on('data', (chunk) => (output += chunk));
    const printed = async (pattern: RegExp) => {
      while (!pattern.test(output)) {
        if (supervisor.exitCode !== null) throw new Error(`the supervisor exited early: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await printed(/ready (\d+)/);
    const servicePid = Number(/ready (\d+)/.exec(output)![1]);
    started.push(servicePid);

    // The first Ctrl-C: the supervisor stops the service, whose shutdown hangs.
    supervisor.kill('SIGINT');
    await printed(/stopping/);
    // The service took the SIGTERM: it no longer accepts connections, and it is still there.
    await expect.poll(() => fetch(`http://127.0.0.1:${port}/health`).then(() => 'answering', () => 'closed'), { timeout: 10_000, interval: 50 }).toBe('closed');
    expect(alive(servicePid)).toBe(true);
    // The second: the supervisor exits at once, without waiting for it.
    const exit = once(supervisor, 'exit');
    supervisor.kill('SIGINT');
    await exit;
    // Nothing is left running: the service goes well before its own 10 s grace would end it.
    const gone = Date.now();
    await exited(servicePid);
    expect(Date.now() - gone).toBeLessThan(5_000);
  }, 60_000);

  it('shuts down when the supervisor was gone before it finished loading', async () => {
    const port = await unusedLoopbackPort();
    const supervisor = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/stack/one-service-supervisor.ts'], {
      env: { ...process.env, PORT: String(port), EXIT_AT_ONCE: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    supervisor.stdout!.on('data', (chunk) => (output += chunk));
    await once(supervisor, 'exit');
    const servicePid = Number(/spawned (\d+)/.exec(output)?.[1]);
    expect(servicePid, output).toBeGreaterThan(0);
    started.push(servicePid);
    // Its 'disconnect' came before it listened for one: it must still notice and go.
    await exited(servicePid);
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  }, 60_000);
});
