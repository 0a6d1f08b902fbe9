import { z } from 'zod';

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
    agent_id: z.string().min(1).max(128),
    change_description: z.string().max(4000).optional(),
    new_version: z.string().max(64).optional(),
    requester_id: z.string().max(128).optional(),
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
          .object({ id: z.string().min(1).max(128), trust_level: z.number().min(0).max(1) })
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
