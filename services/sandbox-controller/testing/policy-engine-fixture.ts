import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPolicyStandIn } from './policy-stand-in.js';

export interface PolicyEngineFixture {
  url: string;
  /** `real`: the Policy Engine with the committed constitution; `stand-in`: see policy-stand-in.ts. */
  kind: 'real' | 'stand-in';
  close(): Promise<void>;
}

const POLICY_ENGINE_APP = fileURLToPath(new URL('../../policy-engine/app.ts', import.meta.url));
const POLICY_WASM = fileURLToPath(new URL('../../policy-engine/policy.wasm', import.meta.url));

/**
 * The real Policy Engine on loopback when its app and compiled constitution are in the tree, so the
 * sandbox is tested against the rules it will really meet; the stand-in otherwise.
 */
export async function startPolicyEngine(): Promise<PolicyEngineFixture> {
  if (!existsSync(POLICY_ENGINE_APP) || !existsSync(POLICY_WASM)) {
    const standIn = await startPolicyStandIn();
    return { url: standIn.url, kind: 'stand-in', close: standIn.close };
  }
  const [{ buildApp }, { parseConfig }] = await Promise.all([
    import('../../policy-engine/app.js'),
    import('../../policy-engine/config.js'),
  ]);
  const stateDir = mkdtempSync(join(tmpdir(), 'acgs-sandbox-policy-'));
  const app = await buildApp(
    parseConfig({
      POLICY_WASM_PATH: POLICY_WASM,
      POLICY_WATCH: 'false',
      ACGS_STATE_DIR: stateDir,
      // Nothing listens on the discard port: its own audit events stay spooled in stateDir.
      AUDIT_ENGINE_URL: 'http://127.0.0.1:9',
    }),
    { logger: false },
  );
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url,
    kind: 'real',
    async close() {
      await app.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
