import { HealthBody } from '../kit/health-body.js';
import { ServiceCallError, callService, serviceAuthorization } from './http.js';
import {
  type ExecuteRequest,
  ExecuteResponse,
  PolicyDeniedDetails,
  PruneSandboxesResponse,
  ResourceUsageResponse,
  SANDBOX_LIMITS,
  SandboxHealth,
} from '../sandbox-controller/contract.js';

export type { ExecuteRequest, ExecuteResponse, PruneSandboxesResponse, ResourceUsageResponse } from '../sandbox-controller/contract.js';
export { PolicyDeniedDetails } from '../sandbox-controller/contract.js';

/** Time on top of the code's own timeout: policy decision, container creation and teardown. */
const EXECUTION_OVERHEAD_MS = 60_000;

/**
 * A 403 POLICY_DENIED from `execute`: nothing ran. Carries `termination_reason: "policy_denied"`
 * beside the other outcomes' reasons, and the Policy Engine's reasons and violations, validated.
 */
export class SandboxPolicyDeniedError extends ServiceCallError {
  readonly termination_reason = 'policy_denied' as const;
  declare readonly details: PolicyDeniedDetails;

  constructor(message: string, details: PolicyDeniedDetails) {
    super(message, 403, 'POLICY_DENIED', details);
    this.name = 'SandboxPolicyDeniedError';
  }
}

/** Turns the service's 403 body into SandboxPolicyDeniedError; other errors pass unchanged. */
function asPolicyDenial(error: unknown): unknown {
  if (!(error instanceof ServiceCallError) || error.code !== 'POLICY_DENIED') return error;
  const details = PolicyDeniedDetails.safeParse(error.details);
  if (!details.success) {
    return new ServiceCallError(`POLICY_DENIED answered with unexpected details: ${details.error.message}`, error.status, 'CONTRACT');
  }
  return new SandboxPolicyDeniedError(error.message, details.data);
}

export interface SandboxControllerClientOptions {
  timeoutMs?: number;
  /** ACGS_ADMIN_TOKEN, needed only for `resourceUsage` and `pruneSandboxes` (the /admin endpoints). */
  adminToken?: string | undefined;
  /** ACGS_SERVICE_TOKEN, needed for `execute`. */
  serviceToken?: string | undefined;
}

/**
 * Typed client of the Sandbox Controller. Refusals arrive as ServiceCallError with the service's
 * code: POLICY_DENIED as SandboxPolicyDeniedError (termination_reason, details), CAPACITY_EXCEEDED,
 * RUNTIME_UNAVAILABLE, DEPENDENCY_UNAVAILABLE, INVALID_REQUEST, UNAUTHORIZED (admin token), SERVICE_UNAUTHORIZED
 * (service token).
 */
export function sandboxControllerClient(baseUrl: string, options: SandboxControllerClientOptions = {}) {
  const timeoutMs = options.timeoutMs ?? 5000;
  const admin = (): Record<string, string> => (options.adminToken ? { authorization: `Bearer ${options.adminToken}` } : {});
  return {
    async execute(request: ExecuteRequest): Promise<ExecuteResponse> {
      const codeTimeoutMs = (request.timeout_seconds ?? SANDBOX_LIMITS.timeout_seconds.default) * 1000;
      try {
        return await callService(baseUrl, '/sandbox/execute', {
          method: 'POST',
          body: request,
          headers: serviceAuthorization(options.serviceToken),
          schema: ExecuteResponse,
          timeoutMs: codeTimeoutMs + EXECUTION_OVERHEAD_MS,
        });
      } catch (error) {
        throw asPolicyDenial(error);
      }
    },
    resourceUsage(query: { agent_id?: string } = {}): Promise<ResourceUsageResponse> {
      // Stats sampling takes about a second per container, in parallel.
      return callService(baseUrl, '/admin/resource-usage', {
        query,
        headers: admin(),
        schema: ResourceUsageResponse,
        timeoutMs: Math.max(timeoutMs, 30_000),
      });
    },
    /**
     * Removes the controller's exited sandbox containers (never running ones, never other
     * containers); `agent_id` narrows it to one agent's. Lists what was removed, what the engine
     * refused (`failed`) and what was kept because its execution may still be reading it.
     */
    pruneSandboxes(query: { agent_id?: string } = {}): Promise<PruneSandboxesResponse> {
      // One inspect and one removal per exited container, one after another.
      return callService(baseUrl, '/admin/prune-sandboxes', {
        method: 'POST',
        query,
        headers: admin(),
        schema: PruneSandboxesResponse,
        timeoutMs: Math.max(timeoutMs, 60_000),
      });
    },
    health() {
      return callService(baseUrl, '/health', { schema: HealthBody.and(SandboxHealth), timeoutMs: Math.max(timeoutMs, 30_000) });
    },
  };
}

export type SandboxControllerClient = ReturnType<typeof sandboxControllerClient>;
