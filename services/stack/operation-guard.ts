/**
 * One changing operation (restart, scale, recreate) per service at a time within this process:
 * a second one, from a double click or a colleague, would fight the first over the same
 * containers. Refused rather than queued, so the person sees at once that someone is already at it.
 * Several bot processes need a shared lock on top of this (the commands layer's job).
 */
import { StackError } from './stack.js';

export type GuardedOperation = 'restart' | 'scale' | 'recreate' | 'stop' | 'start' | 'deploy';

export interface OperationGuard {
  run<T>(service: string, operation: GuardedOperation, work: () => Promise<T>): Promise<T>;
}

export function createOperationGuard(now: () => number = Date.now): OperationGuard {
  const running = new Map<string, { operation: GuardedOperation; since: number }>();
  return {
    async run(service, operation, work) {
      const current = running.get(service);
      if (current) {
        const seconds = Math.max(0, Math.round((now() - current.since) / 1000));
        throw new StackError(
          'BUSY',
          `Cannot ${operation} ${service} now: a ${current.operation} of ${service} started ${seconds} s ago and is still running; wait for its result, then check status`,
        );
      }
      running.set(service, { operation, since: now() });
      try {
        return await work();
      } finally {
        running.delete(service);
      }
    },
  };
}
