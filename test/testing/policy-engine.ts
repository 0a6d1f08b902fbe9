import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { CONSTITUTIONAL_HASH } from '../../services/kit/constitution.js';
import { SERVICE_VERSION, type Service } from '../../services/kit/service.js';
import { buildApp as buildPolicyEngine } from '../../services/policy-engine/app.js';
import { loadConfig } from '../../services/policy-engine/config.js';
import { DataApiRequest, type PolicyInput } from '../../services/policy-engine/contract.js';
import { TEST_SERVICE_TOKEN, testToken } from './tokens.js';

/** The admin token of the engines started here (strict mode, lockdown, cache clearing). */
export const POLICY_ADMIN_TOKEN = testToken();

/** Nothing listens on the discard port: audit events of an engine pointed there stay in its spool. */
export const NO_AUDIT_ENGINE = 'http://127.0.0.1:9';

export interface RunningPolicyEngine {
  url: string;
  app: Service;
  close(): Promise<void>;
}

export interface PolicyEngineOptions {
  /** Where the engine sends its audit events (safety violations, mode changes); nowhere by default. */
  auditEngineUrl?: string;
  /**
   * The real Redis for its L2 cache and shared modes, under `<prefix>policy-engine:` (a run's own
   * prefix from test/testing/redis.ts); none by default.
   */
  redis?: { url: string; prefix: string };
}

/**
 * The real Policy Engine, in-process with the committed constitution (policy.wasm), on 127.0.0.1
 * with a port of its own; its state and audit spool live in a temporary directory removed by
 * close(). No policy watching, and no Redis (L1 cache only) unless asked, so tests stay independent.
 */
export async function startPolicyEngine(options: PolicyEngineOptions = {}): Promise<RunningPolicyEngine> {
  const stateDir = mkdtempSync(join(tmpdir(), 'acgs-test-policy-engine-'));
  let app: Service | undefined;
  try {
    app = await buildPolicyEngine(
      loadConfig({
        ACGS_STATE_DIR: stateDir,
        AUDIT_ENGINE_URL: options.auditEngineUrl ?? NO_AUDIT_ENGINE,
        POLICY_WATCH: 'false',
        ACGS_ADMIN_TOKEN: POLICY_ADMIN_TOKEN,
        ACGS_SERVICE_TOKEN: TEST_SERVICE_TOKEN,
        ...(options.redis ? { REDIS_URL: options.redis.url, REDIS_KEY_PREFIX: `${options.redis.prefix}policy-engine:` } : {}),
      }),
      { logger: false },
    );
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const running = app;
    return {
      url,
      app: running,
      async close() {
        await running.close();
        rmSync(stateDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await app?.close().catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
    throw error;
  }
}

/** Switches the engine's strict mode through its admin endpoint, as an operator would. */
export async function setStrictMode(engine: RunningPolicyEngine, on: boolean): Promise<void> {
  const response = await engine.app.inject({
    method: 'POST',
    url: on ? '/admin/enable-strict-mode' : '/admin/disable-strict-mode',
    headers: { authorization: `Bearer ${POLICY_ADMIN_TOKEN}` },
  });
  if (response.statusCode !== 200) throw new Error(`strict mode switch answered ${response.statusCode}: ${response.body}`);
}

export interface ScriptedPolicyEngine {
  url: string;
  /** Every decision input received, parsed with the Policy Engine's own contract. */
  inputs: PolicyInput[];
  close(): Promise<void>;
}

export type ScriptedAnswer = (input: PolicyInput) => { status: number; body: unknown };

/**
 * A Policy Engine stand-in on 127.0.0.1 that answers `POST /v1/data/acgs/main/decision` with
 * whatever the test scripts: for what the real engine never produces (a 500, a contract-breaking
 * answer, a decision without an evolution outcome). An input that breaks the contract gets the
 * real engine's 400, so a client's drift fails the test. Outcomes of the constitution itself are
 * tested against the real engine (startPolicyEngine).
 */
export async function startScriptedPolicyEngine(answer: ScriptedAnswer): Promise<ScriptedPolicyEngine> {
  const app = Fastify({ logger: false });
  const engine: ScriptedPolicyEngine = { url: '', inputs: [], close: () => app.close() };
  app.post('/v1/data/acgs/main/decision', async (request, reply) => {
    const parsed = DataApiRequest.safeParse(request.body);
    if (!parsed.success) return reply.status(400).send({ error: { code: 'INVALID_REQUEST', message: `The request is invalid: ${parsed.error.message}` } });
    engine.inputs.push(parsed.data.input);
    const { status, body } = answer(parsed.data.input);
    return reply.status(status).send(body);
  });
  const startedAt = Date.now();
  // The kit's common health body, which the Policy Engine client validates.
  app.get('/health', async () => ({
    status: 'healthy',
    service: 'policy-engine',
    version: SERVICE_VERSION,
    constitutional_hash: CONSTITUTIONAL_HASH,
    uptime_seconds: (Date.now() - startedAt) / 1000,
  }));
  engine.url = await app.listen({ host: '127.0.0.1', port: 0 });
  return engine;
}
