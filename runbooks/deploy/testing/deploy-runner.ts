/**
 * Starts a deploy runner process (deploy-runner-process.ts) for a crash test and reads the events
 * it prints (runbooks/engine/testing/runner-events.ts), so the test can wait for the step it means
 * to SIGKILL it in. What the process and the test share lives here: importing the process's module
 * would start a runner in the test's own process.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ServiceName } from '../../../services/kit/service-ports.js';
import { startRunnerProcess, type RunnerProcess } from '../../engine/testing/runner-events.js';
import type { RunnerProcessOptions } from '../../engine/testing/host-runner-process.js';
import type { DeploySettings } from '../deploy-settings.js';

const RUNNER = fileURLToPath(new URL('./deploy-runner-process.ts', import.meta.url));

export interface DeployRunnerOptions extends RunnerProcessOptions {
  stateDir: string;
  repository: string;
  servicePorts: Record<ServiceName, number>;
  settings?: Partial<DeploySettings>;
  /** The deploys channel, and the stakeholders each notice goes to by direct message. */
  channel: string;
  stakeholders: string[];
}

/** One row per notice delivered to one target: which run, which notice, where, by which runner. */
export const NOTICES_TABLE_SQL = `CREATE TABLE IF NOT EXISTS runbook_test_notices (
  id bigserial PRIMARY KEY, run_id text NOT NULL, kind text NOT NULL, target text NOT NULL, version text NOT NULL, owner text NOT NULL)`;

/** `children` collects the process so the test's afterAll can stop what is still running. */
export function startDeployRunner(options: DeployRunnerOptions, settings: { children: ChildProcessWithoutNullStreams[]; waitMs: number }): RunnerProcess {
  return startRunnerProcess({ script: RUNNER, options, name: options.owner, children: settings.children, waitMs: settings.waitMs });
}
