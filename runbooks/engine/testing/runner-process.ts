/**
 * A separate runner process for the crash tests, over the crash runbooks (host-runner-process.ts):
 *
 *   tsx runbooks/engine/testing/runner-process.ts '{"databaseUrl": "...", "owner": "a", "leaseMs": 2000, "renewEveryMs": 500}'
 */
import { hostRunnerProcess } from './host-runner-process.js';
import { crashRunbooks } from './scripted-runbooks.js';

hostRunnerProcess({ application: 'acgs-runbooks-test', runbooks: (pool) => crashRunbooks(pool) });
