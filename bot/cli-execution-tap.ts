/**
 * The key of the execution record the CLI's command path commits before its command runs, for
 * the relays that take a change only under it (incidents, schedules). Their ports (commands/ports.ts)
 * carry no execution key, and a CLI process runs one command: so the trail tells it here as the
 * command path commits it, and the relayed port reads it when the command calls.
 */
import type { AuditTrail } from './audit-trail/audit-trail.js';

export interface ExecutionTap {
  trail: AuditTrail;
  /** The key of the latest execution record committed through `trail`; undefined before one is. */
  execution(): string | undefined;
}

export function tapCommittedExecution(trail: AuditTrail): ExecutionTap {
  let latest: string | undefined;
  return {
    trail: {
      ...trail,
      async appendToChain(input) {
        const receipt = await trail.appendToChain(input);
        if (input.kind === 'execution') latest = receipt.key;
        return receipt;
      },
    },
    execution: () => latest,
  };
}
