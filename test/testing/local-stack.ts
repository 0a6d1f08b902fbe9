/**
 * The embedded local stack of `npm start` (four supervised service processes, embedded PGlite) on
 * spare loopback ports in a temporary state directory, for suites that watch or act on a real stack
 * without the firm ports. `close` stops the processes and removes the directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceName } from '../../services/kit/service-ports.js';
import { startLocalServices, type LocalServices } from '../../services/stack/local/local-services.js';
import { createLocalStack } from '../../services/stack/local/local-stack.js';
import type { Stack } from '../../services/stack/stack.js';
import { unusedLoopbackPort } from './loopback.js';

const SERVICES: readonly ServiceName[] = ['sandbox-controller', 'evolution-oversight', 'audit-engine', 'policy-engine'];

export interface TestLocalStack {
  stateDir: string;
  services: LocalServices;
  stack: Stack;
  close(): Promise<void>;
}

export async function startTestLocalStack(prefix: string): Promise<TestLocalStack> {
  const stateDir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const ports = {} as Record<ServiceName, number>;
  for (const service of SERVICES) ports[service] = await unusedLoopbackPort();
  const services = await startLocalServices({ stateDir, ports, env: { ACGS_STATE_DIR: stateDir }, log: () => undefined });
  const close = async () => {
    await services.stop().catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  };
  for (const process of services.processes) {
    if (!(await process.waitUntilHealthy(60_000))) {
      await close();
      throw new Error(`${process.name} did not become healthy`);
    }
  }
  return { stateDir, services, stack: createLocalStack({ processes: services.processes, stateDir }), close };
}
