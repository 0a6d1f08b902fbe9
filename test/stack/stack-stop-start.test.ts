/**
 * `stop` and `start` of the Stack port, as a restore uses them for the services that write a
 * database: on the real Docker Engine (a compose-labelled project of busybox health responders,
 * two replicas) and on the local driver over real supervised processes. Stopped stays stopped
 * until started; started is healthy again; the CLI's local driver refuses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalStack } from '../../services/stack/local/local-stack.js';
import { createLocalStackClient } from '../../services/stack/local/local-stack-client.js';
import { superviseProcess, type SupervisedProcess } from '../../services/stack/local/local-supervisor.js';
import type { Stack } from '../../services/stack/stack.js';
import { unusedLoopbackPort } from '../testing/loopback.js';
import { startResponderProject, uniqueProjectName, type ResponderProject } from '../testing/responder-project.js';
import { stackErrorOf } from '../testing/stack-error.js';

describe('Docker stack: stop and start', () => {
  let responders: ResponderProject | undefined;
  let stack: Stack;

  beforeAll(async () => {
    responders = await startResponderProject({
      project: uniqueProjectName('acgs-stopstart'),
      replicas: [
        { service: 'web', number: 1 },
        { service: 'web', number: 2 },
        { service: 'other' },
      ],
    });
    stack = responders.stack;
  }, 60_000);
  afterAll(() => responders?.close(), 30_000);

  it('stops every replica and keeps them stopped; start brings each back healthy, the same containers', async () => {
    const before = (await stack.list()).find((service) => service.name === 'web')!.replicas;
    const stopped = await stack.stop('web');
    expect(stopped.stopped).toEqual(before.map((replica) => replica.name));
    expect(await stack.health('web')).toMatchObject({ status: 'down' });
    expect((await stack.list()).find((service) => service.name === 'web')!.replicas.map((replica) => replica.state)).toEqual(['exited', 'exited']);
    // Another service is not touched; stopping again is no error.
    expect(await stack.health('other')).toMatchObject({ status: 'healthy' });
    expect((await stack.stop('web')).stopped).toHaveLength(2);

    const started = await stack.start('web', { timeoutMs: 30_000 });
    expect(started).toMatchObject({ service: 'web', health: 'healthy', started: before.map((replica) => replica.name) });
    const after = (await stack.list()).find((service) => service.name === 'web')!.replicas;
    expect(after.map((replica) => replica.id)).toEqual(before.map((replica) => replica.id));
    expect(after.every((replica, index) => replica.startedAt !== before[index]!.startedAt)).toBe(true);
    // Starting a running service leaves it as it is.
    expect(await stack.start('web')).toMatchObject({ health: 'healthy' });
  }, 60_000);

  it('refuses a service the project does not have', async () => {
    expect((await stackErrorOf(stack.stop('policy-engine'))).code).toBe('SERVICE_UNKNOWN');
    expect((await stackErrorOf(stack.start('policy-engine'))).code).toBe('SERVICE_UNKNOWN');
  });
});

describe('local stack: stop and start', () => {
  let process: SupervisedProcess;
  let stack: Stack;

  beforeAll(async () => {
    const port = await unusedLoopbackPort();
    const server = `require('node:http').createServer((q, r) => r.end('ok')).listen(${port}, '127.0.0.1'); process.on('disconnect', () => process.exit(0));`;
    process = superviseProcess({ name: 'writer', command: globalThis.process.execPath, args: ['-e', server], env: {}, healthUrl: `http://127.0.0.1:${port}/health`, echo: false });
    stack = createLocalStack({ processes: [process] });
    await process.waitUntilHealthy(10_000);
  });
  afterAll(async () => {
    await process?.stop();
  });

  it('holds the process stopped (the supervisor does not restart it) until start, which waits until healthy', async () => {
    const pid = process.pid();
    expect(await stack.stop('writer')).toMatchObject({ service: 'writer', stopped: ['writer'] });
    expect(process.state()).toBe('held');
    expect(process.pid()).toBeUndefined();
    expect(await stack.health('writer')).toMatchObject({ status: 'down', replicas: [expect.objectContaining({ state: 'exited' })] });
    // Held on purpose, which the monitor does not call down; not a crash either.
    expect((await stack.list())[0]!.replicas[0]).toMatchObject({ state: 'exited', held: true, restarts: 0 });
    expect((await stack.list())[0]!.replicas[0]!.lastExit).toBeUndefined();
    // A restart meanwhile would let it write into a database being replaced.
    const refused = await stackErrorOf(stack.restart('writer'));
    expect(refused.code).toBe('BUSY');
    expect(refused.message).toMatch(/^writer is held stopped \(a restore stops the services that write a database while it replaces it\)/);
    expect(process.state()).toBe('held');

    expect(await stack.start('writer', { timeoutMs: 10_000 })).toMatchObject({ service: 'writer', started: ['writer'], health: 'healthy' });
    expect(process.state()).toBe('running');
    expect(process.pid()).not.toBe(pid);
    expect(process.restarts()).toBe(0);
    expect((await stack.health('writer')).status).toBe('healthy');
    expect((await stack.list())[0]!.replicas[0]!.held).toBeUndefined();
  });

  it('refuses an unknown service, and the CLI driver refuses stop and start with what to do', async () => {
    expect((await stackErrorOf(stack.stop('audit-engine'))).code).toBe('SERVICE_UNKNOWN');
    const stateDir = mkdtempSync(join(tmpdir(), 'acgs-stopstart-'));
    try {
      const client = createLocalStackClient({ stateDir });
      // No supervisor runs for this state directory: the channel is found missing first.
      expect((await stackErrorOf(client.stop('writer'))).code).toBe('NOT_RUNNING');
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
