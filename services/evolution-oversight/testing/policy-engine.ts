import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp as buildPolicyEngine } from '../../policy-engine/app.js';
import { parseConfig } from '../../policy-engine/config.js';
import type { Service } from '../../kit/service.js';

export const POLICY_ADMIN_TOKEN = 'evolution-oversight-test-admin-token';

export interface RunningPolicyEngine {
  url: string;
  app: Service;
  close(): Promise<void>;
}

/**
 * The real Policy Engine (committed policy.wasm, in-process) on 127.0.0.1 with a port of its own,
 * its state and audit spool in a temporary directory.
 */
export async function startPolicyEngine(auditEngineUrl: string): Promise<RunningPolicyEngine> {
  const stateDir = mkdtempSync(join(tmpdir(), 'eo-policy-engine-'));
  let app: Service;
  try {
    app = await buildPolicyEngine(
      parseConfig({ ACGS_STATE_DIR: stateDir, AUDIT_ENGINE_URL: auditEngineUrl, POLICY_WATCH: 'false', ACGS_ADMIN_TOKEN: POLICY_ADMIN_TOKEN }),
    );
  } catch (error) {
    rmSync(stateDir, { recursive: true, force: true });
    throw error;
  }
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    app,
    async close() {
      await app.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Switches the engine's strict mode through its admin endpoint. */
export async function setStrictMode(engine: RunningPolicyEngine, on: boolean): Promise<void> {
  const response = await engine.app.inject({
    method: 'POST',
    url: on ? '/admin/enable-strict-mode' : '/admin/disable-strict-mode',
    headers: { authorization: `Bearer ${POLICY_ADMIN_TOKEN}` },
  });
  if (response.statusCode !== 200) throw new Error(`strict mode switch answered ${response.statusCode}: ${response.body}`);
}
