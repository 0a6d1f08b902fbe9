import type { FastifyServerOptions } from 'fastify';
import { CONSTITUTIONAL_HASH } from '../kit/constitution.js';
import { type HealthReport, type Service, createService } from '../kit/service.js';
import type { SandboxConfig } from './config.js';
import { SANDBOX_LIMITS } from './contract.js';
import { auditTrailPlugin } from './plugins/audit-trail.js';
import { metricsPlugin } from './plugins/metrics.js';
import { policyGatePlugin } from './plugins/policy-gate.js';
import { sandboxEnginePlugin } from './plugins/sandbox-engine.js';
import { executeRoutes } from './routes/execute.js';
import { pruneSandboxesRoutes } from './routes/prune-sandboxes.js';
import { resourceUsageRoutes } from './routes/resource-usage.js';

/** Room for the largest allowed code even when JSON escapes every byte as \uXXXX; more is a 413. */
export const BODY_LIMIT_BYTES = SANDBOX_LIMITS.code_bytes * 6 + 16 * 1024;

export interface BuildOptions {
  logger?: FastifyServerOptions['logger'];
}

async function sandboxHealth(app: Service, config: SandboxConfig): Promise<HealthReport> {
  const status = await app.sandboxEngine.status();
  return {
    status: status.reason ? 'degraded' : 'healthy',
    ...(status.reason ? { reason: status.reason } : {}),
    runtimes_available: status.available,
    default_runtime: status.selected,
    active_sandboxes: app.sandboxSlots.size,
    max_concurrent: config.maxConcurrent,
    image: { name: config.image, present: status.images[config.image] === true },
    ...(config.nodeImage ? { node_image: { name: config.nodeImage, present: status.images[config.nodeImage] === true } } : {}),
    engine: { reachable: status.reachable, host: status.host, ...(status.version ? { version: status.version } : {}) },
    gvisor: status.gvisor,
    audit_pending: app.sandboxAudit.pending(),
    constitutional_hash: CONSTITUTIONAL_HASH,
  };
}

/** The Sandbox Controller: plugins first (engine, policy, audit, metrics), then routes. */
export async function buildApp(config: SandboxConfig, options: BuildOptions = {}): Promise<Service> {
  let app: Service;
  app = createService({
    name: 'sandbox-controller',
    bodyLimit: BODY_LIMIT_BYTES,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    health: () => sandboxHealth(app, config),
  });
  await app.register(sandboxEnginePlugin, { config });
  await app.register(policyGatePlugin, { config });
  await app.register(auditTrailPlugin, { config });
  await app.register(metricsPlugin);
  await app.register(executeRoutes, { config });
  await app.register(resourceUsageRoutes, { config });
  await app.register(pruneSandboxesRoutes, { config });
  return app;
}
