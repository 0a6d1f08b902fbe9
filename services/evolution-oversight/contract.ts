import { z } from 'zod';
import { Identifier } from '../kit/identifiers.js';
import { Violation } from '../policy-engine/contract.js';

/**
 * The Evolution Oversight wire contract, shared by its routes and its client
 * (services/clients/evolution-oversight.ts). Every request schema is strict: an unknown
 * field is a 400, never silently dropped.
 */

export { Identifier };

export const Version = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, 'must look like a version such as "1.4.0" or "2.0.0-rc.1"');

const Text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);

export const Priority = z.enum(['low', 'medium', 'high', 'critical']);
export type Priority = z.infer<typeof Priority>;

/** The outcomes of the Policy Engine's risk assessment, which are also initial statuses. */
export const PolicyOutcome = z.enum(['auto_approved', 'fast_track', 'human_review']);
export type PolicyOutcome = z.infer<typeof PolicyOutcome>;

export const EvolutionStatus = z.enum(['auto_approved', 'fast_track', 'human_review', 'approved', 'rejected', 'rolled_back']);
export type EvolutionStatus = z.infer<typeof EvolutionStatus>;

export const TransitionName = z.enum(['created', 'approved', 'rejected', 'rolled_back']);
export type TransitionName = z.infer<typeof TransitionName>;

export const ProposeEvolutionRequest = z
  .object({
    agent_id: Identifier,
    /**
     * The agent's trust level (0..1). The constitution's safety principle judges every request,
     * evolutions included, by it (at least 0.8), so a proposal has to state it.
     */
    trust_level: z.number().min(0).max(1),
    change_description: Text(4000),
    new_version: Version,
    requester_id: Identifier,
    priority: Priority.default('medium'),
    privilege_escalation: z.boolean().default(false),
    external_dependencies: z.boolean().default(false),
    experimental_features: z.boolean().default(false),
    rollback_plan: Text(4000).optional(),
    /** Optional: when given it must be the constitution this service serves (else 400 HASH_MISMATCH). */
    constitutional_hash: z.string().max(64).optional(),
  })
  .strict();
export type ProposeEvolutionRequest = z.infer<typeof ProposeEvolutionRequest>;
export type ProposeEvolutionInput = z.input<typeof ProposeEvolutionRequest>;

export const ReviewRequest = z.object({ reviewer_id: Identifier, justification: Text(2000) }).strict();
export type ReviewRequest = z.infer<typeof ReviewRequest>;

export const RollbackRequest = z.object({ requested_by: Identifier, reason: Text(2000) }).strict();
export type RollbackRequest = z.infer<typeof RollbackRequest>;

/** A proposal's id as the routes take it; the bot checks ids with it before they reach a query or a URL. */
export const EvolutionId = z.uuid('must be an evolution id (a UUID)');
export const isEvolutionId = (value: string): boolean => EvolutionId.safeParse(value).success;

export const EvolutionIdParams = z.object({ id: EvolutionId }).strict();

export const MAX_LIST_LIMIT = 500;
export const DEFAULT_LIST_LIMIT = 50;

const LIMIT_MESSAGE = `must be a whole number from 1 to ${MAX_LIST_LIMIT}`;

export const ListEvolutionsQuery = z
  .object({
    status: EvolutionStatus.optional(),
    agent_id: Identifier.optional(),
    limit: z.coerce
      .number({ error: LIMIT_MESSAGE })
      .int(LIMIT_MESSAGE)
      .min(1, LIMIT_MESSAGE)
      .max(MAX_LIST_LIMIT, LIMIT_MESSAGE)
      .default(DEFAULT_LIST_LIMIT),
  })
  .strict();
export type ListEvolutionsQuery = z.input<typeof ListEvolutionsQuery>;

/** What the Policy Engine said about the proposal, kept with it. */
export const PolicyAssessment = z.object({
  allow: z.boolean(),
  compliance_score: z.number(),
  reasons: z.array(z.string()),
  violations: z.array(Violation),
  outcome: PolicyOutcome.nullable(),
  risk_score: z.number().nullable(),
  risk_factors: z.array(z.string()),
});
export type PolicyAssessment = z.infer<typeof PolicyAssessment>;

export const Review = z.object({
  decision: z.enum(['approved', 'rejected']),
  reviewer_id: z.string(),
  justification: z.string(),
  reviewed_at: z.string(),
});

export const Rollback = z.object({ requested_by: z.string(), reason: z.string(), rolled_back_at: z.string() });

export const Transition = z.object({
  id: z.string(),
  transition: TransitionName,
  from_status: EvolutionStatus.nullable(),
  to_status: EvolutionStatus,
  actor_id: z.string(),
  justification: z.string().nullable(),
  occurred_at: z.string(),
});
export type Transition = z.infer<typeof Transition>;

export const Evolution = z.object({
  id: z.string(),
  agent_id: z.string(),
  trust_level: z.number(),
  change_description: z.string(),
  new_version: z.string(),
  requester_id: z.string(),
  priority: Priority,
  privilege_escalation: z.boolean(),
  external_dependencies: z.boolean(),
  experimental_features: z.boolean(),
  rollback_plan: z.string().nullable(),
  status: EvolutionStatus,
  policy: PolicyAssessment,
  review: Review.nullable(),
  rollback: Rollback.nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  constitutional_hash: z.string(),
});
export type Evolution = z.infer<typeof Evolution>;

export const EvolutionWithHistory = Evolution.extend({ transitions: z.array(Transition) });
export type EvolutionWithHistory = z.infer<typeof EvolutionWithHistory>;

export const EvolutionList = z.object({
  evolutions: z.array(Evolution),
  count: z.number().int(),
  limit: z.number().int(),
  constitutional_hash: z.string(),
});
export type EvolutionList = z.infer<typeof EvolutionList>;

/** `GET /health` of this service: the kit's common fields plus these. */
export const EvolutionHealth = z
  .object({
    status: z.enum(['healthy', 'degraded', 'unhealthy']),
    pending_reviews: z.number().int().nullable(),
    database: z.object({ reachable: z.boolean(), error: z.string().optional() }),
    policy_engine: z.object({ reachable: z.boolean(), url: z.string(), error: z.string().optional() }),
    audit_outbox: z.object({ pending: z.number().int(), rejected: z.number().int() }),
  })
  .passthrough();
export type EvolutionHealth = z.infer<typeof EvolutionHealth>;
