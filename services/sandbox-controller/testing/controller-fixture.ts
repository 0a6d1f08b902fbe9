import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Service } from '../../kit/service.js';
import { removeContainersWithLabel } from '../../../test/kit/docker.js';
import { buildApp } from '../app.js';
import { type SandboxConfig, configFromEnv } from '../config.js';
import { LABELS } from '../sandbox/container-spec.js';

export interface ControllerFixture {
  app: Service;
  config: SandboxConfig;
  /** Label selecting every sandbox this controller creates (for event watches and cleanup). */
  sandboxLabels: string[];
  close(): Promise<void>;
}

/**
 * A Sandbox Controller app for tests: its own audit spool, the given endpoints, and a close()
 * that also force-removes any container it left (so afterAll cleans up after a failed test).
 */
export async function startController(docker: Docker, overrides: Partial<SandboxConfig>): Promise<ControllerFixture> {
  const spoolDir = mkdtempSync(join(tmpdir(), 'acgs-sandbox-spool-'));
  const config: SandboxConfig = { ...configFromEnv({}), auditSpoolDir: spoolDir, ...overrides };
  const app = await buildApp(config, { logger: false });
  await app.ready();
  const controllerLabel = `${LABELS.controller}=${app.sandboxControllerId}`;
  return {
    app,
    config,
    sandboxLabels: [`${LABELS.sandbox}=1`, controllerLabel],
    async close() {
      await app.close();
      await removeContainersWithLabel(docker, controllerLabel).catch(() => undefined);
      rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}
