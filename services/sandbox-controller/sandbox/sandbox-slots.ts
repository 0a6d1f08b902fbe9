import type { Runtime } from '../contract.js';

export interface ActiveSandbox {
  sandboxId: string;
  agentId: string;
  runtime: Runtime | null;
  containerId: string | undefined;
  startedAt: Date;
}

/**
 * At most `max` executions at a time in this controller. A full controller answers 429 at once
 * rather than queueing: executions last up to 600 s, and a queued HTTP request would outlive
 * most callers' timeouts without telling them why.
 */
export class SandboxSlots {
  private readonly active = new Map<string, ActiveSandbox>();

  constructor(readonly max: number) {}

  /** Takes a slot, or returns undefined when all are busy; call the returned function to free it. */
  tryAcquire(sandbox: Omit<ActiveSandbox, 'containerId' | 'startedAt' | 'runtime'>): ActiveSandbox | undefined {
    if (this.active.size >= this.max) return undefined;
    const entry: ActiveSandbox = { ...sandbox, runtime: null, containerId: undefined, startedAt: new Date() };
    this.active.set(sandbox.sandboxId, entry);
    return entry;
  }

  release(sandboxId: string): void {
    this.active.delete(sandboxId);
  }

  get size(): number {
    return this.active.size;
  }

  list(): ActiveSandbox[] {
    return [...this.active.values()];
  }
}
