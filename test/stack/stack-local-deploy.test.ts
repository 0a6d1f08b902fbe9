/**
 * Deploying releases onto the embedded stack: the four real services of `npm start` (with
 * embedded PGlite) on spare loopback ports, releases from the fixture repository
 * (test/testing/release-repo.ts), the handover, its failure, and a restart of the whole stack.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceName } from '../../services/kit/service-ports.js';
import { currentReleaseFile } from '../../services/stack/local/local-current-release.js';
import { startLocalControl, type LocalControl } from '../../services/stack/local/local-control.js';
import { startLocalServices, type LocalServices } from '../../services/stack/local/local-services.js';
import { createLocalStackClient } from '../../services/stack/local/local-stack-client.js';
import { createLocalStack } from '../../services/stack/local/local-stack.js';
import { readPidFile, localStatePaths } from '../../services/stack/local/local-state.js';
import { createLocalReleaseBuilder } from '../../services/stack/releases/local-releases.js';
import type { PreparedRelease, ReleaseBuilder } from '../../services/stack/releases/release.js';
import { createReleaseSource } from '../../services/stack/releases/release-source.js';
import type { Stack } from '../../services/stack/stack.js';
import { createReleaseRepo, type ReleaseRepo } from '../testing/release-repo.js';
import { unusedLoopbackPort } from '../testing/loopback.js';
import { stackErrorOf } from '../testing/stack-error.js';

const checkoutRoot = resolve(new URL('../../', import.meta.url).pathname);

let repo: ReleaseRepo;
let stateDir: string;
let ports: Record<ServiceName, number>;
let services: LocalServices | undefined;
let stack: Stack;
let builder: ReleaseBuilder;
let good: PreparedRelease;
let bad: PreparedRelease;

async function start(): Promise<void> {
  services = await startLocalServices({ stateDir, ports, env: { ACGS_STATE_DIR: stateDir }, log: () => undefined });
  for (const process of services.processes) expect(await process.waitUntilHealthy(60_000)).toBe(true);
  stack = createLocalStack({ processes: services.processes, stateDir });
}

async function policyHealth(): Promise<{ status: number; version: string }> {
  const response = await fetch(`http://127.0.0.1:${ports['policy-engine']}/health`);
  return { status: response.status, version: ((await response.json()) as { version: string }).version };
}

const directoryOf = (release: PreparedRelease) => (release.artifacts['policy-engine'] as { directory: string }).directory;

beforeAll(async () => {
  repo = createReleaseRepo();
  stateDir = mkdtempSync(join(tmpdir(), 'acgs-deploy-state-'));
  ports = {
    'sandbox-controller': await unusedLoopbackPort(),
    'evolution-oversight': await unusedLoopbackPort(),
    'audit-engine': await unusedLoopbackPort(),
    'policy-engine': await unusedLoopbackPort(),
  };
  builder = createLocalReleaseBuilder({ stateDir, source: createReleaseSource({ repo: repo.dir }) });
  good = await builder.prepare(await builder.resolve('9.1.0'));
  bad = await builder.prepare(await builder.resolve('9.2.0-bad'));
  await start();
}, 180_000);

afterAll(async () => {
  await stack?.close();
  await services?.stop();
  repo?.remove();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

describe('Local stack: deploy and running', () => {
  it('runs the checkout\'s own code before any deploy', async () => {
    expect(await stack.running('policy-engine')).toEqual({ kind: 'directory', directory: checkoutRoot });
  });

  it('hands the policy engine over to a good release: healthy, on its version, recorded for the next start', async () => {
    const pidBefore = services!.processes.find((process) => process.name === 'policy-engine')!.pid();
    const report = await stack.deploy('policy-engine', good.artifacts['policy-engine'], { timeoutMs: 60_000 });
    expect(report).toMatchObject({
      service: 'policy-engine',
      artifact: { kind: 'directory', directory: directoryOf(good) },
      previous: { kind: 'directory', directory: checkoutRoot },
      strategy: 'handover',
      health: 'healthy',
    });
    expect(report.unavailableMs).toBeGreaterThan(0);
    expect(report.unavailableMs).toBeLessThanOrEqual(report.durationMs);
    expect(await policyHealth()).toEqual({ status: 200, version: '9.1.0' });
    expect(await stack.running('policy-engine')).toEqual({ kind: 'directory', directory: directoryOf(good) });
    // The other services were not touched.
    expect(await stack.running('audit-engine')).toEqual({ kind: 'directory', directory: checkoutRoot });

    const pidFile = await readPidFile(localStatePaths(stateDir).pidFile('policy-engine'));
    expect(pidFile!.pid).not.toBe(pidBefore);
    expect(pidFile!.argv).toEqual([process.execPath, '--import', 'tsx', join(directoryOf(good), 'services/policy-engine/main.ts')]);
    const recorded = JSON.parse(readFileSync(currentReleaseFile(stateDir), 'utf8')) as { services: Record<string, { directory: string }> };
    expect(Object.keys(recorded.services)).toEqual(['policy-engine']);
    expect(recorded.services['policy-engine']!.directory).toBe(directoryOf(good));
  }, 90_000);

  it('keeps the release across a restart of the service', async () => {
    await stack.restart('policy-engine', { timeoutMs: 60_000 });
    expect(await policyHealth()).toEqual({ status: 200, version: '9.1.0' });
  }, 90_000);

  it('puts the old release back at once when the new one is not healthy in time, and says so', async () => {
    const recordedBefore = readFileSync(currentReleaseFile(stateDir), 'utf8');
    const error = await stackErrorOf(stack.deploy('policy-engine', bad.artifacts['policy-engine'], { timeoutMs: 6_000 }));
    expect(error.code).toBe('UNHEALTHY');
    expect(error.reason).toMatch(new RegExp(`^The new policy-engine from ${directoryOf(bad)} did not become healthy: policy-engine did not become healthy within 6 s after the start \\(.*answered 503\\)`));
    expect(error.done).toEqual(['stopped the new policy-engine', `policy-engine runs ${directoryOf(good)} again`]);
    expect(error.notDone).toEqual([`policy-engine on ${directoryOf(bad)}`]);
    expect(await policyHealth()).toEqual({ status: 200, version: '9.1.0' });
    expect((await stack.health('policy-engine')).status).toBe('healthy');
    expect(await stack.running('policy-engine')).toEqual({ kind: 'directory', directory: directoryOf(good) });
    expect(readFileSync(currentReleaseFile(stateDir), 'utf8')).toBe(recordedBefore);
  }, 90_000);

  it.each([
    ['an image', { kind: 'image', image: 'acgs/policy-engine:9.1.0' }, 'NOT_SUPPORTED', 'The local stack runs release directories, not the image acgs/policy-engine:9.1.0'],
    ['a relative directory', { kind: 'directory', directory: 'releases/9.1.0' }, 'INVALID_ARGUMENT', '"releases/9.1.0" is not an absolute path'],
    ['a directory that is not a release', { kind: 'directory', directory: '/tmp' }, 'INVALID_ARGUMENT', '/tmp has no services/policy-engine/main.ts: it is not a release of this stack'],
    ['no artifact', undefined, 'NOT_SUPPORTED', 'not that artifact'],
  ])('refuses %s, changing nothing', async (_what, artifact, code, words) => {
    const pid = services!.processes.find((process) => process.name === 'policy-engine')!.pid();
    const error = await stackErrorOf(stack.deploy('policy-engine', artifact as never));
    expect(error.code).toBe(code);
    expect(error.message).toContain(words);
    expect(services!.processes.find((process) => process.name === 'policy-engine')!.pid()).toBe(pid);
  });

  it('refuses a service the stack does not have', async () => {
    expect((await stackErrorOf(stack.deploy('web', good.artifacts['policy-engine']))).code).toBe('SERVICE_UNKNOWN');
    expect((await stackErrorOf(stack.running('web'))).code).toBe('SERVICE_UNKNOWN');
  });
});

describe('Local stack: deploy over the control channel', () => {
  let control: LocalControl | undefined;
  const allowed: Array<{ service: string; directory: string; execution: string }> = [];

  beforeAll(async () => {
    control = await startLocalControl({
      stateDir,
      stack,
      processes: services!.processes,
      deployGuard: async (request) => {
        if (request.execution !== 'exec-deploy-1') return 'no such execution record';
        allowed.push(request);
        return undefined;
      },
    });
  });

  afterAll(() => control?.close());

  it('tells another process what each service runs, and deploys only under an execution record the owner accepts', async () => {
    const client = createLocalStackClient({ stateDir });
    expect(await client.running('policy-engine')).toEqual({ kind: 'directory', directory: directoryOf(good) });
    const refused = await stackErrorOf(client.deploy('evolution-oversight', good.artifacts['evolution-oversight'], { executionRecord: 'forged' }));
    expect(refused.code).toBe('INVALID_ARGUMENT');
    expect(refused.message).toBe('The supervisor refused to deploy evolution-oversight: no such execution record. Nothing was deployed.');
    expect(await client.running('evolution-oversight')).toEqual({ kind: 'directory', directory: checkoutRoot });

    const report = await client.deploy('evolution-oversight', good.artifacts['evolution-oversight'], { executionRecord: 'exec-deploy-1', timeoutMs: 60_000 });
    expect(report).toMatchObject({ service: 'evolution-oversight', strategy: 'handover', health: 'healthy' });
    expect(allowed).toEqual([{ service: 'evolution-oversight', directory: directoryOf(good), execution: 'exec-deploy-1' }]);
    expect(await client.running('evolution-oversight')).toEqual({ kind: 'directory', directory: directoryOf(good) });
    // The supervisor file now publishes the new argv, so the CLI keeps trusting the pid file.
    const [sample] = await client.stats('evolution-oversight');
    expect(sample!.service).toBe('evolution-oversight');
  }, 120_000);
});

describe('Local stack: a new start keeps the deployed releases', () => {
  it('starts the deployed services from their release directories and the others from the checkout', async () => {
    await stack.close();
    await services!.stop();
    services = undefined;
    await start();
    expect(await policyHealth()).toEqual({ status: 200, version: '9.1.0' });
    expect(await stack.running('policy-engine')).toEqual({ kind: 'directory', directory: directoryOf(good) });
    expect(await stack.running('evolution-oversight')).toEqual({ kind: 'directory', directory: directoryOf(good) });
    expect(await stack.running('audit-engine')).toEqual({ kind: 'directory', directory: checkoutRoot });
  }, 180_000);

  it('runs the checkout\'s code, and says why, when the recorded release directory is gone', async () => {
    await stack.close();
    await services!.stop();
    services = undefined;
    rmSync(directoryOf(good), { recursive: true, force: true });
    expect(existsSync(directoryOf(good))).toBe(false);
    const lines: string[] = [];
    services = await startLocalServices({ stateDir, ports, env: { ACGS_STATE_DIR: stateDir }, log: (line) => lines.push(line) });
    stack = createLocalStack({ processes: services.processes, stateDir });
    for (const process of services.processes) expect(await process.waitUntilHealthy(60_000)).toBe(true);
    expect(await stack.running('policy-engine')).toEqual({ kind: 'directory', directory: checkoutRoot });
    expect(lines).toContain(
      `[start] policy-engine was deployed from ${directoryOf(good)}, but ${directoryOf(good)} has no services/policy-engine/main.ts: it is not a release of this stack; it runs this checkout's code instead (deploy again)`,
    );
    expect((await policyHealth()).version).toBe(JSON.parse(readFileSync(join(checkoutRoot, 'package.json'), 'utf8')).version);
  }, 180_000);
});
