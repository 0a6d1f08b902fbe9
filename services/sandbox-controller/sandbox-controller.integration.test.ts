import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ExecuteRequest,
  type SandboxControllerClient,
  SandboxPolicyDeniedError,
  sandboxControllerClient,
} from '../clients/sandbox-controller.js';
import { ServiceCallError } from '../clients/http.js';
import {
  TEST_DOCKER_HOST,
  containersWithLabel,
  engineRuntimes,
  removeContainersWithLabel,
  requireDockerEngine,
  requireImage,
  runscWorks,
  watchContainerCreations,
} from '../../test/testing/docker.js';
import { type AuditEngineStandIn, startAuditEngineStandIn } from '../../test/testing/audit-engine-stand-in.js';
import { type RunningPolicyEngine, startPolicyEngine } from '../../test/testing/policy-engine.js';
import { buildApp } from './app.js';
import { DEFAULT_SANDBOX_IMAGE, loadConfig } from './config.js';
import type { Runtime } from './contract.js';
import { LABELS } from './sandbox/container-spec.js';
import { type ControllerFixture, startController } from './testing/controller-fixture.js';

const NODE_IMAGE = 'acgs-test/node:latest';

// Which runtimes to exercise is a fact of this machine's engine, needed to declare the suites.
// A missing engine fails the whole file here with the message of requireDockerEngine.
const docker = await requireDockerEngine();
await requireImage(docker, DEFAULT_SANDBOX_IMAGE);
const gvisorWorks = await runscWorks(docker, DEFAULT_SANDBOX_IMAGE);
const runtimes: Runtime[] = gvisorWorks ? ['runsc', 'runc'] : ['runc'];

let policy: RunningPolicyEngine;
let audit: AuditEngineStandIn;
const fixtures: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  policy = await startPolicyEngine();
  fixtures.push(policy);
  audit = await startAuditEngineStandIn();
  fixtures.push(audit);
});

afterAll(async () => {
  for (const fixture of fixtures.reverse()) await fixture.close().catch(() => undefined);
});

interface RunningController {
  fixture: ControllerFixture;
  client: SandboxControllerClient;
}

/** The real server on loopback (port 0), called through the typed client. */
async function serveController(overrides: Parameters<typeof startController>[1] = {}): Promise<RunningController> {
  const fixture = await startController(docker, { policyEngineUrl: policy.url, auditEngineUrl: audit.url, ...overrides });
  fixtures.push(fixture);
  const url = await fixture.app.listen({ port: 0, host: '127.0.0.1' });
  return { fixture, client: sandboxControllerClient(url, { adminToken: fixture.adminToken, serviceToken: fixture.config.serviceToken }) };
}

const agent = () => `agent-${randomBytes(4).toString('hex')}`;

/** Runs code as a trusted agent and checks that its container is gone afterwards. */
async function run(client: SandboxControllerClient, code: string, options: Partial<ExecuteRequest> = {}) {
  const agentId = options.agent_id ?? agent();
  const result = await client.execute({ agent_id: agentId, code, trust_level: 0.95, explanation: 'integration test', ...options });
  expect(await containersWithLabel(docker, `${LABELS.id}=${result.sandbox_id}`)).toEqual([]);
  return result;
}

/** A series' value in the controller's /metrics text (0 when absent). */
async function metricValue(fixture: ControllerFixture, series: string): Promise<number> {
  const text = (await fixture.app.inject('/metrics')).body;
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe.each(runtimes)('sandboxed execution under %s', (runtime) => {
  let client: SandboxControllerClient;
  let fixture: ControllerFixture;

  beforeAll(async () => {
    ({ client, fixture } = await serveController({ runtime }));
  });

  it('runs the code and returns its stdout and stderr separately', async () => {
    const result = await run(client, 'echo "hello from $(hostname)"; echo oops >&2');
    expect(result).toMatchObject({
      runtime,
      termination_reason: 'exit',
      exit_code: 0,
      stdout: 'hello from sandbox\n',
      stderr: 'oops\n',
      stdout_truncated: false,
    });
    expect(result.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it('returns a non-zero exit code as the code set it', async () => {
    const result = await run(client, 'echo partial; exit 42');
    expect(result).toMatchObject({ exit_code: 42, termination_reason: 'exit', stdout: 'partial\n' });
  });

  it('kills the code at the timeout, says so and counts it as a sandbox failure', async () => {
    const failures = 'sandbox_failures_total{reason="timeout",service="sandbox-controller"}';
    const before = await metricValue(fixture, failures);
    const result = await run(client, 'echo started; sleep 60; echo never', { timeout_seconds: 2 });
    expect(result.termination_reason).toBe('timeout');
    expect(await metricValue(fixture, failures)).toBe(before + 1);
    expect(result.stdout).toBe('started\n');
    expect(result.duration_ms).toBeGreaterThanOrEqual(2000);
    expect(result.duration_ms).toBeLessThan(6000);
  });

  it('ends a memory bomb as oom at the memory limit', async () => {
    const result = await run(client, 'x=a; while true; do x="$x$x"; done', { memory_limit_mb: 32, timeout_seconds: 60 });
    // Under load the engine can learn of the exit before the OOM (see sandbox/oom-report.ts).
    expect(result.termination_reason, JSON.stringify(result).slice(0, 600)).toBe('oom');
    expect(result.exit_code).not.toBe(0);
  });

  it('reports a program that SIGKILLs itself as a plain exit 137, not as oom', async () => {
    // In a child shell that the sandbox's shell does not exec into: the first process is PID 1 of
    // its namespace, which ignores a SIGKILL sent from inside.
    const result = await run(client, "echo before; sh -c 'kill -9 $$'; exit $?", { memory_limit_mb: 32, timeout_seconds: 20 });
    expect(result.termination_reason).toBe('exit');
    expect(result.exit_code).toBe(137);
    expect(result.stdout).toBe('before\n');
  });

  it('stops a fork bomb at the process limit', async () => {
    const result = await run(client, 'for i in $(seq 1 1000); do sleep 30 & done; wait', { timeout_seconds: 20 });
    expect(result.termination_reason).toBe('exit');
    expect(result.exit_code).not.toBe(0);
  });

  it('has no network: only loopback, and outside addresses are unreachable', async () => {
    // 192.0.2.1 is TEST-NET-1: never routed, so no packet could reach anyone even if one left.
    const result = await run(client, 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "; nc -w 2 192.0.2.1 80 </dev/null; echo "nc=$?"');
    const lines = result.stdout.trim().split('\n');
    expect(lines.slice(0, -1)).toEqual(['lo']);
    expect(lines.at(-1)).toBe('nc=1');
    expect(result.stderr).toMatch(/unreachable|no route/i);
  });

  it('mounts the root filesystem read-only and /tmp writable', async () => {
    // /var/tmp is world-writable in the image: only the read-only mount can refuse the write.
    const result = await run(client, 'touch /var/tmp/x; echo "root=$?"; echo data > /tmp/x && cat /tmp/x');
    expect(result.stdout).toBe('root=1\ndata\n');
    expect(result.stderr).toMatch(/read-only file system/i);
  });

  it('runs as nobody (65534) without capabilities or a way to gain privileges', async () => {
    const result = await run(client, 'id -u; id -g; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status | tr -s "\t " " "');
    const [uid, gid, ...status] = result.stdout.trim().split('\n');
    expect([uid, gid]).toEqual(['65534', '65534']);
    expect(status).toContain('CapEff: 0000000000000000');
    if (runtime === 'runc') expect(status).toContain('NoNewPrivs: 1');
  });

  it('caps each output stream and flags the truncation', async () => {
    const result = await run(client, 'yes | head -c 200000; yes e | head -c 100 >&2');
    expect(result.stdout_truncated).toBe(true);
    expect(result.stdout.length).toBe(64 * 1024);
    expect(result.stdout_bytes).toBe(200_000);
    expect(result.stderr_truncated).toBe(false);
    expect(result.stderr.length).toBe(100);
  });

  it(`really runs under ${runtime}`, async () => {
    // gVisor's kernel log opens with its own banner; under runc, nobody may not read the host's.
    const result = await run(client, 'dmesg 2>&1 | head -n 1');
    if (runtime === 'runsc') expect(result.stdout).toMatch(/gVisor/);
    else expect(result.stdout).not.toMatch(/gVisor/);
  });
});

describe('runtime selection', () => {
  it('prefers gVisor when the engine has a working runsc, else hardened runc', async () => {
    const { client } = await serveController({ runtime: 'auto' });
    const expected: Runtime = gvisorWorks ? 'runsc' : 'runc';
    const health = await client.health();
    expect(health).toMatchObject({ status: 'healthy', default_runtime: expected, gvisor: { working: gvisorWorks } });
    expect(health.runtimes_available).toEqual(runtimes);
    expect(health.gvisor.registered).toBe((await engineRuntimes(docker)).includes('runsc'));
    expect((await run(client, 'true')).runtime).toBe(expected);
  });
});

describe('the running service', () => {
  let service: RunningController;

  beforeAll(async () => {
    service = await serveController({ nodeImage: NODE_IMAGE });
  });

  it('reports health with runtimes, the image and active sandboxes', async () => {
    const health = await service.client.health();
    expect(health).toMatchObject({
      status: 'healthy',
      service: 'sandbox-controller',
      active_sandboxes: 0,
      max_concurrent: 4,
      image: { name: DEFAULT_SANDBOX_IMAGE, present: true },
      engine: { reachable: true },
    });
  });

  it('lists a running sandbox with its resource usage, and not after it ended', async () => {
    const agentId = agent();
    const pending = service.client.execute({ agent_id: agentId, code: 'sleep 4', trust_level: 0.95, explanation: 'usage test' });
    let usage = await service.client.resourceUsage({ agent_id: agentId });
    for (let tries = 0; usage.sandboxes.length === 0 && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      usage = await service.client.resourceUsage({ agent_id: agentId });
    }
    expect(usage.sandboxes).toHaveLength(1);
    const [sandbox] = usage.sandboxes;
    expect(sandbox).toMatchObject({ agent_id: agentId, own: true, limits: { memory_limit_mb: 256, cpu_limit: 1, timeout_seconds: 30 } });
    expect(sandbox!.usage?.memory_bytes).toBeGreaterThan(0);
    expect(usage.totals.active).toBe(1);
    expect(usage.limits).toMatchObject({ max_concurrent: 4, timeout_seconds: 600, memory_limit_mb: 2048, cpu_limit: 2 });
    expect((await service.client.health()).active_sandboxes).toBe(1);
    const result = await pending;
    expect(result.sandbox_id).toBe(sandbox!.sandbox_id);
    expect((await service.client.resourceUsage({ agent_id: agentId })).sandboxes).toEqual([]);
  });

  it('records each execution as a sandbox_execution audit event, without the code or output', async () => {
    const result = await run(service.client, 'echo secret-output');
    await service.fixture.app.sandboxAudit.flush();
    const [event] = await audit.waitFor(1, (candidate) => (candidate.data as { sandbox_id?: string }).sandbox_id === result.sandbox_id);
    expect(event).toMatchObject({
      event_type: 'sandbox_execution',
      source: 'sandbox-controller',
      agent_id: result.agent_id,
      data: { termination_reason: 'exit', exit_code: 0, runtime: result.runtime, stdout_bytes: 'secret-output\n'.length },
    });
    expect(JSON.stringify(event)).not.toContain('secret-output');
  });

  it('runs node code in the node image when it is configured', async () => {
    await requireImage(docker, NODE_IMAGE);
    const result = await run(service.client, 'console.log(6 * 7, process.getuid())', { language: 'node' });
    expect(result).toMatchObject({ language: 'node', image: NODE_IMAGE, stdout: '42 65534\n', exit_code: 0 });
  });

  it('is seen by the container-creation watch that the refusal tests rely on', async () => {
    const watch = await watchContainerCreations(docker, [`${LABELS.sandbox}=1`, `${LABELS.controller}=${service.fixture.app.sandboxControllerId}`]);
    await run(service.client, 'true');
    expect(await watch.stop()).toHaveLength(1);
  });

  it('reports a policy denial through the typed client with termination_reason policy_denied', async () => {
    const denied = await service.client.execute({ agent_id: agent(), code: 'echo hi', trust_level: 0.2 }).catch((error: unknown) => error);
    expect(denied).toBeInstanceOf(SandboxPolicyDeniedError);
    const denial = denied as SandboxPolicyDeniedError;
    expect(denial).toMatchObject({ status: 403, code: 'POLICY_DENIED', termination_reason: 'policy_denied' });
    expect(denial.details.termination_reason).toBe('policy_denied');
    expect(denial.details.reasons.join(' ')).toMatch(/trust level/);
    expect(denial.details.compliance_score).toBeLessThan(1);
  });

  it('refuses resource usage through a client without the admin token, or with a wrong one', async () => {
    const url = `http://127.0.0.1:${(service.fixture.app.server.address() as { port: number }).port}`;
    for (const adminToken of [undefined, 'not-the-token']) {
      const refused = await sandboxControllerClient(url, { adminToken }).resourceUsage().catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ServiceCallError);
      expect(refused).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    }
  });
});

describe('shutdown', () => {
  it('waits for the start-up runtime probe, so closing at once leaves no probe container behind', async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'acgs-sandbox-spool-'));
    const config = { ...loadConfig({}), dockerHost: TEST_DOCKER_HOST, policyEngineUrl: policy.url, auditEngineUrl: audit.url, auditSpoolDir: spoolDir };
    const app = await buildApp(config, { logger: false });
    const mine = `${LABELS.controller}=${app.sandboxControllerId}`;
    const watch = await watchContainerCreations(docker, mine);
    let created: string[] | undefined;
    try {
      await app.ready();
      await app.close();
      created = await watch.stop();
      // The probe runs only when the engine lists runsc; it must have come and gone within close().
      expect(created).toHaveLength((await engineRuntimes(docker)).includes('runsc') ? 1 : 0);
      expect(await containersWithLabel(docker, mine)).toEqual([]);
    } finally {
      if (!created) await watch.stop();
      await app.close();
      await removeContainersWithLabel(docker, mine);
      rmSync(spoolDir, { recursive: true, force: true });
    }
  });

  it('kills running sandboxes so their requests answer and their containers are removed', async () => {
    const { fixture, client } = await serveController();
    const agentId = agent();
    const pending = client.execute({ agent_id: agentId, code: 'sleep 120', trust_level: 0.95, explanation: 'shutdown test' });
    // Closes as soon as the execution holds a slot, typically before its container runs: the
    // kill must still reach it (a kill between create and start is refused by the engine).
    const deadline = Date.now() + 10_000;
    while (fixture.app.sandboxSlots.size === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(fixture.app.sandboxSlots.size).toBe(1);
    const started = Date.now();
    await fixture.app.close();
    const result = await pending;
    expect(result).toMatchObject({ exit_code: 137, termination_reason: 'exit' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await containersWithLabel(docker, `${LABELS.agentId}=${agentId}`)).toEqual([]);
  });
});
