/**
 * `npm start` refuses the local console where it would be dangerous: beyond loopback, or against a
 * real stack (a DATABASE_URL, a Docker stack) unless ACGS_CONSOLE_WITH_REAL_STACK=1. The console
 * lets one person act as every approver, so these stop the start before anything is started.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { COMPOSE_LABELS } from '../../services/stack/docker/compose-labels.js';
import { removeContainersWithLabel, requireDockerEngine, requireImage, silentDockerHost, TEST_DOCKER_HOST } from '../testing/docker.js';
import { refusedStarts } from '../testing/npm-start.js';

const { start, cleanup } = refusedStarts('acgs-console-refusal-');
/** Marks the containers this file creates, for the clean-up. */
const TEST_LABEL = 'acgs.test=console-refusals';
afterAll(async () => {
  cleanup();
  await removeContainersWithLabel(await requireDockerEngine(), TEST_LABEL);
});

const WHY = 'the console lets one person act as every user of its workspace, approvers and admins included';

describe('npm start with the local console', () => {
  it('refuses to run against the database of DATABASE_URL, naming ACGS_CONSOLE_WITH_REAL_STACK and why, before starting anything', async () => {
    const result = await start({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[acgs] could not start: the local Slack console will not run against a real stack (DATABASE_URL is set)');
    expect(result.stderr).toContain(WHY);
    expect(result.stderr).toContain('set ACGS_CONSOLE_WITH_REAL_STACK=1 to run it anyway');
    expect(result.stdout).not.toContain('starting the local stack');
  }, 60_000);

  it('refuses to run against a Docker stack (ACGS_STACK=docker) without the opt-in', async () => {
    // An engine that is not there: without the refusal the start would fail on it, saying something else.
    const result = await start({ ACGS_STACK: 'docker', DOCKER_HOST: await silentDockerHost() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('could not start: the local Slack console will not run against a real stack (ACGS_STACK=docker)');
    expect(result.stderr).toContain('ACGS_CONSOLE_WITH_REAL_STACK=1');
  }, 60_000);

  it('refuses to run against a Docker stack it found by itself (a compose project with containers)', async () => {
    const docker = await requireDockerEngine();
    await requireImage(docker, 'acgs-test/busybox:latest');
    const project = `acgs-console-refusal-${process.pid}`;
    // Created, never started: a compose project with a container is what makes the bot choose Docker.
    await docker.createContainer({ Image: 'acgs-test/busybox:latest', Cmd: ['true'], Labels: { [COMPOSE_LABELS.project]: project, [COMPOSE_LABELS.service]: 'policy-engine', 'acgs.test': 'console-refusals' }, HostConfig: { NetworkMode: 'none' } });
    const result = await start({ ACGS_STACK: '', COMPOSE_PROJECT_NAME: project, DOCKER_HOST: TEST_DOCKER_HOST });
    expect(result.stdout).toContain(`stack: docker, because compose project ${project} has 1 container(s)`);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('could not start: the local Slack console will not run against a real stack (the bot controls a Docker stack)');
    expect(result.stderr).toContain('ACGS_CONSOLE_WITH_REAL_STACK=1');
  }, 60_000);

  it.each(['0.0.0.0', '::', '192.0.2.10'])('refuses to serve the console on BOT_HOST=%s, even with the opt-in', async (host) => {
    const result = await start({ BOT_HOST: host, ACGS_CONSOLE_WITH_REAL_STACK: '1' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`could not start: the local Slack console listens on loopback only and will not serve on ${host}: ${WHY}`);
    expect(result.stderr).toContain('unset BOT_HOST');
  }, 60_000);

  it('goes past the console check with ACGS_CONSOLE_WITH_REAL_STACK=1 (and then stops at the stack choice here)', async () => {
    const result = await start({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres', ACGS_CONSOLE_WITH_REAL_STACK: '1' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('could not start: ACGS_STACK must be local, docker or swarm');
    expect(result.stderr).not.toContain('local Slack console');
  }, 60_000);
});
