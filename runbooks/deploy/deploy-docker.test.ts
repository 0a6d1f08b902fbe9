/**
 * The deploy, hotfix and rollback runbooks end to end on the real Docker stack
 * (testing/docker-target.ts): OUR docker-compose.yml at the v9.0.0 release images, the four
 * services as containers of one compose project on the host network bound to 127.0.0.1 at spare
 * ports, controlled through the Docker driver, releases built from the fixture repository by the
 * Docker release builder, driven through the run executor (testing/deploy-harness.ts). One stack
 * for the whole file, each test starting from what the one before left: 9.1.0 deployed, a
 * release that fails on this stack rolled back, one service hotfixed, everything rolled back to
 * 9.0.0. Each release is built once (v9.0.0 before the stack starts, the others by the runbooks'
 * own prepare step); every container, network, volume and acgs/*:9.* image goes at the end.
 */
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { RELEASE_COMMIT_LABEL } from '../../services/stack/releases/docker-releases.js';
import { execOutput } from '../../test/testing/docker.js';
import { takeReleaseImages } from '../../test/testing/docker-releases.js';
import { FRAGILE_RELEASE_TRIGGER } from '../../test/testing/release-repo.js';
import { composeProjectLabel } from '../../test/testing/responder-project.js';
import type { ReleasePlan } from './release-plan.js';
import { ROLLOUT_ORDER } from './release-plan.js';
import type { RolloutOutput } from './rollout.js';
import { deployHarnessOn, type DeployHarness } from './testing/deploy-harness.js';
import { dockerTargetThrough, type DockerTarget } from './testing/docker-target.js';
import { startEngineCutProxy, type EngineCutProxy } from '../../test/testing/engine-cut-proxy.js';

let h: DeployHarness<DockerTarget>;
let closed = false;
/** The runbooks' way to the engine: passes everything until a test cuts it. */
let engine: EngineCutProxy;
/** The containers compose started, by service: their ids and their images' ids. */
const composed = {} as Record<ServiceName, { id: string; imageId: string }>;

/** A new Node service in a container on two loaded cores, on vfs: seconds, under a minute. */
const HEALTH_TIMEOUT_MS = 40_000;
/** Where docker-compose.yml keeps each service's state (ACGS_STATE_DIR, a named volume). */
const STATE_DIR = '/app/.acgs';

let releaseImagesTurn: (() => Promise<void>) | undefined;

// The release tags are shared with test/stack/releases-docker.test.ts: one file at a time.
beforeAll(async () => {
  releaseImagesTurn = await takeReleaseImages();
}, 20 * 60_000);

beforeAll(async () => {
  engine = await startEngineCutProxy();
  h = await deployHarnessOn(dockerTargetThrough(engine.dockerHost), { settings: { healthTimeoutMs: HEALTH_TIMEOUT_MS } });
  for (const service of SERVICE_NAMES) {
    const info = await docker().getContainer(h.target.containerName(service)).inspect();
    composed[service] = { id: info.Id, imageId: info.Image };
  }
}, 900_000);

afterAll(async () => {
  if (!closed) await h?.close();
  await engine?.close();
  await releaseImagesTurn?.();
}, 600_000);

const docker = (): Docker => h.target.docker;
const everyService = <T>(value: (service: ServiceName) => T) => Object.fromEntries(ROLLOUT_ORDER.map((service) => [service, value(service)]));

/** Each service's container as the engine sees it: its image and health, and how many the project has. */
interface SeenContainer {
  id: string;
  image: string;
  imageId: string;
  health: string | undefined;
}

async function containers(): Promise<Record<string, SeenContainer>> {
  const listed = await docker().listContainers({ all: true, filters: { label: [composeProjectLabel(h.target.compose.project)] } });
  // One container per service: no old replica kept, no `-next` left behind by a handover.
  expect(listed.map((container) => container.Names[0]).sort()).toEqual(SERVICE_NAMES.map((service) => `/${h.target.containerName(service)}`).sort());
  const seen: Record<string, SeenContainer> = {};
  for (const service of ROLLOUT_ORDER) {
    const info = await docker().getContainer(h.target.containerName(service)).inspect();
    seen[service] = { id: info.Id, image: info.Config.Image, imageId: info.Image, health: info.State.Health?.Status };
  }
  return seen;
}

async function served(): Promise<Record<string, { status: number; version: string }>> {
  const seen: Record<string, { status: number; version: string }> = {};
  for (const service of ROLLOUT_ORDER) seen[service] = await h.health(service);
  return seen;
}

const imagesOf = (versions: Record<string, string>) => Object.fromEntries(Object.entries(versions).map(([service, version]) => [service, `acgs/${service}:${version}`]));

async function expectRunning(versions: Record<string, string>, servedVersions: Record<string, string>): Promise<void> {
  const seen = await containers();
  expect(Object.fromEntries(Object.entries(seen).map(([service, container]) => [service, container.image]))).toEqual(imagesOf(versions));
  expect(Object.values(seen).map((container) => container.health)).toEqual(ROLLOUT_ORDER.map(() => 'healthy'));
  expect(await served()).toEqual(Object.fromEntries(Object.entries(servedVersions).map(([service, version]) => [service, { status: 200, version }])));
}

/** Runs a command in the policy engine's container directly through the engine, as its own user. */
const inPolicyEngine = (script: string) => execOutput(docker(), h.target.containerName('policy-engine'), ['node', '-e', script]);

describe('deploy, hotfix and rollback on the Docker stack', () => {
  it('starts from the v9.0.0 images: each service a container of the compose project, healthy, serving 9.0.0', async () => {
    await expectRunning(everyService(() => '9.0.0'), everyService(() => '9.0.0'));
  });

  it("deploys 9.1.0: each service's container replaced by one of acgs/<service>:9.1.0, serving 9.1.0, recorded, announced, lock free", async () => {
    const run = await h.run('deploy', { version: '9.1.0' });
    expect(run.reason).toBe('9.1.0 (v9.1.0) is live on audit-engine, evolution-oversight, sandbox-controller, policy-engine; the watch passed.');
    expect(run.state).toBe('succeeded');
    await expectRunning(everyService(() => '9.1.0'), everyService(() => '9.1.0'));
    const seen = await containers();
    for (const service of ROLLOUT_ORDER) expect(seen[service]!.id).not.toBe(composed[service].id);
    // Built by the run's prepare step from the tag's commit, one image for the four services.
    const image = await docker().getImage('acgs/policy-engine:9.1.0').inspect();
    expect(image.Config.Labels?.[RELEASE_COMMIT_LABEL]).toBe(h.repo.commits['v9.1.0']);

    for (const service of ROLLOUT_ORDER) {
      const [now, before] = await h.records.history(service, 2);
      expect(now).toMatchObject({ version: '9.1.0', kind: 'deploy', outcome: 'live', runId: run.id, requestedBy: 'U0ONCALL', ref: 'v9.1.0', commit: h.repo.commits['v9.1.0'], artifact: { kind: 'image', image: `acgs/${service}:9.1.0` } });
      // The first record, observed from the stack: what compose started.
      expect(before).toMatchObject({ version: '9.0.0', artifact: { kind: 'image', image: `acgs/${service}:9.0.0` } });
    }
    const rollout = (await h.output(run.id, 'rollout')) as RolloutOutput;
    expect(rollout.services.map((entry) => entry.service)).toEqual(ROLLOUT_ORDER);
    for (const entry of rollout.services) {
      // Each binds exactly its port on the host network (the image's acgs.port label): no second replica beside the first.
      expect(entry.strategy).toBe('handover');
      expect(entry.unavailableMs).toBeGreaterThan(0);
      expect(entry.unavailableMs).toBeLessThanOrEqual(entry.durationMs);
      expect(entry.verification.filter((figure) => !figure.ok)).toEqual([]);
    }
    expect(await h.output(run.id, 'backup')).toMatchObject({ id: expect.stringMatching(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/) });
    expect(await h.output(run.id, 'watch')).toMatchObject({ verdict: 'passed' });
    expect(h.notices.map((notice) => `${notice.kind} ${notice.version}`)).toEqual(['started 9.1.0', 'finished 9.1.0']);
    expect(h.notices[1]!.services.map(({ service, from, to }) => ({ service, from, to }))).toEqual(ROLLOUT_ORDER.map((service) => ({ service, from: '9.0.0', to: '9.1.0' })));
    expect(await h.records.lock()).toBeNull();
  }, 900_000);

  it('rolls a release that is healthy in validation but not on this stack back during the rollout: the failing service and those before it', async () => {
    // The fragile release's policy engine answers /health 503 while the stack's state volume holds
    // the trigger; validation runs it on scratch state, so only the real stack finds out. Its
    // container's health check asks /health (docker-compose.yml), so the new replica never becomes
    // healthy to the engine: the driver puts the old one back itself and the rollout sends
    // audit-engine, done before it, back too.
    await inPolicyEngine(`require('node:fs').writeFileSync('${STATE_DIR}/${FRAGILE_RELEASE_TRIGGER}', 'break')`);
    const before = await containers();
    let run;
    try {
      run = await h.run('deploy', { version: '9.4.0-fragile', services: 'audit-engine,policy-engine' });
    } finally {
      await inPolicyEngine(`require('node:fs').rmSync('${STATE_DIR}/${FRAGILE_RELEASE_TRIGGER}', { force: true })`);
    }
    expect(run.reason).toMatch(
      new RegExp(
        `^9\\.4\\.0-fragile was rolled back: policy-engine's new replica was not healthy within ${HEALTH_TIMEOUT_MS / 1000} s \\(.*policy-engine.*\\)\\. ` +
          'Every service runs what it ran before \\(audit-engine 9\\.1\\.0, policy-engine 9\\.1\\.0\\)\\.$',
      ),
    );
    expect(run.state).toBe('failed');
    await expectRunning(everyService(() => '9.1.0'), everyService(() => '9.1.0'));
    const after = await containers();
    // audit-engine was replaced and then put back on its old image in a new container; the policy
    // engine's old container, stopped for the handover, was started again; the others were not touched.
    expect(after['audit-engine']!.id).not.toBe(before['audit-engine']!.id);
    for (const service of ['policy-engine', 'evolution-oversight', 'sandbox-controller']) expect(after[service]!.id).toBe(before[service]!.id);

    expect((await h.records.history('audit-engine', 1))[0]).toMatchObject({ version: '9.4.0-fragile', outcome: 'rolled-back', runId: run.id });
    expect((await h.records.history('policy-engine', 1))[0]).toMatchObject({ version: '9.4.0-fragile', outcome: 'failed', runId: run.id });
    for (const service of ROLLOUT_ORDER) expect(await h.records.current(service)).toMatchObject({ version: '9.1.0' });
    expect(h.notices.filter((notice) => notice.runId === run.id).map((notice) => notice.kind)).toEqual(['started', 'rolled-back']);
    expect(h.notices.at(-1)).toMatchObject({ kind: 'rolled-back', version: '9.4.0-fragile', reason: expect.stringMatching(/^policy-engine's new replica was not healthy within/) });
    expect(await h.records.lock()).toBeNull();
  }, 900_000);

  it('hotfixes the policy engine alone: its container replaced, the other three untouched', async () => {
    // The fragile release again, now that the stack's state no longer breaks it: a fix for one
    // service whose image this file built already.
    const before = await containers();
    const run = await h.run('hotfix', { service: 'policy-engine', version: '9.4.0-fragile' });
    expect(run.reason).toBe('9.4.0-fragile (v9.4.0-fragile) is live on policy-engine (hotfix); the watch passed.');
    expect(run.state).toBe('succeeded');
    const versions = { ...everyService(() => '9.1.0'), 'policy-engine': '9.4.0-fragile' };
    await expectRunning(versions, { ...everyService(() => '9.1.0'), 'policy-engine': '9.4.0' });
    const after = await containers();
    expect(after['policy-engine']!.id).not.toBe(before['policy-engine']!.id);
    for (const service of ['audit-engine', 'evolution-oversight', 'sandbox-controller']) expect(after[service]!.id).toBe(before[service]!.id);
    expect(await h.records.current('policy-engine')).toMatchObject({ version: '9.4.0-fragile', kind: 'hotfix', outcome: 'live', runId: run.id, artifact: { kind: 'image', image: 'acgs/policy-engine:9.4.0-fragile' } });
    expect(((await h.output(run.id, 'prepare')) as ReleasePlan).services.map((change) => change.service)).toEqual(['policy-engine']);
    expect(await h.output(run.id, 'backup')).toMatchObject({ id: expect.any(String) });
    expect(await h.records.lock()).toBeNull();
  }, 900_000);

  it('rolls every service back to 9.0.0: the images compose started with, recorded as a rollback, announced', async () => {
    const run = await h.run('rollback', { to: '9.0.0' });
    expect(run.reason).toBe(`Rolled back: ${ROLLOUT_ORDER.map((service) => `${service} runs 9.0.0`).join(', ')}.`);
    expect(run.state).toBe('succeeded');
    await expectRunning(everyService(() => '9.0.0'), everyService(() => '9.0.0'));
    const seen = await containers();
    for (const service of ROLLOUT_ORDER) expect(seen[service]!.imageId).toBe(composed[service].imageId);
    for (const service of ROLLOUT_ORDER) {
      expect(await h.records.current(service)).toMatchObject({
        version: '9.0.0',
        kind: 'rollback',
        outcome: 'live',
        runId: run.id,
        replacedVersion: service === 'policy-engine' ? '9.4.0-fragile' : '9.1.0',
        commit: h.repo.commits['v9.0.0'],
      });
    }
    expect(h.notices.at(-1)).toMatchObject({
      kind: 'rolled-back',
      runId: run.id,
      // What was rolled back, in rollout order: the services ran 9.1.0, policy-engine the hotfix.
      version: '9.1.0, 9.4.0-fragile',
      reason: 'rolled back by hand by U0ONCALL',
      services: ROLLOUT_ORDER.map((service) => ({ service, from: service === 'policy-engine' ? '9.4.0-fragile' : '9.1.0', to: '9.0.0' })),
    });
    expect(await h.records.lock()).toBeNull();
  }, 900_000);

  it('stops for a decision when the engine goes away while a service is replaced, records only what was done, and goes on with retry once it is back', async () => {
    const before = await containers();
    const next = `${h.target.containerName('evolution-oversight')}-next`;
    // The second service's new replica is never created: the engine is gone from that call on.
    const cut = engine.cutAt((method, url) => method === 'POST' && url.includes('/containers/create') && decodeURIComponent(url).includes(`name=${next}`));
    const run = await h.run('deploy', { version: '9.1.0', services: 'audit-engine,evolution-oversight' });
    expect(await cut).toContain('/containers/create');
    expect(run.state).toBe('needs_decision');
    // What the engine's client said of the cut connection (socket hang up, connection reset) varies.
    expect(String(run.reason).replace(/does not answer \([^)]+\)/, 'does not answer (...)')).toBe(
      'step "rollout" (Roll the release out service by service, each verified before the next) failed: ' +
        `The stack's engine stopped answering while evolution-oversight was being replaced by 9.1.0, so nothing was rolled back: The Docker Engine at ${engine.dockerHost} does not answer (...). ` +
        'Start it (scripts/provision.sh starts dockerd), or point DOCKER_HOST at a running one; ACGS_STACK=local controls the local processes instead. ' +
        'Where the rollout stopped: audit-engine runs 9.1.0; evolution-oversight was being replaced and may be half way (nothing recorded for it). ' +
        'Once the engine answers, retry this step to go on from evolution-oversight, or abort (or `/acgs rollback`) to put back what ran before.',
    );
    expect(run.reason).not.toMatch(/\n\s+at /);
    // audit-engine is on the release and recorded; evolution-oversight still runs its old container, with no record of this run.
    const seen = await containers();
    expect(seen['audit-engine']).toMatchObject({ image: 'acgs/audit-engine:9.1.0', health: 'healthy' });
    expect(seen['evolution-oversight']).toMatchObject({ id: before['evolution-oversight']!.id, image: 'acgs/evolution-oversight:9.0.0', health: 'healthy' });
    expect(await h.records.current('audit-engine')).toMatchObject({ version: '9.1.0', kind: 'deploy', outcome: 'live', runId: run.id });
    expect(await h.records.current('evolution-oversight')).toMatchObject({ version: '9.0.0', kind: 'rollback' });
    expect((await h.records.history('evolution-oversight', 20)).filter((record) => record.runId === run.id)).toEqual([]);
    expect(await h.records.lock()).toMatchObject({ runId: run.id });
    expect(h.notices.filter((notice) => notice.runId === run.id).map((notice) => notice.kind)).toEqual(['started']);

    // A retry while the engine is still gone stops again, saying so, and changes nothing.
    await h.executor.decide(run.id, 'retry', 'U0ONCALL');
    const again = await h.settle(run.id);
    expect(again.state).toBe('needs_decision');
    expect(again.reason).toContain(`The Docker Engine at ${engine.dockerHost} does not answer`);
    expect((await h.records.history('audit-engine', 20)).filter((record) => record.runId === run.id)).toHaveLength(1);

    await engine.restore();
    await h.executor.decide(run.id, 'retry', 'U0ONCALL');
    const done = await h.settle(run.id);
    expect(done.reason).toBe('9.1.0 (v9.1.0) is live on audit-engine, evolution-oversight; the watch passed.');
    expect(done.state).toBe('succeeded');
    await expectRunning(
      { ...everyService(() => '9.0.0'), 'audit-engine': '9.1.0', 'evolution-oversight': '9.1.0' },
      { ...everyService(() => '9.0.0'), 'audit-engine': '9.1.0', 'evolution-oversight': '9.1.0' },
    );
    // audit-engine was not replaced again, nor recorded twice.
    expect((await containers())['audit-engine']!.id).toBe(seen['audit-engine']!.id);
    for (const service of ['audit-engine', 'evolution-oversight']) {
      expect((await h.records.history(service, 20)).filter((record) => record.runId === run.id)).toEqual([expect.objectContaining({ version: '9.1.0', outcome: 'live' })]);
    }
    expect(h.notices.filter((notice) => notice.runId === run.id).map((notice) => notice.kind)).toEqual(['started', 'finished']);
    expect(await h.records.lock()).toBeNull();
  }, 900_000);

  it('leaves nothing behind: no container, network or volume of the project, no release image', async () => {
    const label = composeProjectLabel(h.target.compose.project);
    closed = true;
    await h.close();
    expect(await docker().listContainers({ all: true, filters: { label: [label] } })).toEqual([]);
    expect(await docker().listNetworks({ filters: { label: [label] } })).toEqual([]);
    expect((await docker().listVolumes({ filters: { label: [label] } })).Volumes ?? []).toEqual([]);
    expect(await docker().listImages({ filters: { reference: SERVICE_NAMES.map((service) => `acgs/${service}:9.*`) } })).toEqual([]);
  }, 600_000);
});
