import { HealthBody } from '../kit/health-body.js';
import {
  Evolution,
  EvolutionHealth,
  EvolutionList,
  EvolutionWithHistory,
  type EvolutionStatus,
  type ProposeEvolutionInput,
  type ReviewRequest,
  type RollbackRequest,
} from '../evolution-oversight/contract.js';
import { callService, serviceAuthorization } from './http.js';

export interface EvolutionFilter {
  status?: EvolutionStatus;
  agent_id?: string;
  /** 1..500, default 50; newest first. */
  limit?: number;
}

export const DEFAULT_EVOLUTION_OVERSIGHT_URL = 'http://127.0.0.1:8002';

const Health = HealthBody.and(EvolutionHealth);

export interface EvolutionOversightClientOptions {
  /**
   * ACGS_SERVICE_TOKEN, needed for proposals and reviews (the reads are open). The service takes
   * the `reviewer_id` and `requested_by` this client sends on the token's word: whoever holds it
   * vouches for who is reviewing, so only callers that checked the person hold it (the bot).
   */
  serviceToken?: string | undefined;
}

/**
 * Typed client of the Evolution Oversight service; answers are validated with the server's own
 * schemas and failures are `ServiceCallError`s carrying the service's error code.
 */
export function createEvolutionOversightClient(
  baseUrl: string = DEFAULT_EVOLUTION_OVERSIGHT_URL,
  timeoutMs = 10_000,
  options: EvolutionOversightClientOptions = {},
) {
  const path = (id: string, action?: string) => `/evolutions/${encodeURIComponent(id)}${action ? `/${action}` : ''}`;
  const headers = serviceAuthorization(options.serviceToken);
  return {
    propose: (proposal: ProposeEvolutionInput) =>
      callService(baseUrl, '/evolutions', { method: 'POST', body: proposal, headers, schema: Evolution, timeoutMs }),
    get: (id: string) => callService(baseUrl, path(id), { schema: EvolutionWithHistory, timeoutMs }),
    list: (filter: EvolutionFilter = {}) =>
      callService(baseUrl, '/evolutions', {
        query: { status: filter.status, agent_id: filter.agent_id, limit: filter.limit },
        schema: EvolutionList,
        timeoutMs,
      }),
    approve: (id: string, review: ReviewRequest) =>
      callService(baseUrl, path(id, 'approve'), { method: 'POST', headers, body: review, schema: Evolution, timeoutMs }),
    reject: (id: string, review: ReviewRequest) =>
      callService(baseUrl, path(id, 'reject'), { method: 'POST', headers, body: review, schema: Evolution, timeoutMs }),
    rollback: (id: string, request: RollbackRequest) =>
      callService(baseUrl, path(id, 'rollback'), { method: 'POST', headers, body: request, schema: Evolution, timeoutMs }),
    /** Health answers 503 when unhealthy, which surfaces as a ServiceCallError with status 503. */
    health: () => callService(baseUrl, '/health', { schema: Health, timeoutMs }),
  };
}

export type EvolutionOversightClient = ReturnType<typeof createEvolutionOversightClient>;
