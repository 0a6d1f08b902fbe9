import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONSTITUTIONAL_HASH } from '../../kit/constitution.js';
import { DEFAULT_POLICY_WASM_PATH, type PolicyEngineConfig, loadConfig } from '../config.js';
import type { PolicyInputInit } from '../../clients/policy-engine.js';
import { TEST_SERVICE_TOKEN } from '../../../test/testing/tokens.js';

/** Test support for the Policy Engine's own tests (not a test file itself). */

/** Nothing listens on the discard port: audit deliveries fail and stay spooled. */
export const NO_AUDIT_ENGINE = 'http://127.0.0.1:9';

/** The committed wasm (POLICY_WASM_PATH overrides); fails with a message when it is missing. */
export function policyWasmPath(): string {
  const path = process.env.POLICY_WASM_PATH ?? DEFAULT_POLICY_WASM_PATH;
  if (!existsSync(path)) {
    throw new Error(`The compiled policy ${path} is missing; build it with npm run policy:build`);
  }
  return path;
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function testConfig(env: Record<string, string | undefined>): PolicyEngineConfig {
  return loadConfig({
    POLICY_WASM_PATH: policyWasmPath(),
    POLICY_WATCH: 'false',
    AUDIT_ENGINE_URL: NO_AUDIT_ENGINE,
    // What the kits' Audit Engines require of the audit outbox.
    ACGS_SERVICE_TOKEN: TEST_SERVICE_TOKEN,
    ...env,
  });
}

/** A compliant request of a trusted, sandboxed, audited agent; override what a test varies. */
export function compliantInput(overrides: Partial<PolicyInputInit> = {}): PolicyInputInit {
  return {
    type: 'action_authorization',
    constitutional_hash: CONSTITUTIONAL_HASH,
    action: 'data.read',
    context: {
      agent: { id: 'agent-1', trust_level: 0.95 },
      environment: { sandbox_enabled: true, audit_enabled: true },
      explanation: 'nightly maintenance window',
    },
    ...overrides,
  };
}

export function dangerousInput(agentId = 'agent-evil'): PolicyInputInit {
  return compliantInput({
    action: 'system.execute_shell',
    context: {
      agent: { id: agentId, trust_level: 0.95 },
      environment: { sandbox_enabled: true, audit_enabled: true },
      explanation: 'wants a shell',
    },
  });
}

/**
 * Compiles a Rego policy with the real OPA CLI (`opa build -t wasm`) and returns the wasm
 * bytes; fails with a message when OPA is missing.
 */
export function buildWasm(rego: string, entrypoints = ['acgs/main/decision', 'acgs/main/allow', 'acgs/main/health']): Buffer {
  const dir = tempDir('acgs-rego');
  try {
    writeFileSync(join(dir.path, 'policy.rego'), rego);
    const bundle = join(dir.path, 'bundle.tar.gz');
    try {
      execFileSync(
        'opa',
        ['build', '-t', 'wasm', ...entrypoints.flatMap((entrypoint) => ['-e', entrypoint]), '-o', bundle, join(dir.path, 'policy.rego')],
        { stdio: 'pipe' },
      );
    } catch (error) {
      throw new Error(`opa build failed (is the OPA CLI installed? run scripts/provision.sh): ${(error as Error).message}`);
    }
    execFileSync('tar', ['-xzf', bundle, '-C', dir.path, '/policy.wasm'], { stdio: 'pipe' });
    return readFileSync(join(dir.path, 'policy.wasm'));
  } finally {
    dir.remove();
  }
}

/** A minimal constitution with the contract's shape that denies everything with one reason. */
export const DENY_ALL_REGO = `package acgs.main

decision := {
	"allow": false,
	"compliance_score": 0,
	"threshold": 0.95,
	"reasons": ["deny-all test policy"],
	"violations": [],
	"safety_violation": false,
	"mode": {"strict": _strict, "lockdown": _lockdown},
	"constitutional_hash": "${CONSTITUTIONAL_HASH}",
}

default _strict := false

_strict if data.runtime.strict_mode == true

default _lockdown := false

_lockdown if data.runtime.lockdown == true

allow := decision.allow

health := {"status": "healthy", "constitutional_hash": "${CONSTITUTIONAL_HASH}", "policy": "deny-all"}
`;

/** Polls until `check` passes or the time is up; the last failure is rethrown. */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 10_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
