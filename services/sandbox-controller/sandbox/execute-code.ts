import { createHash, randomUUID } from 'node:crypto';
import type { AuditEventInput } from '../../audit-engine/contract.js';
import { CONSTITUTIONAL_HASH } from '../../kit/constitution.js';
import { ServiceError } from '../../kit/errors.js';
import type { Decision } from '../../policy-engine/contract.js';
import type { SandboxConfig } from '../config.js';
import type { ExecuteOptions, ExecuteResponse, PolicyDeniedDetails, TerminationReason } from '../contract.js';
import { engineErrorText, engineStatusCode, isConnectionError } from '../../kit/docker-engine.js';
import type { DockerClients } from '../engine/docker-connection.js';
import { type EngineMonitor, engineUnreachableMessage, imageMissingMessage } from '../engine/engine-monitor.js';
import { type PolicyGate, policyInputFor } from '../policy/policy-gate.js';
import { sandboxContainerSpec } from './container-spec.js';
import { type SandboxRun, runSandbox } from './run-sandbox.js';
import type { SandboxSlots } from './sandbox-slots.js';

export interface ExecutionDeps {
  config: SandboxConfig;
  docker: DockerClients;
  engine: EngineMonitor;
  policy: PolicyGate;
  slots: SandboxSlots;
  audit: { record(event: AuditEventInput): void };
  controllerId: string;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  onFinished?: (outcome: { runtime: string; termination_reason: TerminationReason; duration_ms: number }) => void;
}

function terminationOf(run: SandboxRun): Exclude<TerminationReason, 'policy_denied'> {
  if (run.oomKilled) return 'oom';
  if (run.timedOut) return 'timeout';
  return 'exit';
}

function codeFacts(code: string) {
  // The audit trail proves what ran without copying the code (which may carry data) into it.
  return { code_sha256: createHash('sha256').update(code).digest('hex'), code_bytes: Buffer.byteLength(code) };
}

function limitsOf(request: ExecuteOptions) {
  return {
    timeout_seconds: request.timeout_seconds,
    memory_limit_mb: request.memory_limit_mb,
    cpu_limit: request.cpu_limit,
  };
}

function deny(deps: ExecutionDeps, request: ExecuteOptions, decision: Decision): never {
  const details: PolicyDeniedDetails = {
    termination_reason: 'policy_denied',
    reasons: decision.reasons,
    violations: decision.violations,
    compliance_score: decision.compliance_score,
  };
  deps.audit.record({
    event_type: 'sandbox_execution',
    agent_id: request.agent_id,
    severity: 'warning',
    data: {
      termination_reason: 'policy_denied',
      language: request.language,
      limits: limitsOf(request),
      trust_level: request.trust_level ?? null,
      policy: { allow: false, compliance_score: decision.compliance_score, reasons: decision.reasons },
      ...codeFacts(request.code),
    },
  });
  const summary = decision.reasons.length > 0 ? decision.reasons.map((reason) => reason.replace(/\.$/, '')).join('; ') : 'no reason given';
  throw new ServiceError('POLICY_DENIED', { detail: `${summary}. Nothing was run.` }, details);
}

/**
 * One execution: Policy Engine first, then a slot, then a container on the selected runtime.
 * Every refusal happens before a container exists, so "nothing was run" holds for each of them.
 */
export async function executeCode(deps: ExecutionDeps, request: ExecuteOptions): Promise<ExecuteResponse> {
  const { config } = deps;
  const image = request.language === 'node' ? config.nodeImage : config.image;
  if (!image) {
    throw new ServiceError('INVALID_REQUEST', {
      detail: 'language "node" is not enabled on this controller; set SANDBOX_NODE_IMAGE (e.g. acgs-test/node:latest) or use "sh"',
    });
  }

  const decision = await deps.policy.decide(policyInputFor(request));
  if (!decision.allow) deny(deps, request, decision);

  const sandboxId = randomUUID();
  const slot = deps.slots.tryAcquire({ sandboxId, agentId: request.agent_id });
  if (!slot) {
    throw new ServiceError('CAPACITY_EXCEEDED', {
      detail: `All ${deps.slots.max} sandbox slots are busy (SANDBOX_MAX_CONCURRENT); nothing was run, retry in a few seconds.`,
    });
  }
  try {
    const status = await deps.engine.status();
    if (!status.selected || status.reason) {
      throw new ServiceError('RUNTIME_UNAVAILABLE', { detail: status.reason ?? 'No container runtime is available.' });
    }
    if (status.images[image] !== true) throw new ServiceError('RUNTIME_UNAVAILABLE', { detail: imageMissingMessage(image) });
    const runtime = status.selected;
    slot.runtime = runtime;

    const spec = sandboxContainerSpec({
      sandboxId,
      agentId: request.agent_id,
      language: request.language,
      code: request.code,
      image,
      runtime,
      timeoutSeconds: request.timeout_seconds,
      memoryMb: request.memory_limit_mb,
      cpu: request.cpu_limit,
      pidsLimit: config.pidsLimit,
      tmpfsMb: config.tmpfsMb,
      controllerId: deps.controllerId,
    });
    let run: SandboxRun;
    try {
      run = await runSandbox(deps.docker, spec, {
        timeoutMs: request.timeout_seconds * 1000,
        outputLimitBytes: config.outputLimitBytes,
        log: deps.log,
        onCreated: (containerId) => {
          slot.containerId = containerId;
        },
        stop: slot.stop.signal,
      });
    } catch (error) {
      deps.engine.invalidate();
      if (isConnectionError(error)) {
        throw new ServiceError('RUNTIME_UNAVAILABLE', { detail: engineUnreachableMessage(deps.docker.host, engineErrorText(error)) });
      }
      if (engineStatusCode(error) === 404 && /image/i.test(engineErrorText(error))) {
        throw new ServiceError('RUNTIME_UNAVAILABLE', { detail: imageMissingMessage(image) });
      }
      throw error;
    }

    const termination = terminationOf(run);
    const response: ExecuteResponse = {
      sandbox_id: sandboxId,
      agent_id: request.agent_id,
      language: request.language,
      runtime,
      image,
      exit_code: run.exitCode,
      termination_reason: termination,
      stdout: run.stdout.text,
      stderr: run.stderr.text,
      stdout_truncated: run.stdout.truncated,
      stderr_truncated: run.stderr.truncated,
      stdout_bytes: run.stdout.bytes,
      stderr_bytes: run.stderr.bytes,
      duration_ms: run.durationMs,
      limits: limitsOf(request),
      policy: { compliance_score: decision.compliance_score, reasons: decision.reasons },
      constitutional_hash: CONSTITUTIONAL_HASH,
    };
    deps.audit.record({
      event_type: 'sandbox_execution',
      agent_id: request.agent_id,
      severity: termination === 'exit' && run.exitCode === 0 ? 'info' : 'warning',
      data: {
        sandbox_id: sandboxId,
        termination_reason: termination,
        exit_code: run.exitCode,
        runtime,
        image,
        language: request.language,
        duration_ms: run.durationMs,
        limits: limitsOf(request),
        trust_level: request.trust_level ?? null,
        stdout_bytes: run.stdout.bytes,
        stderr_bytes: run.stderr.bytes,
        policy: { allow: true, compliance_score: decision.compliance_score },
        ...codeFacts(request.code),
      },
    });
    deps.onFinished?.({ runtime, termination_reason: termination, duration_ms: run.durationMs });
    return response;
  } finally {
    deps.slots.release(sandboxId);
  }
}
