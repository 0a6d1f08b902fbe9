import { HealthBody } from '../kit/service.js';
import { callService } from './http.js';
import {
  type ExecuteRequest,
  ExecuteResponse,
  ResourceUsageResponse,
  SANDBOX_LIMITS,
  SandboxHealth,
} from '../sandbox-controller/contract.js';

export type { ExecuteRequest, ExecuteResponse, ResourceUsageResponse } from '../sandbox-controller/contract.js';
export { PolicyDeniedDetails } from '../sandbox-controller/contract.js';

/** Time on top of the code's own timeout: policy decision, container creation and teardown. */
const EXECUTION_OVERHEAD_MS = 60_000;

/**
 * Typed client of the Sandbox Controller. Refusals arrive as ServiceCallError with the service's
 * code: POLICY_DENIED (details: PolicyDeniedDetails), CAPACITY_EXCEEDED, RUNTIME_UNAVAILABLE,
 * DEPENDENCY_UNAVAILABLE, INVALID_REQUEST.
 */
export function sandboxControllerClient(baseUrl: string, options: { timeoutMs?: number } = {}) {
  const timeoutMs = options.timeoutMs ?? 5000;
  return {
    execute(request: ExecuteRequest): Promise<ExecuteResponse> {
      const codeTimeoutMs = (request.timeout_seconds ?? SANDBOX_LIMITS.timeout_seconds.default) * 1000;
      return callService(baseUrl, '/sandbox/execute', {
        method: 'POST',
        body: request,
        schema: ExecuteResponse,
        timeoutMs: codeTimeoutMs + EXECUTION_OVERHEAD_MS,
      });
    },
    resourceUsage(query: { agent_id?: string } = {}): Promise<ResourceUsageResponse> {
      // Stats sampling takes about a second per container, in parallel.
      return callService(baseUrl, '/admin/resource-usage', { query, schema: ResourceUsageResponse, timeoutMs: Math.max(timeoutMs, 30_000) });
    },
    health() {
      return callService(baseUrl, '/health', { schema: HealthBody.and(SandboxHealth), timeoutMs: Math.max(timeoutMs, 30_000) });
    },
  };
}

export type SandboxControllerClient = ReturnType<typeof sandboxControllerClient>;
