import type { z } from 'zod';
import { HealthBody } from '../kit/health-body.js';
import {
  AllowResponse,
  CacheClearResponse,
  CacheWarmResponse,
  DecisionResponse,
  ModeChangeResponse,
  PolicyHealthResponse,
  type PolicyInput,
  PolicyMetrics,
  ReloadPolicyResponse,
} from '../policy-engine/contract.js';
import { callService } from './http.js';

export interface PolicyEngineClientOptions {
  baseUrl: string;
  /** ACGS_ADMIN_TOKEN, needed only for the admin calls. */
  adminToken?: string;
  /** Recorded as the actor of mode changes (`X-Actor`). */
  actor?: string;
  timeoutMs?: number;
}

/** What callers send: the contract's input before its defaults are applied. */
export type PolicyInputInit = z.input<typeof PolicyInput>;

export type ModeAction = 'enable-strict-mode' | 'disable-strict-mode' | 'emergency-lockdown' | 'lift-lockdown';

/** Typed client of the Policy Engine (port 8004), validated with the server's own schemas. */
export function createPolicyEngineClient(options: PolicyEngineClientOptions) {
  const base = options.baseUrl;
  const timeoutMs = options.timeoutMs;
  const common = timeoutMs === undefined ? {} : { timeoutMs };
  const admin = (): Record<string, string> => ({
    ...(options.adminToken ? { authorization: `Bearer ${options.adminToken}` } : {}),
    ...(options.actor ? { 'x-actor': options.actor } : {}),
  });

  return {
    /** Whether the admin calls can succeed at all: commands refuse before asking approvers when not. */
    hasAdminToken: Boolean(options.adminToken),
    async decide(input: PolicyInputInit) {
      const response = await callService(base, '/v1/data/acgs/main/decision', { ...common, body: { input }, schema: DecisionResponse });
      return response.result;
    },
    async allow(input: PolicyInputInit): Promise<boolean> {
      const response = await callService(base, '/v1/data/acgs/main/allow', { ...common, body: { input }, schema: AllowResponse });
      return response.result;
    },
    async policyHealth() {
      return (await callService(base, '/v1/data/acgs/main/health', { ...common, schema: PolicyHealthResponse })).result;
    },
    health() {
      return callService(base, '/health', { ...common, schema: HealthBody });
    },
    metrics() {
      return callService(base, '/v1/metrics', { ...common, schema: PolicyMetrics });
    },
    warmCache() {
      return callService(base, '/v1/cache/warm', { ...common, method: 'POST', schema: CacheWarmResponse });
    },
    clearCache() {
      return callService(base, '/admin/clear-cache', { ...common, method: 'POST', headers: admin(), schema: CacheClearResponse });
    },
    reloadPolicy() {
      return callService(base, '/admin/reload-policy', { ...common, method: 'POST', headers: admin(), schema: ReloadPolicyResponse });
    },
    setMode(action: ModeAction, reason?: string) {
      return callService(base, `/admin/${action}`, {
        ...common,
        method: 'POST',
        headers: admin(),
        ...(reason ? { body: { reason } } : {}),
        schema: ModeChangeResponse,
      });
    },
  };
}

export type PolicyEngineClient = ReturnType<typeof createPolicyEngineClient>;
