import { z } from 'zod';
import { Identifier } from '../kit/identifiers.js';

/**
 * The Sandbox Controller's wire contract, shared by its routes and its typed client.
 * Limits are part of the contract: a request above them is a 400, never a silent clamp.
 */
export const SANDBOX_LIMITS = {
  timeout_seconds: { default: 30, max: 600 },
  memory_limit_mb: { default: 256, min: 16, max: 2048 },
  cpu_limit: { default: 1, min: 0.1, max: 2 },
  /** Bytes of UTF-8; the code travels as one argv entry, and Linux caps those at 128 KiB. */
  code_bytes: 64 * 1024,
} as const;

export const Language = z.enum(['sh', 'node']);
export type Language = z.infer<typeof Language>;

export const Runtime = z.enum(['runsc', 'runc']);
export type Runtime = z.infer<typeof Runtime>;

export const TerminationReason = z.enum(['exit', 'timeout', 'oom', 'policy_denied']);
export type TerminationReason = z.infer<typeof TerminationReason>;

/** Agent ids become container labels and audit fields: the shared conservative alphabet keeps them inert. */
export const AgentId = Identifier;

const Code = z
  .string()
  .min(1, 'must not be empty')
  .refine((code) => code.trim().length > 0, 'must contain something other than whitespace')
  .refine((code) => !code.includes('\0'), 'must not contain NUL characters')
  .refine(
    (code) => Buffer.byteLength(code, 'utf8') <= SANDBOX_LIMITS.code_bytes,
    `must be at most ${SANDBOX_LIMITS.code_bytes} bytes of UTF-8`,
  );

export const ExecuteRequest = z
  .object({
    agent_id: AgentId,
    code: Code,
    language: Language.default('sh'),
    timeout_seconds: z.number().int().min(1).max(SANDBOX_LIMITS.timeout_seconds.max).default(SANDBOX_LIMITS.timeout_seconds.default),
    memory_limit_mb: z
      .number()
      .int()
      .min(SANDBOX_LIMITS.memory_limit_mb.min)
      .max(SANDBOX_LIMITS.memory_limit_mb.max)
      .default(SANDBOX_LIMITS.memory_limit_mb.default),
    cpu_limit: z.number().min(SANDBOX_LIMITS.cpu_limit.min).max(SANDBOX_LIMITS.cpu_limit.max).default(SANDBOX_LIMITS.cpu_limit.default),
    /** As the Policy Engine reads it; an agent that states none is treated as untrusted (0). */
    trust_level: z.number().min(0).max(1).optional(),
    /** Passed to the Policy Engine, which wants one for high-impact actions. */
    explanation: z.string().min(1).max(4000).optional(),
  })
  .strict();
export type ExecuteRequest = z.input<typeof ExecuteRequest>;
export type ExecuteOptions = z.output<typeof ExecuteRequest>;

export const ExecuteResponse = z
  .object({
    sandbox_id: z.string(),
    agent_id: z.string(),
    language: Language,
    runtime: Runtime,
    image: z.string(),
    exit_code: z.number().int().nullable(),
    termination_reason: TerminationReason.exclude(['policy_denied']),
    stdout: z.string(),
    stderr: z.string(),
    stdout_truncated: z.boolean(),
    stderr_truncated: z.boolean(),
    /** Bytes the code wrote, including what the cap cut off. */
    stdout_bytes: z.number().int(),
    stderr_bytes: z.number().int(),
    duration_ms: z.number().int(),
    limits: z.object({ timeout_seconds: z.number(), memory_limit_mb: z.number(), cpu_limit: z.number() }),
    policy: z.object({ compliance_score: z.number(), reasons: z.array(z.string()) }),
    constitutional_hash: z.string(),
  })
  .strict();
export type ExecuteResponse = z.infer<typeof ExecuteResponse>;

/** `error.details` of a 403 POLICY_DENIED answer. */
export const PolicyDeniedDetails = z
  .object({
    termination_reason: z.literal('policy_denied'),
    reasons: z.array(z.string()),
    violations: z.array(z.object({ principle: z.string(), code: z.string(), message: z.string() })),
    compliance_score: z.number(),
  })
  .strict();
export type PolicyDeniedDetails = z.infer<typeof PolicyDeniedDetails>;

export const ResourceUsageQuery = z.object({ agent_id: AgentId.optional() }).strict();

const SandboxUsage = z.object({
  sandbox_id: z.string(),
  container_id: z.string(),
  agent_id: z.string(),
  runtime: z.string(),
  /** Whether this controller instance started it (others may share the engine). */
  own: z.boolean(),
  started_at: z.string(),
  age_seconds: z.number(),
  limits: z.object({ timeout_seconds: z.number(), memory_limit_mb: z.number(), cpu_limit: z.number() }),
  /** Null when the engine could not report stats for it (e.g. it exited meanwhile). */
  usage: z
    .object({ cpu_percent: z.number(), memory_bytes: z.number(), memory_limit_bytes: z.number(), pids: z.number() })
    .nullable(),
});

export const ResourceUsageResponse = z.object({
  sandboxes: z.array(SandboxUsage),
  totals: z.object({
    active: z.number().int(),
    active_own: z.number().int(),
    cpu_percent: z.number(),
    memory_bytes: z.number(),
    memory_limit_bytes: z.number(),
    /** Exited sandbox and probe containers still on the engine (what `POST /admin/prune-sandboxes` looks at); absent from older controllers. */
    exited: z.number().int().optional(),
  }),
  limits: z.object({
    max_concurrent: z.number().int(),
    timeout_seconds: z.number(),
    memory_limit_mb: z.number(),
    cpu_limit: z.number(),
    output_bytes: z.number().int(),
  }),
  runtime: z.object({ default: Runtime.nullable(), available: z.array(Runtime) }),
  constitutional_hash: z.string(),
});
export type ResourceUsageResponse = z.infer<typeof ResourceUsageResponse>;

/** `POST /admin/prune-sandboxes[?agent_id=]`: only that agent's sandboxes (runtime probes belong to no agent). */
export const PruneSandboxesQuery = z.object({ agent_id: AgentId.optional() }).strict();

const PrunedSandbox = z.object({
  container_id: z.string(),
  name: z.string(),
  sandbox_id: z.string(),
  agent_id: z.string(),
  runtime: z.string(),
  /** Started by this controller instance (others may share the engine). */
  own: z.boolean(),
  /** A controller's runtime probe rather than an agent's code. */
  probe: z.boolean(),
  exit_code: z.number().int().nullable(),
  finished_at: z.string().nullable(),
});

export const PruneSandboxesResponse = z.object({
  removed: z.array(PrunedSandbox),
  /** Exited sandboxes the engine would not remove; `reason` is its answer. */
  failed: z.array(PrunedSandbox.extend({ reason: z.string() })),
  /** Exited sandboxes deliberately left (still being read by the execution that ran them). */
  kept: z.array(PrunedSandbox.extend({ reason: z.string() })),
  /** Sandbox containers that have not exited, counted by state; prune never touches them. */
  left_alone: z.record(z.string(), z.number().int()),
  grace_seconds: z.number().int(),
  constitutional_hash: z.string(),
});
export type PruneSandboxesResponse = z.infer<typeof PruneSandboxesResponse>;

/** The service's own part of `GET /health` (the kit adds status, service, version ...). */
export const SandboxHealth = z
  .object({
    status: z.enum(['healthy', 'degraded', 'unhealthy']),
    reason: z.string().optional(),
    runtimes_available: z.array(Runtime),
    default_runtime: Runtime.nullable(),
    active_sandboxes: z.number().int(),
    max_concurrent: z.number().int(),
    image: z.object({ name: z.string(), present: z.boolean() }),
    engine: z.object({ reachable: z.boolean(), host: z.string(), version: z.string().optional() }),
    gvisor: z.object({ registered: z.boolean(), working: z.boolean(), reason: z.string().optional() }),
    constitutional_hash: z.string(),
  })
  .passthrough();
export type SandboxHealth = z.infer<typeof SandboxHealth>;
