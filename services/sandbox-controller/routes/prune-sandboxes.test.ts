/**
 * POST /admin/prune-sandboxes against the real Docker Engine, through the typed client and the
 * real server on 127.0.0.1: it removes exited sandbox containers, and never a running one or a
 * container the controller did not make. The fixtures are real containers made from the
 * controller's own container spec (sandboxContainerSpec), run to their end on the engine.
 *
 * Other suites share the engine, so every removing call is narrowed to this file's agents; the one
 * unfiltered call runs with the default grace period, which keeps anything that just exited.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEngineStandIn, startAuditEngineStandIn } from '../../../test/testing/audit-engine-stand-in.js';
import { removeContainersWithLabel, requireDockerEngine, requireImage, waitForContainer } from '../../../test/testing/docker.js';
import { unusedLoopbackUrl } from '../../../test/testing/loopback.js';
import { ServiceCallError } from '../../clients/http.js';
import { sandboxControllerClient } from '../../clients/sandbox-controller.js';
import { DEFAULT_SANDBOX_IMAGE } from '../config.js';
import { LABELS, sandboxContainerSpec } from '../sandbox/container-spec.js';
import { type ControllerFixture, startController } from '../testing/controller-fixture.js';

const run = randomBytes(3).toString('hex');
const testLabel = `acgs.test=prune-${run}`;
const agent = (name: string) => `prune-${run}-${name}`;

let docker: Docker;
let audit: AuditEngineStandIn;
/** Grace 0: an exited sandbox may go at once (calls narrowed to this file's agents). */
let eager: ControllerFixture;
let eagerUrl: string;
const fixtures: Array<{ close(): Promise<void> }> = [];

interface SandboxFixture {
  agentId: string;
  /** Shell code the container runs; `exit N` ends it at once. */
  code: string;
  controllerId?: string;
  probe?: boolean;
  /** Labels as another program would set them, replacing the controller's. */
  labels?: Record<string, string>;
}

/** A container made from the controller's own spec, started, and (unless it sleeps) run to its end. */
async function sandboxContainer(fixture: SandboxFixture): Promise<string> {
  const spec = sandboxContainerSpec({
    sandboxId: randomUUID(),
    agentId: fixture.agentId,
    language: 'sh',
    code: fixture.code,
    image: DEFAULT_SANDBOX_IMAGE,
    runtime: 'runc',
    timeoutSeconds: 600,
    memoryMb: 32,
    cpu: 0.5,
    pidsLimit: 64,
    tmpfsMb: 4,
    controllerId: fixture.controllerId ?? `other-controller-${run}`,
    ...(fixture.probe ? { probe: true } : {}),
  });
  spec.Labels = { ...(fixture.labels ?? spec.Labels), [testLabel.split('=')[0]!]: testLabel.split('=')[1]! };
  const container = await docker.createContainer(spec);
  await container.start();
  if (fixture.code.startsWith('exit')) await waitForContainer(docker, container.id, (info) => info.State.Status === 'exited');
  else await waitForContainer(docker, container.id, (info) => info.State.Running);
  return container.id;
}

async function exists(id: string): Promise<boolean> {
  try {
    await docker.getContainer(id).inspect();
    return true;
  } catch {
    return false;
  }
}

async function listen(fixture: ControllerFixture): Promise<string> {
  await fixture.app.listen({ port: 0, host: '127.0.0.1' });
  const address = fixture.app.server.address() as { port: number };
  return `http://127.0.0.1:${address.port}`;
}

beforeAll(async () => {
  docker = await requireDockerEngine();
  await requireImage(docker, DEFAULT_SANDBOX_IMAGE);
  audit = await startAuditEngineStandIn();
  fixtures.push(audit);
  eager = await startController(docker, { auditEngineUrl: audit.url, pruneGraceSeconds: 0 });
  fixtures.push(eager);
  eagerUrl = await listen(eager);
});

afterAll(async () => {
  for (const fixture of fixtures.reverse()) await fixture.close().catch(() => undefined);
  if (docker) await removeContainersWithLabel(docker, testLabel);
});

describe('POST /admin/prune-sandboxes refuses without removing anything', () => {
  it('answers 401 without the admin token, with a wrong one, and when the controller has none', async () => {
    const exited = await sandboxContainer({ agentId: agent('unauthorized'), code: 'exit 0' });
    const tokenless = await startController(docker, { auditEngineUrl: audit.url, adminToken: undefined, pruneGraceSeconds: 0 });
    fixtures.push(tokenless);
    const attempts: Array<[ControllerFixture, Record<string, string>]> = [
      [eager, {}],
      [eager, { authorization: 'Bearer not-the-token' }],
      [eager, { 'x-admin-token': `${eager.adminToken}x` }],
      [tokenless, { authorization: 'Bearer undefined' }],
    ];
    for (const [target, headers] of attempts) {
      const response = await target.app.inject({ method: 'POST', url: `/admin/prune-sandboxes?agent_id=${agent('unauthorized')}`, headers });
      expect(response.statusCode, JSON.stringify(headers)).toBe(401);
      expect(response.json().error.code).toBe('UNAUTHORIZED');
    }
    expect(await exists(exited)).toBe(true);
  });

  it('answers 400 naming the field for an agent id that is not an identifier, or an unknown parameter', async () => {
    const exited = await sandboxContainer({ agentId: agent('bad-input'), code: 'exit 0' });
    const headers = { authorization: `Bearer ${eager.adminToken}` };
    for (const query of ['agent_id=a%20b', 'agent_id=%3Cscript%3E', `agent_id=${'x'.repeat(129)}`, 'agent_id=', 'force=1', `agent=${agent('bad-input')}`]) {
      const response = await eager.app.inject({ method: 'POST', url: `/admin/prune-sandboxes?${query}`, headers });
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error.code, query).toBe('INVALID_REQUEST');
      expect(response.json().error.message, query).toMatch(/agent_id|force|agent/);
    }
    expect(await exists(exited)).toBe(true);
  });

  it('answers 503 RUNTIME_UNAVAILABLE when the Docker Engine does not answer', async () => {
    const engineless = await startController(docker, {
      auditEngineUrl: audit.url,
      dockerHost: (await unusedLoopbackUrl()).replace('http:', 'tcp:'),
      pruneGraceSeconds: 0,
    });
    fixtures.push(engineless);
    const client = sandboxControllerClient(await listen(engineless), { adminToken: engineless.adminToken! });
    const failure = await client.pruneSandboxes().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ServiceCallError);
    expect(failure).toMatchObject({ status: 503, code: 'RUNTIME_UNAVAILABLE' });
    expect((failure as Error).message).toMatch(/does not answer .*nothing was removed.*scripts\/provision\.sh/);
  });
});

describe('POST /admin/prune-sandboxes removes exited sandboxes only', () => {
  it("removes the agent's exited sandboxes and lists them, leaving its running sandbox, other agents' and unlabelled containers", async () => {
    const a = agent('main');
    const exited = await sandboxContainer({ agentId: a, code: 'exit 3' });
    const running = await sandboxContainer({ agentId: a, code: 'sleep 300' });
    const otherAgent = await sandboxContainer({ agentId: agent('other'), code: 'exit 0' });
    // Carries the agent label but not the sandbox label: not a container the controller made.
    const lookalike = await sandboxContainer({ agentId: a, code: 'exit 0', labels: { [LABELS.agentId]: a } });

    const client = sandboxControllerClient(eagerUrl, { adminToken: eager.adminToken! });
    const result = await client.pruneSandboxes({ agent_id: a });

    expect(result.removed).toHaveLength(1);
    expect(result.removed[0]).toMatchObject({ container_id: exited, agent_id: a, runtime: 'runc', own: false, probe: false, exit_code: 3 });
    expect(Date.parse(result.removed[0]!.finished_at!)).toBeLessThanOrEqual(Date.now());
    expect(result.failed).toEqual([]);
    expect(result.kept).toEqual([]);
    expect(result.left_alone).toEqual({ running: 1 });
    expect(result.grace_seconds).toBe(0);

    expect(await exists(exited)).toBe(false);
    expect(await exists(running)).toBe(true);
    expect(await exists(otherAgent)).toBe(true);
    expect(await exists(lookalike)).toBe(true);
    expect((await docker.getContainer(running).inspect()).State.Running).toBe(true);
  });

  it('records what it removed in the audit trail', async () => {
    const a = agent('audited');
    const exited = await sandboxContainer({ agentId: a, code: 'exit 1' });
    await sandboxControllerClient(eagerUrl, { adminToken: eager.adminToken! }).pruneSandboxes({ agent_id: a });
    await eager.app.sandboxAudit.flush();
    const [event] = await audit.waitFor(1, (candidate) => candidate.event_type === 'sandbox_prune' && JSON.stringify(candidate.data).includes(exited));
    expect(event).toMatchObject({
      event_type: 'sandbox_prune',
      severity: 'info',
      data: { agent_filter: a, removed: [{ container_id: exited, agent_id: a }], failed: [], kept: 0 },
    });
  });

  it('finds nothing to do a second time and records nothing for it', async () => {
    const a = agent('twice');
    await sandboxContainer({ agentId: a, code: 'exit 0' });
    const client = sandboxControllerClient(eagerUrl, { adminToken: eager.adminToken! });
    expect((await client.pruneSandboxes({ agent_id: a })).removed).toHaveLength(1);
    await eager.app.sandboxAudit.flush();
    const before = audit.events.length;
    const again = await client.pruneSandboxes({ agent_id: a });
    expect(again).toMatchObject({ removed: [], failed: [], kept: [], left_alone: {} });
    await eager.app.sandboxAudit.flush();
    expect(audit.events.length).toBe(before);
  });

  it('keeps the exited container of an execution this controller is still collecting, and removes it once that is done', async () => {
    const a = agent('in-flight');
    const exited = await sandboxContainer({ agentId: a, code: 'exit 0', controllerId: eager.app.sandboxControllerId });
    const slot = eager.app.sandboxSlots.tryAcquire({ sandboxId: randomUUID(), agentId: a })!;
    slot.containerId = exited;
    const client = sandboxControllerClient(eagerUrl, { adminToken: eager.adminToken! });
    try {
      const during = await client.pruneSandboxes({ agent_id: a });
      expect(during.removed).toEqual([]);
      expect(during.kept).toHaveLength(1);
      expect(during.kept[0]).toMatchObject({ container_id: exited, own: true });
      expect(during.kept[0]!.reason).toMatch(/still collecting/);
      expect(await exists(exited)).toBe(true);
    } finally {
      eager.app.sandboxSlots.release(slot.sandboxId);
    }
    const after = await client.pruneSandboxes({ agent_id: a });
    expect(after.removed.map((sandbox) => sandbox.container_id)).toEqual([exited]);
  });

  it('without a filter looks at every sandbox and probe, keeps the ones that just exited, and never lists other containers', async () => {
    // The default grace period: nothing that exited in the last 30 s is touched, here or in other suites.
    const patient = await startController(docker, { auditEngineUrl: audit.url });
    fixtures.push(patient);
    expect(patient.config.pruneGraceSeconds).toBe(30);
    const a = agent('unfiltered');
    const exited = await sandboxContainer({ agentId: a, code: 'exit 0' });
    const probe = await sandboxContainer({ agentId: 'sandbox-controller', code: 'exit 0', probe: true });
    const running = await sandboxContainer({ agentId: a, code: 'sleep 300' });
    const unlabelled = await sandboxContainer({ agentId: a, code: 'exit 0', labels: {} });

    const result = await sandboxControllerClient(await listen(patient), { adminToken: patient.adminToken! }).pruneSandboxes();
    const named = (list: Array<{ container_id: string }>) => list.map((sandbox) => sandbox.container_id);
    expect(named(result.kept)).toEqual(expect.arrayContaining([exited, probe]));
    expect(result.kept.find((sandbox) => sandbox.container_id === probe)).toMatchObject({ probe: true });
    expect(result.kept.find((sandbox) => sandbox.container_id === exited)!.reason).toMatch(/exited \d+ s ago.*within 30 s/);
    const everyListed = [...named(result.removed), ...named(result.failed), ...named(result.kept)];
    expect(everyListed).not.toContain(running);
    expect(everyListed).not.toContain(unlabelled);
    expect(result.left_alone.running).toBeGreaterThanOrEqual(1);
    for (const id of [exited, probe, running, unlabelled]) expect(await exists(id)).toBe(true);
  });
});
