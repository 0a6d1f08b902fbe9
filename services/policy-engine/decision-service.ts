import type { AuditEventInput } from '../audit-engine/contract.js';
import type { AuditOutbox } from '../kit/audit-outbox.js';
import type { Decision, PolicyInput } from './contract.js';
import { type CachedDecision, type DecisionCache, cachedDecision, decisionCacheKey } from './decision-cache.js';
import type { DecisionSource, EngineStats } from './engine-stats.js';
import type { PolicyRuntime } from './policy-runtime.js';

export interface ServedDecision {
  entry: CachedDecision;
  source: DecisionSource;
}

export interface DecisionServiceDeps {
  policy: PolicyRuntime;
  cache: DecisionCache;
  stats: EngineStats;
  audit: AuditOutbox;
  /** See PolicyEngineConfig.l2LookupMinEvalMs. */
  l2LookupMinEvalMs: number;
}

// Weight of the newest evaluation in the moving average: low, so that one evaluation stretched
// by a GC pause or a busy CPU does not switch the L2 lookups on.
const EVALUATION_COST_WEIGHT = 0.05;

/** The audit record of a decision denied for safety reasons. */
export function safetyViolationEvent(input: PolicyInput, decision: Decision, policyVersion: string): AuditEventInput {
  const agentId = input.context.agent?.id ?? input.evolution_request?.agent_id;
  return {
    event_type: 'safety_violation',
    severity: 'critical',
    ...(agentId ? { agent_id: agentId } : {}),
    data: {
      action: input.action,
      agent_id: agentId ?? null,
      input_type: input.type,
      violations: decision.violations,
      reasons: decision.reasons,
      mode: decision.mode,
      policy_version: policyVersion,
    },
  };
}

/**
 * Cache-first evaluation of the constitution. A decision is always stored under the key of
 * the policy version and modes it was evaluated with: when either changes while Redis is
 * being asked, the stale answer is dropped and the policy decides afresh.
 *
 * On an L1 miss, Redis is asked first only when evaluating is dearer than waiting for it:
 * awaiting a reply gives up the event loop, and under load the answer comes back behind every
 * other request queued meanwhile (milliseconds), while this constitution evaluates in about
 * 0.1 ms without yielding. Decisions are deterministic, so an evaluation is as good as a hit.
 */
export class DecisionService {
  /** Moving average of the CPU time of the policy's evaluations in ms; undefined until the first. */
  private evaluationMs: number | undefined;

  constructor(private readonly deps: DecisionServiceDeps) {}

  /** The moving average of the CPU time of an evaluation, in ms (undefined before the first). */
  get averageEvaluationMs(): number | undefined {
    return this.evaluationMs;
  }

  // CPU time, not wall-clock time: on a busy machine a preempted evaluation looks slow, and
  // turning to Redis then would only add the wait for a starved Redis to the wait for the CPU.
  private timedDecide(input: PolicyInput): Decision {
    const started = process.cpuUsage();
    const decision = this.deps.policy.decide(input);
    const used = process.cpuUsage(started);
    const ms = (used.user + used.system) / 1000;
    this.evaluationMs = this.evaluationMs === undefined ? ms : this.evaluationMs + EVALUATION_COST_WEIGHT * (ms - this.evaluationMs);
    return decision;
  }

  private askL2First(): boolean {
    const threshold = this.deps.l2LookupMinEvalMs;
    return threshold === 0 || (this.evaluationMs !== undefined && this.evaluationMs >= threshold);
  }

  // The policy's own modes, not the mode store's: a decision is keyed by what it was evaluated with.
  private currentKey(input: PolicyInput): string {
    return decisionCacheKey(input, this.deps.policy.version, this.deps.policy.appliedModes);
  }

  private evaluate(input: PolicyInput, key: string): CachedDecision {
    const entry = cachedDecision(this.timedDecide(input));
    void this.deps.cache.store(key, entry);
    return entry;
  }

  async decide(input: PolicyInput): Promise<ServedDecision> {
    const key = this.currentKey(input);
    const l1 = this.deps.cache.lookupL1(key);
    if (l1) return { entry: l1, source: 'l1' };
    if (!this.deps.cache.l2Enabled) return { entry: this.evaluate(input, key), source: 'policy' };
    if (!this.askL2First()) {
      this.deps.cache.noteL2Bypassed();
      return { entry: this.evaluate(input, key), source: 'policy' };
    }
    const l2 = await this.deps.cache.lookupL2(key);
    const keyNow = this.currentKey(input);
    if (l2 && keyNow === key) return { entry: l2, source: 'l2' };
    return { entry: this.evaluate(input, keyNow), source: 'policy' };
  }

  /** Counts a served decision; safety violations also go to the audit outbox (spooled, delivered later). */
  observe(input: PolicyInput, served: ServedDecision): void {
    const decision = served.entry.decision;
    this.deps.stats.recordDecision(decision, served.source);
    if (decision.safety_violation) {
      this.deps.audit.record(safetyViolationEvent(input, decision, this.deps.policy.version));
    }
  }

  /** Evaluates and stores each input (L1 and L2) without counting it as traffic. */
  async warm(inputs: readonly PolicyInput[]): Promise<{ warmed: number; alreadyCached: number }> {
    let warmed = 0;
    let alreadyCached = 0;
    const writes: Array<Promise<void>> = [];
    for (const input of inputs) {
      const key = this.currentKey(input);
      if (this.deps.cache.hasL1(key)) {
        alreadyCached += 1;
        continue;
      }
      const entry = cachedDecision(this.timedDecide(input));
      writes.push(this.deps.cache.store(key, entry));
      warmed += 1;
    }
    await Promise.all(writes);
    return { warmed, alreadyCached };
  }
}
