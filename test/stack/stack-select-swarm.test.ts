/**
 * Choosing the Swarm driver, against a stand-in of the Docker Engine API on loopback that answers
 * only what the selection asks (`/info`, the stack's services, the project's containers): each
 * swarm state an engine can be in, without changing the real engine's. The real swarm's side is
 * test/stack/stack-swarm.test.ts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectStack } from '../../services/stack/select-stack.js';
import type { Stack } from '../../services/stack/stack.js';
import { stackErrorOf } from '../testing/stack-error.js';

interface EngineAnswers {
  swarm: { LocalNodeState: string; ControlAvailable: boolean };
  /** Services of the stack, or an HTTP status the services endpoint fails with. */
  services: number | { status: number; message: string };
  containers: number;
}

let answers: EngineAnswers;
const asked: string[] = [];
let server: Server;
let host: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://engine').pathname.replace(/^\/v[\d.]+/, '');
    asked.push(`${request.method} ${path}`);
    const json = (status: number, body: unknown) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (path === '/info') return json(200, { Swarm: answers.swarm });
    if (path === '/services') {
      if (typeof answers.services !== 'number') return json(answers.services.status, { message: answers.services.message });
      return json(200, Array.from({ length: answers.services }, (_, index) => ({ ID: `s${index}`, Spec: { Name: `acgs_web${index}` } })));
    }
    if (path === '/containers/json') return json(200, Array.from({ length: answers.containers }, (_, index) => ({ Id: `c${index}`, Labels: {} })));
    return json(404, { message: `the stand-in has no ${path}` });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const MANAGER = { LocalNodeState: 'active', ControlAvailable: true };
const local = { kind: 'local', description: 'local processes' } as unknown as Stack;

async function choose(env: Record<string, string>, engine: EngineAnswers) {
  answers = engine;
  asked.length = 0;
  return selectStack({ env: { DOCKER_HOST: host, COMPOSE_PROJECT_NAME: 'acgs', ...env }, local: () => local });
}

describe('selecting the Swarm driver', () => {
  it("chooses Swarm when the engine is a manager running the project's stack, before any compose container", async () => {
    const { stack, reason } = await choose({}, { swarm: MANAGER, services: 4, containers: 6 });
    expect(reason).toBe(`stack acgs has 4 service(s) on the swarm manager at ${host}`);
    expect(stack.description).toBe(`Docker Swarm manager at ${host}, stack acgs`);
    expect(asked).toContain('GET /services');
  });

  it('keeps the Docker driver for a compose project on a manager without the stack', async () => {
    const { stack, reason } = await choose({}, { swarm: MANAGER, services: 0, containers: 2 });
    expect(reason).toBe(`compose project acgs has 2 container(s) on the Docker Engine at ${host}`);
    expect(stack.description).toContain('compose project acgs');
  });

  it('keeps the local processes on an engine outside any swarm without the project, never asking for services', async () => {
    const { stack } = await choose({}, { swarm: { LocalNodeState: 'inactive', ControlAvailable: false }, services: 3, containers: 0 });
    expect(stack).toBe(local);
    expect(asked).not.toContain('GET /services');
  });

  it('keeps the Docker driver on a worker node, whose engine cannot control services', async () => {
    const { stack } = await choose({}, { swarm: { LocalNodeState: 'active', ControlAvailable: false }, services: 3, containers: 1 });
    expect(stack.description).toContain('compose project acgs');
    expect(asked).not.toContain('GET /services');
  });

  it('does not choose Swarm on a manager that cannot answer for the swarm (no leader)', async () => {
    const { stack } = await choose({}, { swarm: MANAGER, services: { status: 503, message: 'rpc error: The swarm does not have a leader.' }, containers: 0 });
    expect(stack).toBe(local);
  });

  it('uses Swarm with ACGS_STACK=swarm on a manager, even with compose containers of the project', async () => {
    const { stack, reason } = await choose({ ACGS_STACK: 'swarm' }, { swarm: MANAGER, services: 2, containers: 3 });
    expect(reason).toBe('ACGS_STACK=swarm');
    expect(stack.description).toContain('Docker Swarm manager');
  });

  it.each([
    [{ LocalNodeState: 'inactive', ControlAvailable: false }, 'its swarm state is inactive'],
    [{ LocalNodeState: 'pending', ControlAvailable: false }, 'its swarm state is pending'],
    [{ LocalNodeState: 'active', ControlAvailable: false }, 'it is a worker node'],
  ])('fails clearly with ACGS_STACK=swarm when the engine is not a manager (%j)', async (swarm, why) => {
    const error = await stackErrorOf(choose({ ACGS_STACK: 'swarm' }, { swarm, services: 0, containers: 3 }));
    expect(error.code).toBe('ENGINE_DOWN');
    expect(error.message).toContain(`ACGS_STACK=swarm, but the Docker Engine at ${host} is not a swarm manager (${why}`);
    expect(error.message).toContain('point DOCKER_HOST at a manager of the swarm');
  });

  it('fails with ACGS_STACK=swarm when no engine answers, rather than falling back to the local processes', async () => {
    const down = 'tcp://127.0.0.1:1';
    const error = await stackErrorOf(selectStack({ env: { ACGS_STACK: 'swarm', DOCKER_HOST: down }, local: () => local, probeTimeoutMs: 1000 }));
    expect(error.code).toBe('ENGINE_DOWN');
    expect(error.message).toContain(`The Docker Engine at ${down} does not answer`);
  });
});
