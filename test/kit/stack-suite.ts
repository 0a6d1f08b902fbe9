/**
 * The real stack of test/kit/stack.ts and a hung server for the tests of one file or describe
 * block: started before its first test, stopped after its last, also when a test fails. (A module
 * of its own because it registers vitest hooks; benchmarks import test/kit/stack.ts.)
 */
import { afterAll, beforeAll } from 'vitest';
import { startHungServer, startStack, type HungServer, type StackOptions, type TestStack } from './stack.js';

export interface StackSuite {
  stack: TestStack;
  hung: HungServer;
}

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
