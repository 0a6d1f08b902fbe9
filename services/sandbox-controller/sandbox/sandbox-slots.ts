import type { Runtime } from '../contract.js';

export interface ActiveSandbox {
  sandboxId: string;
  agentId: string;
  runtime: Runtime | null;
  containerId: string | undefined;
  startedAt: Date;
  /** Aborted on shutdown; the runner kills the container as soon as it runs. */
  stop: AbortController;
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
  tryAcquire(sandbox: Omit<ActiveSandbox, 'containerId' | 'startedAt' | 'runtime' | 'stop'>): ActiveSandbox | undefined {
    if (this.active.size >= this.max) return undefined;
    const entry: ActiveSandbox = { ...sandbox, runtime: null, containerId: undefined, startedAt: new Date(), stop: new AbortController() };
    this.active.set(sandbox.sandboxId, entry);
    return entry;
  }

  /** Stops every running execution: each container is killed once it runs (exit 137). */
  stopAll(): void {
    for (const sandbox of this.active.values()) sandbox.stop.abort();
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
