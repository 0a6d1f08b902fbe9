export interface GroupCommitOptions<In, Out> {
  /** Stores several requests in one transaction; answers each request's items in order. */
  commit(requests: In[][]): Promise<Out[][]>;
  /** Most items one transaction takes; a single larger request still goes alone, whole. */
  maxItems: number;
  /** When a shared transaction fails with this error, each request is retried alone. */
  isolate?(error: unknown): boolean;
}

export interface GroupCommitter<In, Out> {
  submit(items: In[]): Promise<Out[]>;
  /** Resolves once nothing is queued or in flight. */
  drained(): Promise<void>;
}

interface Pending<In, Out> {
  items: In[];
  resolve(result: Out[]): void;
  reject(error: unknown): void;
}

/**
 * Coalesces concurrent requests into one transaction (group commit). There is no timer: the first
 * request commits at once, and whatever arrives while that transaction runs goes into the next
 * one, so a lone writer pays no added latency and many writers share one lock and one fsync.
 */
export function createGroupCommitter<In, Out>(options: GroupCommitOptions<In, Out>): GroupCommitter<In, Out> {
  const queue: Pending<In, Out>[] = [];
  let running: Promise<void> | undefined;

  function takeGroup(): Pending<In, Out>[] {
    const group: Pending<In, Out>[] = [queue.shift()!];
    let count = group[0]!.items.length;
    while (queue.length > 0 && count + queue[0]!.items.length <= options.maxItems) {
      const next = queue.shift()!;
      count += next.items.length;
      group.push(next);
    }
    return group;
  }

  async function commitGroup(group: Pending<In, Out>[]): Promise<void> {
    try {
      const results = await options.commit(group.map((pending) => pending.items));
      group.forEach((pending, index) => pending.resolve(results[index]!));
    } catch (error) {
      if (group.length > 1 && options.isolate?.(error)) {
        // One bad request must not fail the others that happened to share its transaction.
        for (const pending of group) await commitGroup([pending]);
        return;
      }
      for (const pending of group) pending.reject(error);
    }
  }

  async function drain(): Promise<void> {
    while (queue.length > 0) await commitGroup(takeGroup());
    running = undefined;
  }

  return {
    submit(items) {
      return new Promise<Out[]>((resolve, reject) => {
        queue.push({ items, resolve, reject });
        running ??= drain();
      });
    },
    async drained() {
      while (running) await running;
    },
  };
}
