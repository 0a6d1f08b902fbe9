/**
 * What the tests of one file or describe block stand on, started before its first test and
 * stopped after its last, also when a test fails. (A module of its own because it registers
 * vitest hooks; benchmarks import the kits these wrap.)
 */
import { afterAll, beforeAll } from 'vitest';
import { openCommandAccess, type CommandAccess, type GateOptions } from './command-access.js';
import { FIRM_PORTS_WAIT_MS, takeFirmPorts } from './firm-ports.js';
import { requireFreePorts } from './npm-start.js';
import { startHungServer, startStack, type HungServer, type StackOptions, type TestStack } from './stack.js';

export interface StackSuite {
  stack: TestStack;
  hung: HungServer;
}

/** The real stack of test/testing/stack.ts and a hung server. */
export function realStackForSuite(options: StackOptions = {}): StackSuite {
  const suite = {} as StackSuite;
  beforeAll(async () => {
    suite.stack = await startStack(options);
    suite.hung = await startHungServer();
  });
  afterAll(async () => {
    await suite.hung?.close();
    await suite.stack?.close();
  });
  return suite;
}

/** The command path's guards (the real policy with these roles, and a bot audit trail); read through the returned function. */
export function commandAccessForSuite(options: GateOptions): () => CommandAccess {
  let access: (CommandAccess & { close(): Promise<void> }) | undefined;
  beforeAll(async () => {
    access = await openCommandAccess(options);
  }, 30_000);
  afterAll(() => access?.close());
  return () => {
    if (!access) throw new Error('the command access is opened before the tests of its suite; it is not open here');
    return access;
  };
}

/**
 * The firm ports' turn (firm-ports.ts), for a block whose tests count on nothing listening on
 * `free` (the services' default ports): taken before its first test, so no `npm start` suite
 * brings services up meanwhile, and given up after its last. The block fails, naming what listens,
 * when something else still holds one of them.
 */
export function firmPortsForSuite(free: Record<string, number>): void {
  let release: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    release = await takeFirmPorts();
    await requireFreePorts(free);
  }, FIRM_PORTS_WAIT_MS + 10_000);
  afterAll(() => release?.());
}
