/**
 * A runner process whose gate steps ask the real approvals, for the gate takeover test: the
 * scripted `gated-deploy` runbook (gate-runbooks.ts), and a gates port that asks for `run pass`
 * through its own command path (the policy engine, trail and approval store of the test's bot).
 * No Slack here: the request is voted from the test. It runs until SIGKILLed.
 *
 *   tsx test/approvals/testing/gate-runner-process.ts '{"databaseUrl": "...", "policyEngineUrl": "...", "roles": {...}, ...}'
 */
import { createApprovalStore } from '../../../bot/approvals/index.js';
import { createCommandPathDependencies, executeCommandLine, loadCommandGate, openCommandTrail, policyEngineModes, type CommandPathDependencies } from '../../../bot/command-path/index.js';
import { createGateApprovals } from '../../../bot/runbook-runs/gate-approvals.js';
import { createRunbookRuns } from '../../../bot/runbook-runs/runbook-runs.js';
import { createCommandRegistry } from '../../../commands/index.js';
import { createGateStore } from '../../../runbooks/engine/gate-store.js';
import type { GatePorts } from '../../../runbooks/engine/ports.js';
import { createRunbookRegistry } from '../../../runbooks/engine/registry.js';
import { createRunExecutor } from '../../../runbooks/engine/run-executor.js';
import { createRunStore } from '../../../runbooks/engine/run-store.js';
import { hostRunnerProcess, type RunnerProcessOptions } from '../../../runbooks/engine/testing/host-runner-process.js';
import { POLICY_ADMIN_TOKEN } from '../../testing/policy-engine.js';
import { gateRunbooks } from './gate-runbooks.js';

interface GateRunnerOptions extends RunnerProcessOptions {
  policyEngineUrl: string;
  unusedUrl: string;
  roles: Record<string, string[]>;
  /** The trail's state directory: the test's, which removes it (this process may die by SIGKILL). */
  stateDir: string;
}

/** The command path this process asks through, built on the first gate (the ports are made synchronously). */
async function gatePorts(options: GateRunnerOptions): Promise<GatePorts> {
  const trail = await openCommandTrail({ databaseUrl: options.databaseUrl, poolMax: 3, stateDir: options.stateDir, instances: ['gate-runner'], applicationName: 'acgs-gate-runner' });
  const base = createCommandPathDependencies({
    endpoints: { 'policy-engine': options.policyEngineUrl, 'audit-engine': options.unusedUrl, 'evolution-oversight': options.unusedUrl, 'sandbox-controller': options.unusedUrl },
    adminToken: POLICY_ADMIN_TOKEN,
    checkTimeoutMs: 2000,
  });
  const modes = policyEngineModes(async () => (await base.policyEngine.metrics()).mode, { ttlMs: 0 });
  const { gate } = await loadCommandGate({ config: { roles: options.roles }, services: base, modes });
  const approvals = createApprovalStore({ pool: trail.pool });
  const store = createRunStore(trail.pool);
  const registry = createRunbookRegistry(gateRunbooks(trail.pool));
  const gates = createGateStore(trail.pool);
  // Never started: `run pass`'s plan only reads the run through it.
  const runs = createRunbookRuns({ registry, executor: createRunExecutor({ store, registry }), store, gates });
  const services: CommandPathDependencies = { ...base, authorization: gate, trail: trail.trail, approvals, runs };
  const execution = { registry: createCommandRegistry(), services };
  return createGateApprovals({
    runs: store,
    gates,
    approvals,
    async ask(line, run, approvalId) {
      const outcome = await executeCommandLine(execution, { line, actor: { id: run.requester }, origin: 'schedule', approvalId });
      if (!outcome.approval) throw new Error(`not requested: ${outcome.document.title}: ${outcome.document.summary ?? ''}`);
      return outcome.approval;
    },
  });
}

hostRunnerProcess<GateRunnerOptions>({
  application: 'acgs-gate-runner',
  runbooks: (pool) => gateRunbooks(pool),
  ports(options) {
    let ready: Promise<GatePorts> | undefined;
    const ports = () => (ready ??= gatePorts(options));
    return {
      gates: {
        open: async (gate) => (await ports()).open(gate),
        check: async (gate, request) => (await ports()).check(gate, request),
      },
    };
  },
});
