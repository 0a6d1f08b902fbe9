/**
 * The bot's authorization policy (acgs.chatops), compiled to wasm and evaluated in-process.
 * The data document is set once at load, so a decision serialises only its input. decide() is
 * synchronous and never throws: when the policy cannot load or evaluate, it answers with the
 * fallback decision (fail closed): escalated commands are refused with the reason, read-only
 * commands are still allowed, because seeing the stack's state is what an incident needs most.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type LoadedPolicy, loadPolicy } from '@open-policy-agent/opa-wasm';
import { AuthorizationData, describeIssues } from './data.js';
import { DECISION_CODES, type AuthorizationDecision, type AuthorizationInput, type AuthorizationLevel, type DecisionCode } from './input.js';
import { AUTHORIZATION_BUILTINS } from './rfc3339.js';

export const AUTHORIZATION_ENTRYPOINT = 'acgs/chatops/decision';
export const AUTHORIZATION_WASM_PATH = new URL('./policy.wasm', import.meta.url);

export type AuthorizerStatus = { ok: true; version: string } | { ok: false; problem: string };

export interface AuthorizerOptions {
  /** The validated rules (authorizationDataFor); anything else puts the authorizer in fallback. */
  data: unknown;
  /** Defaults to the committed bot/authorization/policy.wasm. */
  wasmPath?: string | URL;
  /** Told once per distinct problem while the policy fails to evaluate (for the log). */
  onProblem?: (problem: string) => void;
}

// Evaluated at load: a module that cannot give a well-formed decision for it is not used.
const SELF_CHECK_INPUT: AuthorizationInput = {
  user: { id: 'U0AUTHZSELFCHECK', roles: [] },
  command: { name: 'help', args: {}, level: 0 },
  modes: { strict: false, lockdown: false },
  time: 0,
};

const CODES = new Set<string>(DECISION_CODES);

export class Authorizer {
  private lastProblem: string | undefined;

  private constructor(
    private readonly policy: LoadedPolicy | undefined,
    private readonly entrypoint: number,
    private readonly data: AuthorizationData | undefined,
    readonly status: AuthorizerStatus,
    private readonly onProblem: ((problem: string) => void) | undefined,
  ) {}

  /** Never throws: a policy that cannot serve gives an authorizer that answers with the fallback. */
  static async load(options: AuthorizerOptions): Promise<Authorizer> {
    const parsed = AuthorizationData.safeParse(options.data);
    const data = parsed.success ? parsed.data : undefined;
    const fallback = (problem: string) => {
      options.onProblem?.(problem);
      return new Authorizer(undefined, -1, data, { ok: false, problem }, options.onProblem);
    };
    if (!parsed.success) return fallback(`its rules are invalid (${describeIssues(parsed.error.issues, 'authorization')})`);

    const path = options.wasmPath ?? AUTHORIZATION_WASM_PATH;
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      return fallback(`cannot read ${String(path)}: ${(error as NodeJS.ErrnoException).code ?? problemText(error)}`);
    }
    let policy: LoadedPolicy;
    try {
      policy = await loadPolicy(bytes, undefined, AUTHORIZATION_BUILTINS);
    } catch (error) {
      return fallback(`${String(path)} is not a loadable OPA wasm module: ${problemText(error)}`);
    }
    const entrypoint = (policy.entrypoints as Record<string, number> | undefined)?.[AUTHORIZATION_ENTRYPOINT];
    if (entrypoint === undefined) return fallback(`${String(path)} lacks the entrypoint ${AUTHORIZATION_ENTRYPOINT}`);
    try {
      policy.setData({ authorization: data });
      readDecision(policy.evaluate(SELF_CHECK_INPUT, entrypoint));
    } catch (error) {
      return fallback(`the policy failed its self-check: ${problemText(error)}`);
    }
    const version = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
    return new Authorizer(policy, entrypoint, data, { ok: true, version }, options.onProblem);
  }

  /** The decision for one request; synchronous, and the fallback decision when the policy fails. */
  decide(input: AuthorizationInput): AuthorizationDecision {
    if (!this.policy) return fallbackDecision(input, this.status.ok ? 'it is not loaded' : this.status.problem, this.data);
    try {
      return readDecision(this.policy.evaluate(input, this.entrypoint));
    } catch (error) {
      const problem = `it could not be evaluated: ${problemText(error)}`;
      if (problem !== this.lastProblem) {
        this.lastProblem = problem;
        this.onProblem?.(problem);
      }
      return fallbackDecision(input, problem, this.data);
    }
  }
}

/**
 * Fail closed: only a command that both the registry and the rules call read-only is allowed;
 * everything else is refused with the reason.
 */
export function fallbackDecision(input: AuthorizationInput, problem: string, data: AuthorizationData | undefined): AuthorizationDecision {
  const name = typeof input.command?.name === 'string' ? input.command.name : '';
  const ruleLevel = data?.commands[name]?.level;
  const readOnly = input.command?.level === 0 && (data === undefined || ruleLevel === 0);
  const level = (ruleLevel ?? (isLevel(input.command?.level) ? input.command.level : 4)) as AuthorizationLevel;
  const common = { code: 'policy_unavailable' as const, level, approvals_required: 0, approver_roles: [], distinct_approvers: false, break_glass: false };
  if (readOnly) {
    return { ...common, allow: true, reason: `The authorization policy is unavailable (${problem}); "${name}" is read-only, and read-only commands still run.` };
  }
  return {
    ...common,
    allow: false,
    reason: `The authorization policy is unavailable (${problem}), so "${name}" is refused: commands that change the stack fail closed until it works again. Read-only commands still run.`,
  };
}

function readDecision(resultSet: unknown): AuthorizationDecision {
  const decision = (Array.isArray(resultSet) ? (resultSet[0] as { result?: unknown } | undefined)?.result : undefined) as Record<string, unknown> | undefined;
  if (decision === undefined) throw new Error('the policy gave no decision (its data may not fit the rules)');
  // A hand-written check: it runs on every decision and must stay well under a microsecond.
  if (
    typeof decision.allow !== 'boolean' ||
    typeof decision.reason !== 'string' ||
    typeof decision.code !== 'string' ||
    !CODES.has(decision.code) ||
    !isLevel(decision.level) ||
    !Number.isInteger(decision.approvals_required) ||
    !Array.isArray(decision.approver_roles) ||
    typeof decision.distinct_approvers !== 'boolean' ||
    typeof decision.break_glass !== 'boolean'
  ) {
    throw new Error(`the policy's decision does not have the expected shape: ${JSON.stringify(decision).slice(0, 300)}`);
  }
  return decision as unknown as AuthorizationDecision & { code: DecisionCode };
}

function isLevel(value: unknown): value is AuthorizationLevel {
  return value === 0 || value === 1 || value === 2 || value === 3 || value === 4;
}

/** opa-wasm throws strings and plain objects as well as Errors. */
function problemText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') return (error as { message: string }).message;
  return String(error);
}
