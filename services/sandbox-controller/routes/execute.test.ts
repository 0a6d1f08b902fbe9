import { existsSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEngineStandIn, startAuditEngineStandIn } from '../../../test/testing/audit-engine-stand-in.js';
import { requireDockerEngine, requireImage, watchContainerCreations } from '../../../test/testing/docker.js';
import { unusedLoopbackUrl } from '../../../test/testing/loopback.js';
import { type RunningPolicyEngine, startPolicyEngine } from '../../../test/testing/policy-engine.js';
import { BODY_LIMIT_BYTES } from '../app.js';
import { DEFAULT_SANDBOX_IMAGE } from '../config.js';
import { PolicyDeniedDetails } from '../contract.js';
import { type ControllerFixture, startController } from '../testing/controller-fixture.js';
import { SERVICE_AUTH, TEST_SERVICE_TOKEN, testToken } from '../../../test/testing/tokens.js';

let docker: Docker;
let policy: RunningPolicyEngine;
let audit: AuditEngineStandIn;
let controller: ControllerFixture;
const fixtures: Array<{ close(): Promise<void> }> = [];

const trusted = { trust_level: 0.95, explanation: 'route tests' };
const agent = () => `agent-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  docker = await requireDockerEngine();
  await requireImage(docker, DEFAULT_SANDBOX_IMAGE);
  policy = await startPolicyEngine();
  fixtures.push(policy);
  audit = await startAuditEngineStandIn();
  fixtures.push(audit);
  controller = await startController(docker, { policyEngineUrl: policy.url, auditEngineUrl: audit.url });
  fixtures.push(controller);
  // Settles the engine status (and the one-off gVisor probe, which also creates a container).
  await controller.app.inject('/health');
});

afterAll(async () => {
  for (const fixture of fixtures.reverse()) await fixture.close().catch(() => undefined);
});

/** Sends the request and proves from the engine's event stream that no sandbox was created. */
async function withoutContainers(target: ControllerFixture, request: InjectOptions) {
  const watch = await watchContainerCreations(docker, target.sandboxLabels);
  const response = await target.app.inject(request);
  expect(await watch.stop()).toEqual([]);
  return response;
}

const admin = (target: ControllerFixture): Record<string, string> => ({ authorization: `Bearer ${target.adminToken}` });

function execute(payload: unknown, target = controller, auth: Record<string, string> = SERVICE_AUTH) {
  return withoutContainers(target, {
    method: 'POST',
    url: '/sandbox/execute',
    ...(typeof payload === 'string'
      ? { payload, headers: { ...auth, 'content-type': 'application/json' } }
      : { payload: payload as Record<string, unknown>, headers: auth }),
  });
}

async function auditedAgents(): Promise<Array<string | undefined>> {
  await controller.app.sandboxAudit.flush();
  return audit.events.map((event) => event.agent_id);
}

describe('POST /sandbox/execute refuses bad input without creating a container', () => {
  it('rejects malformed JSON', async () => {
    const response = await execute('{"agent_id": "a", "code": ');
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('INVALID_JSON');
  });

  it('rejects a body that is not JSON', async () => {
    const response = await withoutContainers(controller, {
      method: 'POST',
      url: '/sandbox/execute',
      payload: 'echo hi',
      headers: { ...SERVICE_AUTH, 'content-type': 'text/plain' },
    });
    expect(response.statusCode).toBe(415);
  });

  it('rejects unknown fields, naming them', async () => {
    const response = await execute({ agent_id: agent(), code: 'echo hi', ...trusted, privileged: true });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toMatch(/privileged/);
  });

  it('rejects wrong types, naming the field', async () => {
    for (const [field, value] of [
      ['timeout_seconds', '30'],
      ['code', 42],
      ['agent_id', 7],
      ['memory_limit_mb', 1.5],
      ['trust_level', 'high'],
    ] as const) {
      const response = await execute({ agent_id: agent(), code: 'echo hi', ...trusted, [field]: value });
      expect(response.statusCode, field).toBe(400);
      expect(response.json().error.message, field).toContain(field);
    }
  });

  it('rejects limits above the maximum instead of clamping them', async () => {
    for (const [field, value] of [
      ['timeout_seconds', 601],
      ['memory_limit_mb', 4096],
      ['cpu_limit', 3],
      ['timeout_seconds', 0],
      ['trust_level', 1.5],
    ] as const) {
      const response = await execute({ agent_id: agent(), code: 'echo hi', ...trusted, [field]: value });
      expect(response.statusCode, `${field}=${value}`).toBe(400);
      expect(response.json().error.code).toBe('INVALID_REQUEST');
      expect(response.json().error.message, field).toContain(field);
    }
  });

  it('rejects empty, blank and NUL-carrying code', async () => {
    for (const code of ['', '   \n\t', 'echo a\0b']) {
      const response = await execute({ agent_id: agent(), code, ...trusted });
      expect(response.statusCode, JSON.stringify(code)).toBe(400);
      expect(response.json().error.message).toContain('code');
    }
  });

  it('rejects code over 64 KiB with 400 and a huge body with 413', async () => {
    const long = await execute({ agent_id: agent(), code: `echo ${'x'.repeat(70_000)}`, ...trusted });
    expect(long.statusCode).toBe(400);
    expect(long.json().error.message).toMatch(/code: .*65536 bytes/);
    const huge = await execute({ agent_id: agent(), code: `echo ${'x'.repeat(BODY_LIMIT_BYTES)}`, ...trusted });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('rejects a missing agent id and injection attempts in it', async () => {
    expect((await execute({ code: 'echo hi', ...trusted })).statusCode).toBe(400);
    for (const agentId of ["' OR 1=1 --", '<script>alert(1)</script>', 'a b', '../../etc', 'x'.repeat(129)]) {
      const response = await execute({ agent_id: agentId, code: 'echo hi', ...trusted });
      expect(response.statusCode, agentId).toBe(400);
      expect(response.json().error.message).toContain('agent_id');
    }
  });

  it('rejects unknown languages, and node when no node image is configured', async () => {
    const python = await execute({ agent_id: agent(), code: 'print(1)', language: 'python', ...trusted });
    expect(python.statusCode).toBe(400);
    const node = await execute({ agent_id: agent(), code: 'console.log(1)', language: 'node', ...trusted });
    expect(node.statusCode).toBe(400);
    expect(node.json().error.message).toMatch(/SANDBOX_NODE_IMAGE/);
  });

  it('records no audit event for rejected input', async () => {
    const id = agent();
    await execute({ agent_id: id, code: '', ...trusted });
    await execute({ agent_id: id, code: 'echo hi', timeout_seconds: 601, ...trusted });
    expect(await auditedAgents()).not.toContain(id);
  });
});

describe('POST /sandbox/execute asks the Policy Engine first', () => {
  it(`answers 403 policy_denied with the reasons for a low-trust agent, and runs nothing`, async () => {
    const id = agent();
    const response = await execute({ agent_id: id, code: 'echo should-not-run', trust_level: 0.3, explanation: 'try' });
    expect(response.statusCode).toBe(403);
    const error = response.json().error;
    expect(error.code).toBe('POLICY_DENIED');
    expect(error.message).toMatch(/trust level 0\.3/);
    // The body the README documents, key for key.
    expect(Object.keys(response.json()).sort()).toEqual(['constitutional_hash', 'error']);
    expect(Object.keys(error).sort()).toEqual(['code', 'details', 'message']);
    expect(Object.keys(error.details).sort()).toEqual(['compliance_score', 'reasons', 'termination_reason', 'violations']);
    const details = PolicyDeniedDetails.parse(error.details);
    expect(details.termination_reason).toBe('policy_denied');
    expect(details.reasons.join(' ')).toMatch(/trust level/);
  });

  it('treats an agent that states no trust level as untrusted', async () => {
    const response = await execute({ agent_id: agent(), code: 'echo hi', explanation: 'no trust level given' });
    expect(response.statusCode).toBe(403);
  });

  it('records the denial in the audit trail as a sandbox_execution', async () => {
    const id = agent();
    await execute({ agent_id: id, code: 'echo hi', trust_level: 0.1, explanation: 'x' });
    await controller.app.sandboxAudit.flush();
    const [event] = await audit.waitFor(1, (candidate) => candidate.agent_id === id);
    expect(event).toMatchObject({ event_type: 'sandbox_execution', source: 'sandbox-controller' });
    expect(event?.data).toMatchObject({ termination_reason: 'policy_denied', policy: { allow: false } });
    expect(JSON.stringify(event)).not.toContain('echo hi');
  });

  it('answers 503 and runs nothing when the Policy Engine is down', async () => {
    const orphaned = await startController(docker, { policyEngineUrl: await unusedLoopbackUrl(), auditEngineUrl: audit.url });
    fixtures.push(orphaned);
    const response = await execute({ agent_id: agent(), code: 'echo hi', ...trusted }, orphaned);
    expect(response.statusCode).toBe(503);
    expect(response.json().error.code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(response.json().error.message).toMatch(/Policy Engine is unavailable.*POLICY_ENGINE_URL/);
  });
});

describe('without a usable container runtime', () => {
  it('answers 503 RUNTIME_UNAVAILABLE when the Docker Engine does not answer, and never runs code on the host', async () => {
    const deadSocket = join(tmpdir(), `acgs-no-docker-${randomBytes(4).toString('hex')}.sock`);
    const blind = await startController(docker, {
      policyEngineUrl: policy.url,
      auditEngineUrl: audit.url,
      dockerHost: `unix://${deadSocket}`,
    });
    fixtures.push(blind);
    const marker = join(tmpdir(), `acgs-host-marker-${randomBytes(4).toString('hex')}`);
    const response = await execute({ agent_id: agent(), code: `touch ${marker}`, ...trusted }, blind);
    expect(response.statusCode).toBe(503);
    expect(response.json().error.code).toBe('RUNTIME_UNAVAILABLE');
    expect(response.json().error.message).toContain(deadSocket);
    expect(response.json().error.message).toMatch(/no fallback.*DOCKER_HOST/);
    expect(existsSync(marker)).toBe(false);
    rmSync(marker, { force: true });
  });

  it('reports degraded health with the reason when the Docker Engine does not answer', async () => {
    const blind = await startController(docker, { policyEngineUrl: policy.url, dockerHost: 'unix:///nonexistent/docker.sock' });
    fixtures.push(blind);
    const health = await blind.app.inject('/health');
    expect(health.statusCode).toBe(200);
    expect(health.json()).toMatchObject({
      status: 'degraded',
      runtimes_available: [],
      default_runtime: null,
      engine: { reachable: false },
    });
    expect(health.json().reason).toMatch(/does not answer/);
    const usage = await blind.app.inject({ url: '/admin/resource-usage', headers: admin(blind) });
    expect(usage.statusCode).toBe(503);
    expect(usage.json().error.code).toBe('RUNTIME_UNAVAILABLE');
  });

  it('answers 503 saying how to build the image when the sandbox image is missing', async () => {
    const imageless = await startController(docker, {
      policyEngineUrl: policy.url,
      auditEngineUrl: audit.url,
      image: 'acgs-test/not-built:latest',
    });
    fixtures.push(imageless);
    const response = await execute({ agent_id: agent(), code: 'echo hi', ...trusted }, imageless);
    expect(response.statusCode).toBe(503);
    expect(response.json().error.code).toBe('RUNTIME_UNAVAILABLE');
    expect(response.json().error.message).toMatch(/acgs-test\/not-built:latest.*never pulled.*build-test-images\.sh/);
    const health = (await imageless.app.inject('/health')).json();
    expect(health).toMatchObject({ status: 'degraded', image: { name: 'acgs-test/not-built:latest', present: false } });
  });
});

describe('who may run code', () => {
  it('refuses to run code without the service token, with a wrong one or with the admin token, creating no container and recording nothing', async () => {
    const id = agent();
    const attempts: Record<string, Record<string, string>> = {
      'no token': {},
      'a wrong token': { authorization: `Bearer ${testToken()}` },
      'a wrong X-Service-Token': { 'x-service-token': testToken() },
      'the admin token': { authorization: `Bearer ${controller.adminToken}` },
    };
    for (const [name, headers] of Object.entries(attempts)) {
      const response = await execute({ agent_id: id, code: 'echo should-not-run', ...trusted }, controller, headers);
      expect(response.statusCode, name).toBe(401);
      expect(response.json().error, name).toMatchObject({ code: 'SERVICE_UNAUTHORIZED' });
    }
    // Not even a policy_denied record: the request never reached the policy.
    expect(await auditedAgents()).not.toContain(id);
  });

  it('checks the token before the body', async () => {
    const response = await execute('{"agent_id": "a", "code": ', controller, {});
    expect(response.statusCode).toBe(401);
  });

  it('keeps execute closed when the controller has no service token of its own', async () => {
    const closed = await startController(docker, { policyEngineUrl: policy.url, auditEngineUrl: audit.url, serviceToken: undefined });
    fixtures.push(closed);
    const response = await execute({ agent_id: agent(), code: 'echo hi', ...trusted }, closed, { 'x-service-token': TEST_SERVICE_TOKEN });
    expect(response.statusCode).toBe(401);
    expect(response.json().error.message).toContain('has no ACGS_SERVICE_TOKEN set');
  });
});

describe('concurrency limit', () => {
  it('answers 429 while every slot is busy, without creating a container', async () => {
    const single = await startController(docker, { policyEngineUrl: policy.url, auditEngineUrl: audit.url, maxConcurrent: 1 });
    fixtures.push(single);
    // Its one-off gVisor probe also creates a container with its labels: settled before anything is watched.
    await single.app.inject('/health');
    const containers = async () => (await docker.listContainers({ all: true, filters: { label: single.sandboxLabels } })).map((container) => container.Id);
    const before = new Set(await containers());
    const first = single.app.inject({ method: 'POST', url: '/sandbox/execute', payload: { agent_id: agent(), code: 'sleep 60', ...trusted }, headers: SERVICE_AUTH });
    // The first takes its slot before it creates its container: wait for that container too, or the
    // second request's watch (which proves it created none) would see the first's creation.
    const deadline = Date.now() + 10_000;
    const firstCreated = async () => (await containers()).some((id) => !before.has(id));
    while ((single.app.sandboxSlots.size === 0 || !(await firstCreated())) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const second = await execute({ agent_id: agent(), code: 'echo hi', ...trusted }, single);
    expect(second.statusCode).toBe(429);
    expect(second.json().error.code).toBe('CAPACITY_EXCEEDED');
    expect(second.json().error.message).toMatch(/SANDBOX_MAX_CONCURRENT/);
    // The first holds its slot until the test ends it (a timed hold could end before the second
    // request on a loaded machine, which would then be admitted): its sandbox is killed here.
    for (const id of await containers()) if (!before.has(id)) await docker.getContainer(id).kill().catch(() => undefined);
    expect((await first).statusCode).toBe(200);
  });
});

describe('GET /admin/resource-usage', () => {
  it('answers 401 without the admin token, with a wrong one, and when the controller has none', async () => {
    const tokenless = await startController(docker, { policyEngineUrl: policy.url, auditEngineUrl: audit.url, adminToken: undefined });
    fixtures.push(tokenless);
    const attempts: Array<[ControllerFixture, Record<string, string>]> = [
      [controller, {}],
      [controller, { authorization: 'Bearer not-the-token' }],
      [controller, { authorization: `Basic ${controller.adminToken}` }],
      [controller, { 'x-admin-token': `${controller.adminToken}x` }],
      [tokenless, { authorization: 'Bearer ' }],
      [tokenless, { authorization: 'Bearer undefined' }],
    ];
    for (const [target, headers] of attempts) {
      const response = await target.app.inject({ url: '/admin/resource-usage', headers });
      expect(response.statusCode, JSON.stringify(headers)).toBe(401);
      expect(response.json().error.code).toBe('UNAUTHORIZED');
      expect(response.body).not.toMatch(/sandboxes|container_id/);
    }
  });

  it('answers with the sandboxes given the admin token as a bearer or X-Admin-Token', async () => {
    for (const headers of [admin(controller), { 'x-admin-token': controller.adminToken! }]) {
      const response = await controller.app.inject({ url: '/admin/resource-usage', headers });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ sandboxes: expect.any(Array), limits: { max_concurrent: 4 } });
    }
  });

  it('checks the token before the query: no token and a bad query is still a 401', async () => {
    const response = await controller.app.inject(`/admin/resource-usage?${encodeURI("agent_id=' OR 1=1 --")}`);
    expect(response.statusCode).toBe(401);
  });

  it('rejects injection attempts and unknown parameters in the query', async () => {
    for (const query of ["agent_id=' OR 1=1 --", 'agent_id=<script>alert(1)</script>', 'limit=5', 'agent_id=a&agent_id=b']) {
      const response = await controller.app.inject({ url: `/admin/resource-usage?${encodeURI(query)}`, headers: admin(controller) });
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error.code).toBe('INVALID_REQUEST');
    }
  });
});
