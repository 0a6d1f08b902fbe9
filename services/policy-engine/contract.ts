import { z } from 'zod';
import { Identifier } from '../kit/identifiers.js';

/**
 * The Policy Engine's wire contract, shared by its routes and its client.
 * The input keeps the upstream ACGS policy engine's shape so existing clients work;
 * `context.resources` is our extension. See policy-engine/POLICY.md for the rules.
 */
export const EvaluationType = z.enum([
  'constitutional_evaluation',
  'action_authorization',
  'evolution_approval',
  'data_access',
]);

const ActionName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_*]+)*$/, 'must be a dotted lower-case action name such as "data.read"');

export const EvolutionRequest = z
  .object({
    agent_id: Identifier,
    change_description: z.string().max(4000).optional(),
    new_version: z.string().max(64).optional(),
    requester_id: Identifier.optional(),
    priority: z.enum(['low', 'medium', 'high', 'critical']).optional(),
    privilege_escalation: z.boolean().optional(),
    external_dependencies: z.boolean().optional(),
    experimental_features: z.boolean().optional(),
    rollback_plan: z.string().max(4000).optional(),
  })
  .strict();

export const DataRequest = z
  .object({
    classification: z.enum(['public', 'internal', 'confidential', 'restricted']),
    purpose: z.string().min(1).max(128),
    consent: z.boolean().optional(),
    retention_days: z.number().int().min(0).max(36500).optional(),
    encrypted: z.boolean().optional(),
  })
  .strict();

export const PolicyInput = z
  .object({
    type: EvaluationType.default('constitutional_evaluation'),
    constitutional_hash: z.string().max(64),
    action: ActionName,
    context: z
      .object({
        agent: z
          .object({ id: Identifier, trust_level: z.number().min(0).max(1) })
          .strict()
          .optional(),
        environment: z
          .object({ sandbox_enabled: z.boolean().optional(), audit_enabled: z.boolean().optional() })
          .strict()
          .optional(),
        explanation: z.string().max(4000).optional(),
        resources: z
          .object({
            cpu: z.number().optional(),
            memory_mb: z.number().optional(),
            timeout_seconds: z.number().optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
    evolution_request: EvolutionRequest.optional(),
    data_request: DataRequest.optional(),
  })
  .strict();
export type PolicyInput = z.infer<typeof PolicyInput>;

export const Violation = z.object({ principle: z.string(), code: z.string(), message: z.string() });
export type Violation = z.infer<typeof Violation>;

export const Decision = z.object({
  allow: z.boolean(),
  compliance_score: z.number(),
  threshold: z.number(),
  reasons: z.array(z.string()),
  violations: z.array(Violation),
  safety_violation: z.boolean(),
  mode: z.object({ strict: z.boolean(), lockdown: z.boolean() }),
  constitutional_hash: z.string(),
  evolution: z
    .object({
      risk_score: z.number(),
      outcome: z.enum(['auto_approved', 'fast_track', 'human_review']),
      factors: z.array(z.string()),
    })
    .optional(),
  data_access: z.object({ classification: z.string(), requirements_met: z.boolean() }).optional(),
});
export type Decision = z.infer<typeof Decision>;

/** OPA Data API envelopes: `POST /v1/data/acgs/main/decision` with `{input}` -> `{result}`. */
export const DataApiRequest = z.object({ input: PolicyInput }).strict();
export const DecisionResponse = z.object({ result: Decision });
export const AllowResponse = z.object({ result: z.boolean() });

/** Runtime modes as the engine reports them (the same shape as `Decision.mode`). */
export const EngineModes = z.object({ strict: z.boolean(), lockdown: z.boolean() });
export type EngineModes = z.infer<typeof EngineModes>;

/** The engine's own part of `GET /health` (the kit adds status, service, version ...): what is wrong, and the modes. */
export const PolicyEngineHealth = z
  .object({
    problems: z.array(z.string()),
    modes: EngineModes,
  })
  .passthrough();
export type PolicyEngineHealth = z.infer<typeof PolicyEngineHealth>;

/** The policy's own health document: `GET /v1/data/acgs/main/health` -> `{result}`. */
export const PolicyHealthResponse = z.object({
  result: z.object({ status: z.string(), constitutional_hash: z.string() }).passthrough(),
});

/** Query strings of the engine's endpoints: none are accepted, so stray parameters are an error. */
export const NoQuery = z.object({}).strict();

/** Optional body of the mode endpoints, e.g. `{"reason": "incident 42"}`. */
export const ModeChangeRequest = z.object({ reason: z.string().min(1).max(500) }).strict();
export type ModeChangeRequest = z.infer<typeof ModeChangeRequest>;

export const ModeChangeResponse = z.object({
  modes: EngineModes,
  changed: z.boolean(),
  policy_version: z.string(),
});

export const ReloadPolicyResponse = z.object({
  status: z.enum(['reloaded', 'unchanged']),
  policy_version: z.string(),
  previous_version: z.string(),
});

export const CacheWarmResponse = z.object({
  warmed: z.number().int(),
  already_cached: z.number().int(),
  total: z.number().int(),
  policy_version: z.string(),
  modes: EngineModes,
});

export const CacheClearResponse = z.object({ l1_cleared: z.number().int(), l2_cleared: z.number().int() });

/**
 * `GET /v1/metrics`: the field names the runbook's scripts read (DESIGN.md section 3).
 * Latencies in milliseconds, rates as fractions between 0 and 1.
 */
export const PolicyMetrics = z.object({
  percentiles: z.object({ p50: z.number(), p95: z.number(), p99: z.number() }),
  p99_latency_ms: z.number(),
  latency_window_seconds: z.number(),
  cache_hit_rate: z.number(),
  l1_hit_rate: z.number(),
  l2_hit_rate: z.number(),
  request_count: z.number().int(),
  error_count: z.number().int(),
  rejected_count: z.number().int(),
  error_rate: z.number(),
  uptime_seconds: z.number(),
  targets_met: z.object({
    p99_under_1ms: z.boolean(),
    cache_hit_rate_over_95: z.boolean(),
    error_rate_under_0_1: z.boolean(),
    all: z.boolean(),
  }),
  safety_violations_total: z.number().int(),
  safety_violations_per_minute: z.number().int(),
  cache_stats: z.object({
    l1: z.object({ size: z.number().int(), max: z.number().int(), hits: z.number().int(), misses: z.number().int() }),
    l2: z.object({
      enabled: z.boolean(),
      hits: z.number().int(),
      misses: z.number().int(),
      errors: z.number().int(),
      /** L1 misses evaluated at once instead of waiting for Redis (POLICY_L2_LOOKUP_MIN_EVAL_MS). */
      bypassed: z.number().int(),
      /** Entries refused for a missing or wrong MAC (forged or copied in Redis), also counted as misses. */
      rejected: z.number().int(),
    }),
  }),
  mode: EngineModes,
  policy_version: z.string(),
  constitutional_hash: z.string(),
});
export type PolicyMetrics = z.infer<typeof PolicyMetrics>;
