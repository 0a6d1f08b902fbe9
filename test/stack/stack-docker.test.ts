/**
 * The Docker driver of the Stack port against the real Docker Engine: a compose-labelled project
 * of busybox health responders (host networking, 127.0.0.1, ports from the kernel), listed,
 * restarted, scaled, read (logs, stats) and exec'd into through the port.
 */
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SkippedStats, Stack } from '../../services/stack/stack.js';
import { RESPONDER_IMAGES, execOutput, servedVersion, startComposeReplica } from '../testing/docker.js';
import { composeProjectLabel, startResponderProject, uniqueProjectName, type ResponderProject } from '../testing/responder-project.js';
import { stackErrorOf } from '../testing/stack-error.js';

const project = uniqueProjectName('acgs-stack');
const projectLabel = composeProjectLabel(project);
let responders: ResponderProject | undefined;
let docker: Docker;
let stack: Stack;

beforeAll(async () => {
  responders = await startResponderProject({
    project,
    replicas: [
      { service: 'web', env: { GREETING: 'hello' }, labels: { 'acgs.test.role': 'web' } },
      // No health check: the driver must treat "running" as up.
      { service: 'plain', healthcheck: false },
    ],
  });
  ({ docker, stack } = responders);
}, 60_000);

afterAll(() => responders?.close(), 30_000);

describe('Docker stack: seeing the project', () => {
  it('lists the services of the compose project with their replicas, state, health, image and uptime', async () => {
    const services = await stack.list();
    expect(services.map((service) => service.name)).toEqual(['plain', 'web']);
    const web = services.find((service) => service.name === 'web')!;
    expect(web.replicas).toHaveLength(1);
    const [replica] = web.replicas;
    expect(replica).toMatchObject({ name: `${project}-web-1`, number: 1, state: 'running', health: 'healthy', image: RESPONDER_IMAGES.v1 });
    expect(replica!.id).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(replica!.startedAt!)).toBeLessThanOrEqual(Date.now());
    expect(replica!.uptimeSeconds).toBeGreaterThanOrEqual(0);
    const plain = services.find((service) => service.name === 'plain')!;
    expect(plain.replicas[0]).toMatchObject({ state: 'running', health: 'none' });
  });

  it('names the services of the project, sorted', async () => {
    expect(await stack.services()).toEqual(['plain', 'web']);
  });

  it('reports a healthy service as healthy, per replica', async () => {
    const health = await stack.health('web');
    expect(health).toMatchObject({ service: 'web', status: 'healthy' });
    expect(health.replicas).toEqual([expect.objectContaining({ name: `${project}-web-1`, state: 'running', health: 'healthy' })]);
  });

  it('refuses a service the project does not have, naming the ones it has', async () => {
    const error = await stackErrorOf(stack.health('policy-engine'));
    expect(error.code).toBe('SERVICE_UNKNOWN');
    expect(error.message).toContain('There is no service "policy-engine"');
    expect(error.message).toContain('plain, web');
  });
});

describe('Docker stack: restart', () => {
  it('restarts a service, waits until it is healthy again and reports the new start time', async () => {
    const before = await docker.getContainer(`${project}-web-1`).inspect();
    const report = await stack.restart('web', { timeoutMs: 30_000 });
    expect(report.service).toBe('web');
    expect(report.health).toBe('healthy');
    expect(report.replicas).toHaveLength(1);
    const [replica] = report.replicas;
    expect(replica).toMatchObject({ name: `${project}-web-1`, previousId: before.Id, id: before.Id, health: 'healthy' });
    expect(Date.parse(replica!.startedAt!)).toBeGreaterThan(Date.parse(before.State.StartedAt));
    expect(replica!.previousStartedAt).toBe(new Date(before.State.StartedAt).toISOString());
    const after = await docker.getContainer(before.Id).inspect();
    expect(after.State.StartedAt).not.toBe(before.State.StartedAt);
    expect(after.State.Health?.Status).toBe('healthy');
    expect(report.durationMs).toBeGreaterThan(0);
  });

  it('refuses a second restart of the same service while the first one runs, and finishes the first', async () => {
    const first = stack.restart('web', { timeoutMs: 30_000 });
    const second = await stackErrorOf(stack.restart('web'));
    expect(second.code).toBe('BUSY');
    expect(second.message).toContain('Cannot restart web now: a restart of web started');
    expect((await first).health).toBe('healthy');
  });

  it('restarts a service without a health check and counts it up once it runs', async () => {
    const report = await stack.restart('plain', { timeoutMs: 30_000 });
    expect(report.replicas[0]!.health).toBe('none');
    expect(report.health).toBe('healthy');
  });
});

describe('Docker stack: scale', () => {
  it('scales up with numbered replicas that keep the configuration and labels of the newest one', async () => {
    const report = await stack.scale('web', 3, { timeoutMs: 30_000 });
    expect(report).toMatchObject({ service: 'web', from: 1, to: 3, created: [`${project}-web-2`, `${project}-web-3`], removed: [] });
    const web = (await stack.list()).find((service) => service.name === 'web')!;
    expect(web.replicas.map((replica) => [replica.number, replica.name, replica.health])).toEqual([
      [1, `${project}-web-1`, 'healthy'],
      [2, `${project}-web-2`, 'healthy'],
      [3, `${project}-web-3`, 'healthy'],
    ]);
    const third = await docker.getContainer(`${project}-web-3`).inspect();
    expect(third.Config.Labels).toMatchObject({
      'com.docker.compose.project': project,
      'com.docker.compose.service': 'web',
      'com.docker.compose.container-number': '3',
      'acgs.test.role': 'web',
    });
    expect(third.Config.Env).toContain('GREETING=hello');
    expect(third.Config.Image).toBe(RESPONDER_IMAGES.v1);
    expect(third.HostConfig.NetworkMode).toBe('host');
    expect(third.Config.Healthcheck?.Test).toEqual(['CMD-SHELL', 'wget -q -O /dev/null http://127.0.0.1:$(cat /tmp/port)/health']);
    // Each replica answers on its own port.
    expect(await servedVersion(docker, third.Id)).toBe('1');
  });

  it('scales down by removing the newest replicas first', async () => {
    const report = await stack.scale('web', 1, { timeoutMs: 30_000 });
    expect(report).toMatchObject({ from: 3, to: 1, created: [], removed: [`${project}-web-3`, `${project}-web-2`] });
    const names = (await docker.listContainers({ all: true, filters: { label: [projectLabel, 'com.docker.compose.service=web'] } })).map(
      (container) => container.Names[0],
    );
    expect(names).toEqual([`/${project}-web-1`]);
  });

  it('does nothing when the service already has the asked number of replicas', async () => {
    const report = await stack.scale('web', 1);
    expect(report).toMatchObject({ from: 1, to: 1, created: [], removed: [] });
  });

  it.each([0, -1, 1.5, 11])('refuses to scale to %s replicas, changing nothing', async (replicas) => {
    const error = await stackErrorOf(stack.scale('web', replicas));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('replicas must be a whole number from 1 to 10');
    expect((await stack.list()).find((service) => service.name === 'web')!.replicas).toHaveLength(1);
  });
});

describe('Docker stack: logs', () => {
  // Written to the main process's stdout, so the lines land in the container's log; "$0" keeps the text literal.
  const say = (text: string) => execOutput(docker, `${project}-web-1`, ['sh', '-c', 'printf "%s\\n" "$0" > /proc/1/fd/1', text]);

  it('returns the last lines, the ones since a point in time, and the ones containing a plain text', async () => {
    const before = new Date();
    await say('Alpha Marker one');
    await say('beta marker');
    await say('alpha MARKER two');
    await say('a.*b [x] $HOME');

    const filtered = await stack.logs('web', { grep: 'alpha marker', tail: 10 });
    expect(filtered.lines.map((line) => line.text)).toEqual(['Alpha Marker one', 'alpha MARKER two']);
    expect(filtered.lines[0]).toMatchObject({ replica: `${project}-web-1`, stream: 'stdout' });
    expect(Date.parse(filtered.lines[0]!.time)).toBeGreaterThanOrEqual(before.getTime() - 1000);

    const lastMatch = await stack.logs('web', { grep: 'MARKER', tail: 1 });
    expect(lastMatch.lines.map((line) => line.text)).toEqual(['alpha MARKER two']);
    expect(lastMatch.truncated).toBe(true);

    // The filter is text, not a pattern: '.*' matches only a line that contains those two characters.
    expect((await stack.logs('web', { grep: '.*' })).lines.map((line) => line.text)).toEqual(['a.*b [x] $HOME']);
    expect((await stack.logs('web', { grep: '[x] $home' })).lines).toHaveLength(1);

    const since = await stack.logs('web', { since: before, tail: 1000 });
    expect(since.lines.some((line) => line.text.includes('Responder version 1 starting'))).toBe(false);
    expect(since.lines.some((line) => line.text === 'beta marker')).toBe(true);

    const tail = await stack.logs('web', { tail: 2 });
    expect(tail.lines).toHaveLength(2);
  });

  it('reads both streams: the responder logs each health check request on stderr', async () => {
    const logs = await stack.logs('web', { grep: 'response:200', tail: 3 });
    expect(logs.lines.length).toBeGreaterThan(0);
    expect(logs.lines.every((line) => line.stream === 'stderr')).toBe(true);
  });

  it.each([
    [{ tail: 0 }, 'tail must be a whole number from 1 to 1000'],
    [{ tail: 1001 }, 'tail must be a whole number from 1 to 1000'],
    [{ grep: '' }, 'grep must be plain text'],
    [{ grep: 'a\nb' }, 'no control characters'],
    [{ since: new Date('nonsense') }, 'since must be a valid point in time'],
    [{ since: new Date(Date.now() + 3_600_000) }, 'since is in the future'],
  ])('refuses logs options %j with a message', async (options, message) => {
    const error = await stackErrorOf(stack.logs('web', options));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain(message);
  });
});

describe('Docker stack: stats and exec', () => {
  it('samples CPU, memory, network and block I/O per running container', async () => {
    const stats = await stack.stats();
    expect(stats.map((sample) => sample.service)).toEqual(['plain', 'web']);
    for (const sample of stats) {
      expect(sample.cpuPercent).toBeGreaterThanOrEqual(0);
      expect(sample.memory.usedBytes).toBeGreaterThan(0);
      expect(sample.memory.limitBytes).toBeGreaterThan(sample.memory.usedBytes);
      // A busybox responder uses a few hundred kB of gigabytes: the percentage rounds to about 0.
      expect(sample.memory.percent).toBeCloseTo((sample.memory.usedBytes / sample.memory.limitBytes) * 100, 2);
      // Host networking: the engine has no per-container network counters.
      expect(sample.network).toBeNull();
      expect(sample.pids).toBeGreaterThan(0);
    }
    expect((await stack.stats('web')).map((sample) => sample.replica)).toEqual([`${project}-web-1`]);
  });

  it('runs an allow-listed command in the first running replica and returns its output and exit code', async () => {
    const result = await stack.exec('web', 'meminfo');
    expect(result).toMatchObject({ service: 'web', replica: `${project}-web-1`, command: 'meminfo', argv: ['cat', '/proc/meminfo'], exitCode: 0 });
    expect(result.output).toContain('MemTotal:');
    expect(result.truncated).toBe(false);
  });

  it("reports the exit code and the runtime's words when an allow-listed command is missing in the container", async () => {
    const result = await stack.exec('web', 'pg-isready');
    expect(result.exitCode).toBe(126);
    expect(result.output).toContain('"pg_isready": executable file not found');
  });

  it('refuses a command that is not on the allow list without running anything in the container', async () => {
    const execIds = async () => (await docker.getContainer(`${project}-web-1`).inspect()).ExecIDs ?? [];
    const execsBefore = await execIds();
    for (const command of ['cat /etc/passwd', 'sh', 'meminfo; rm -rf /', '__proto__', 'toString']) {
      const error = await stackErrorOf(stack.exec('web', command as never));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain('is not an allowed command; allowed: pg-isready');
    }
    // Compared by id, not by count: the engine drops an exec's id from the container once it has
    // exited, so the previous test's exec may leave the list meanwhile (seen under load).
    expect((await execIds()).filter((id) => !execsBefore.includes(id))).toEqual([]);
  });

  it('refuses a replica number the service does not run', async () => {
    const error = await stackErrorOf(stack.exec('web', 'meminfo', { replica: 7 }));
    expect(error.code).toBe('CONTAINER_MISSING');
    expect(error.message).toContain('has no running replica 7; running replicas: 1');
  });
});

describe('Docker stack: stats of replicas that are not running', () => {
  it('measures the running replica and names the stopped one and why; with none running it measures nothing and names both', async () => {
    const web2 = await startComposeReplica(docker, { project, service: 'web', number: 2, image: RESPONDER_IMAGES.v1 });
    const web1 = docker.getContainer(`${project}-web-1`);
    try {
      await web2.stop({ t: 0 });
      const skipped: SkippedStats[] = [];
      const stats = await stack.stats(undefined, { onSkipped: (entry) => skipped.push(entry) });
      expect(stats.map((sample) => sample.replica)).toEqual([`${project}-plain-1`, `${project}-web-1`]);
      expect(skipped).toEqual([{ service: 'web', replica: `${project}-web-2`, reason: `${project}-web-2 is exited, not running: nothing to measure` }]);

      const ofWeb: SkippedStats[] = [];
      expect((await stack.stats('web', { onSkipped: (entry) => ofWeb.push(entry) })).map((sample) => sample.replica)).toEqual([`${project}-web-1`]);
      expect(ofWeb).toEqual(skipped);

      // Every replica of the service gone: an empty answer, as before, and each one named.
      await web1.stop({ t: 0 });
      const none: SkippedStats[] = [];
      expect(await stack.stats('web', { onSkipped: (entry) => none.push(entry) })).toEqual([]);
      expect(none).toEqual([
        { service: 'web', replica: `${project}-web-1`, reason: `${project}-web-1 is exited, not running: nothing to measure` },
        { service: 'web', replica: `${project}-web-2`, reason: `${project}-web-2 is exited, not running: nothing to measure` },
      ]);
    } finally {
      await web2.remove({ force: true }).catch(() => undefined);
      await web1.start().catch(() => undefined);
    }
  }, 30_000);
});
