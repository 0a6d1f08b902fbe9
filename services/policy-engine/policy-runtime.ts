import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type LoadedPolicy, loadPolicy } from '@open-policy-agent/opa-wasm';
import { CONSTITUTIONAL_HASH } from '../kit/constitution.js';
import { Decision, type EngineModes, type PolicyInput } from './contract.js';

export const ENTRYPOINTS = {
  decision: 'acgs/main/decision',
  allow: 'acgs/main/allow',
  health: 'acgs/main/health',
} as const;

/** The policy version: the first 12 hex digits of the sha256 of the wasm bytes. */
export function policyVersionOf(wasm: Uint8Array): string {
  return createHash('sha256').update(wasm).digest('hex').slice(0, 12);
}

/** A wasm that cannot serve as the constitution; the message says why. */
export class PolicyLoadError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(reason);
    this.name = 'PolicyLoadError';
  }
}

interface Loaded {
  policy: LoadedPolicy;
  version: string;
  loadedAt: Date;
}

export interface ReloadOutcome {
  status: 'reloaded' | 'unchanged';
  version: string;
  previousVersion: string;
}

// Evaluated once on every load: a wasm that cannot decide this correctly is refused.
const SMOKE_INPUT = {
  type: 'action_authorization',
  constitutional_hash: CONSTITUTIONAL_HASH,
  action: 'health.check',
  context: { agent: { id: 'policy-engine-self-check', trust_level: 1 } },
};

function runtimeData(modes: EngineModes) {
  return { runtime: { strict_mode: modes.strict, lockdown: modes.lockdown } };
}

function firstResult(resultSet: unknown, entrypoint: string): unknown {
  if (!Array.isArray(resultSet) || resultSet.length === 0) {
    throw new Error(`the policy gave no result for ${entrypoint}`);
  }
  return (resultSet[0] as { result?: unknown }).result;
}

async function instantiate(path: string, modes: EngineModes): Promise<Loaded> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new PolicyLoadError(path, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let policy: LoadedPolicy;
  try {
    policy = await loadPolicy(bytes);
  } catch (error) {
    throw new PolicyLoadError(path, `${path} is not a loadable OPA wasm module: ${(error as Error).message}`);
  }
  const present = Object.keys((policy.entrypoints ?? {}) as Record<string, number>);
  const missing = Object.values(ENTRYPOINTS).filter((name) => !present.includes(name));
  if (missing.length > 0) {
    throw new PolicyLoadError(path, `${path} lacks the entrypoint(s) ${missing.join(', ')}`);
  }
  try {
    policy.setData(runtimeData(modes));
    const smoke = Decision.safeParse(firstResult(policy.evaluate(SMOKE_INPUT, ENTRYPOINTS.decision), ENTRYPOINTS.decision));
    if (!smoke.success) throw new Error(`its decision does not match the contract: ${smoke.error.message}`);
  } catch (error) {
    throw new PolicyLoadError(path, `${path} failed its self-check: ${(error as Error).message}`);
  }
  return { policy, version: policyVersionOf(bytes), loadedAt: new Date() };
}

/**
 * The constitution, compiled to wasm and evaluated in-process. Reloading swaps the module
 * only after the new one has loaded and passed its self-check; otherwise the old one stays.
 */
export class PolicyRuntime {
  private current: Loaded;
  private modes: EngineModes;
  private reloading: Promise<ReloadOutcome> | undefined;
  private readonly reloadListeners: Array<(outcome: ReloadOutcome) => void> = [];
  lastReloadError: { at: string; message: string } | undefined;

  private constructor(
    readonly path: string,
    loaded: Loaded,
    modes: EngineModes,
  ) {
    this.current = loaded;
    this.modes = modes;
  }

  static async load(path: string, modes: EngineModes): Promise<PolicyRuntime> {
    return new PolicyRuntime(path, await instantiate(path, modes), modes);
  }

  get version(): string {
    return this.current.version;
  }

  get loadedAt(): Date {
    return this.current.loadedAt;
  }

  /** Evaluates the decision entrypoint; the result is checked against the contract. */
  decide(input: PolicyInput): Decision {
    const raw = firstResult(this.current.policy.evaluate(input, ENTRYPOINTS.decision), ENTRYPOINTS.decision);
    return Decision.parse(raw);
  }

  health(): unknown {
    return firstResult(this.current.policy.evaluate({}, ENTRYPOINTS.health), ENTRYPOINTS.health);
  }

  /** The modes the policy evaluates with (its runtime data). */
  get appliedModes(): EngineModes {
    return { ...this.modes };
  }

  applyModes(modes: EngineModes): void {
    this.modes = { ...modes };
    this.current.policy.setData(runtimeData(this.modes));
  }

  /** Calls `listener` after each reload that changed the policy version. */
  onReload(listener: (outcome: ReloadOutcome) => void): void {
    this.reloadListeners.push(listener);
  }

  /** Loads the wasm again; concurrent calls share one attempt. Throws PolicyLoadError on failure. */
  reload(): Promise<ReloadOutcome> {
    this.reloading ??= this.reloadOnce().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  private async reloadOnce(): Promise<ReloadOutcome> {
    const previousVersion = this.current.version;
    try {
      const next = await instantiate(this.path, this.modes);
      this.lastReloadError = undefined;
      if (next.version === previousVersion) return { status: 'unchanged', version: previousVersion, previousVersion };
      // Modes may have changed while the new module was loading.
      next.policy.setData(runtimeData(this.modes));
      this.current = next;
      const outcome: ReloadOutcome = { status: 'reloaded', version: next.version, previousVersion };
      for (const listener of this.reloadListeners) listener(outcome);
      return outcome;
    } catch (error) {
      this.lastReloadError = { at: new Date().toISOString(), message: (error as Error).message };
      throw error;
    }
  }
}
