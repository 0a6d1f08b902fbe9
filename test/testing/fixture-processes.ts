/**
 * The local driver's test stack: three supervised child processes (the supervisor `npm start`
 * uses) of test/fixtures/stack/local-service.mjs, each a small HTTP service on a free loopback
 * port: `alpha` (healthy), `beta` (healthy, but exits at start while `crashFlag` exists) and `sick`
 * (answers its health check with 503).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { superviseProcess, type SupervisedProcess } from '../../services/stack/local/local-supervisor.js';
import { createLocalStack } from '../../services/stack/local/local-stack.js';
import type { Stack } from '../../services/stack/stack.js';
import { unusedLoopbackUrl } from './loopback.js';

/** The fixture service's script, as the local driver shows it in the command column. */
export const FIXTURE_SERVICE_SCRIPT = 'test/fixtures/stack/local-service.mjs';

export interface FixtureProcesses {
  /** By service name: alpha, beta, sick. */
  processes: Map<string, SupervisedProcess>;
  /** Each service's base URL. */
  urls: Record<string, string>;
  /** While this file exists, beta exits at start with "fatal: configuration is broken". */
  crashFlag: string;
  /** The local driver over the three processes. */
  stack: Stack;
  /** Stops the processes, closes the driver and removes the scratch folder. */
  close(): Promise<void>;
}

export interface FixtureProcessesOptions {
  /** Output lines each supervisor keeps for logs. */
  logCapacity: number;
}

export async function startFixtureProcesses(options: FixtureProcessesOptions): Promise<FixtureProcesses> {
  const scratch = mkdtempSync(join(tmpdir(), 'acgs-fixture-processes-'));
  const crashFlag = join(scratch, 'broken-config');
  const processes = new Map<string, SupervisedProcess>();
  const urls: Record<string, string> = {};
  let stack: Stack | undefined;
  const close = async () => {
    await Promise.all([...processes.values()].map((supervised) => supervised.stop()));
    await stack?.close();
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    const services: Array<[string, Record<string, string>]> = [
      ['alpha', {}],
      ['beta', { CRASH_IF_EXISTS: crashFlag }],
      ['sick', { HEALTH_STATUS: '503' }],
    ];
    for (const [name, env] of services) {
      const url = await unusedLoopbackUrl();
      urls[name] = url;
      processes.set(
        name,
        superviseProcess({
          name,
          command: process.execPath,
          args: [FIXTURE_SERVICE_SCRIPT],
          env: { ...env, SERVICE_NAME: name, PORT: new URL(url).port },
          healthUrl: `${url}/health`,
          echo: false,
          logCapacity: options.logCapacity,
        }),
      );
    }
    // waitUntilHealthy means "serving": sick's 503 counts, which is what the tests need of it.
    const ready = await Promise.all([...processes.values()].map((supervised) => supervised.waitUntilHealthy(20_000)));
    if (ready.includes(false)) throw new Error(`the fixture services did not start serving: ${[...processes.keys()].filter((_, index) => !ready[index]).join(', ')}`);
    stack = createLocalStack({ processes: [...processes.values()], cpuSampleMs: 200 });
    return { processes, urls, crashFlag, stack, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
