/** The runbook's troubleshooting procedures as runbooks (README.md, "Troubleshooting runbooks"). */
import type { AnyRunbook } from '../engine/definition.js';
import { cacheDegradation } from './cache-degradation.js';
import { databaseConnections } from './database-connections.js';
import { highMemory } from './high-memory.js';
import { sandboxFailures } from './sandbox-failures.js';

export { cacheDegradation, databaseConnections, highMemory, sandboxFailures };

export const troubleshootingRunbooks: readonly AnyRunbook[] = [highMemory, databaseConnections, cacheDegradation, sandboxFailures];
