/**
 * Prints every shipped runbook's version as this process computes it, as one JSON object: the
 * definition test runs it under other loaders (the tsx CLI, `node --import tsx`) to show that they
 * all agree with vitest.
 */
import { allRunbooks } from '../../index.js';

process.stdout.write(`${JSON.stringify(Object.fromEntries(allRunbooks.map((runbook) => [runbook.name, runbook.version])))}\n`);
