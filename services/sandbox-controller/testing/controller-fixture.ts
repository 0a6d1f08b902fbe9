import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Service } from '../../kit/service.js';
import { TEST_DOCKER_HOST, removeContainersWithLabel } from '../../../test/testing/docker.js';
import { unusedLoopbackUrl } from '../../../test/testing/loopback.js';
import { TEST_SERVICE_TOKEN, testToken } from '../../../test/testing/tokens.js';
import { buildApp } from '../app.js';
import { type SandboxConfig, loadConfig } from '../config.js';
import { LABELS } from '../sandbox/container-spec.js';

export interface ControllerFixture {
  app: Service;
  config: SandboxConfig;
  /** The admin token this controller expects (a fresh one per fixture unless overridden). */
  adminToken: string | undefined;
  /** Label selecting every sandbox this controller creates (for event watches and cleanup). */
  sandboxLabels: string[];
  close(): Promise<void>;
}

/**
 * A Sandbox Controller app for tests: its own audit spool, the given endpoints, and a close()
 * that also force-removes any container it left (so afterAll cleans up after a failed test).
 */
export async function startController(docker: Docker, overrides: Partial<SandboxConfig>): Promise<ControllerFixture> {
  // Unless a test names them, the Policy and Audit Engines answer nowhere, never a stack running on the default ports.
  const nowhere = await unusedLoopbackUrl();
  const spoolDir = mkdtempSync(join(tmpdir(), 'acgs-sandbox-spool-'));
  const config: SandboxConfig = {
    ...loadConfig({}),
    policyEngineUrl: nowhere,
    auditEngineUrl: nowhere,
    auditSpoolDir: spoolDir,
    // The engine the test kit checked, not whatever the default socket is.
    dockerHost: TEST_DOCKER_HOST,
    adminToken: testToken(),
    // Required by execute and sent with the audit events, as the kits' Audit Engines expect.
    serviceToken: TEST_SERVICE_TOKEN,
    ...overrides,
  };
  const app = await buildApp(config, { logger: false });
  await app.ready();
  const controllerLabel = `${LABELS.controller}=${app.sandboxControllerId}`;
  return {
    app,
    config,
    adminToken: config.adminToken,
    sandboxLabels: [`${LABELS.sandbox}=1`, controllerLabel],
    async close() {
      await app.close();
      await removeContainersWithLabel(docker, controllerLabel).catch(() => undefined);
      rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}
