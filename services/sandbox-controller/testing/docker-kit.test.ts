import type Docker from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { engineRuntimes, loopbackDockerHost, requireDockerEngine, runscWorks } from '../../../test/testing/docker.js';

/** A Docker Engine stand-in for the one answer a real engine here cannot be made to give. */
function engineWith(runtimes: string[], createContainer: () => Promise<unknown>): Docker {
  return {
    info: async () => ({ Runtimes: Object.fromEntries(runtimes.map((name) => [name, { path: name }])) }),
    createContainer,
  } as unknown as Docker;
}

describe('the Docker test kit keeps test traffic on loopback', () => {
  it.each(['unix:///var/run/docker.sock', 'unix:///run/user/1000/docker.sock', 'tcp://127.0.0.1:2375', 'tcp://127.0.0.1', 'tcp://[::1]:2375'])(
    'accepts DOCKER_HOST=%s',
    (value) => {
      expect(loopbackDockerHost(value)).toBe(value);
    },
  );

  it('uses the default socket when DOCKER_HOST is unset or empty', () => {
    expect(loopbackDockerHost(undefined)).toBe('unix:///var/run/docker.sock');
    expect(loopbackDockerHost('')).toBe('unix:///var/run/docker.sock');
  });

  it.each([
    'tcp://10.0.0.5:2375',
    'tcp://docker.example.com:2376',
    'tcp://localhost:2375',
    'tcp://127.0.0.1.evil.example:2375',
    'tcp://0.0.0.0:2375',
    'tcp://user:secret@127.0.0.1:2375',
    'http://127.0.0.1:2375',
    'ssh://user@build-host',
    'unix://remote-host/var/run/docker.sock',
    '/var/run/docker.sock',
  ])('refuses DOCKER_HOST=%s naming it', (value) => {
    expect(() => loopbackDockerHost(value)).toThrow(`DOCKER_HOST=${value} is not allowed in tests`);
  });
});

describe('the gVisor check of the Docker test kit', () => {
  it('says no runsc when the engine has no runtime of that name, without probing', async () => {
    let probed = false;
    const engine = engineWith(['runc'], async () => {
      probed = true;
      throw new Error('must not probe');
    });
    expect(await runscWorks(engine, 'acgs-test/busybox:latest')).toBe(false);
    expect(probed).toBe(false);
  });

  it('fails loudly when runsc is registered but its probe container fails, instead of dropping the runsc suites', async () => {
    const engine = engineWith(['runc', 'runsc'], async () => {
      throw new Error('OCI runtime create failed: runsc: cannot load sentry');
    });
    await expect(runscWorks(engine, 'acgs-test/busybox:latest')).rejects.toThrow(
      /lists a runsc \(gVisor\) runtime, but a probe container .*cannot load sentry/,
    );
  });

  describe('on the real engine', () => {
    let docker: Docker;
    beforeAll(async () => {
      docker = await requireDockerEngine();
    });

    it('fails loudly, when runsc is registered, if the probe cannot even create its container', async () => {
      // Runtimes first: a probe left pending across another await would reject unhandled.
      const hasRunsc = (await engineRuntimes(docker)).includes('runsc');
      const probe = runscWorks(docker, 'acgs-test/not-built:latest');
      if (hasRunsc) await expect(probe).rejects.toThrow(/acgs-test\/not-built:latest/);
      else expect(await probe).toBe(false);
    });
  });
});
