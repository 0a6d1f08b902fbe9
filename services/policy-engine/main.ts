import { runService } from '../kit/run.js';
import type { Service } from '../kit/service.js';
import { buildApp } from './app.js';
import { type PolicyEngineConfig, loadConfig } from './config.js';

// Each failure before listening is one line naming its cause (the variable, the file), not a
// stack trace: that is what an operator reads in `docker logs` or the supervisor's output.
function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

let config: PolicyEngineConfig;
try {
  config = loadConfig(process.env);
} catch (error) {
  fail((error as Error).message);
}

let app: Service;
try {
  // Fails on a missing or broken policy.wasm or a corrupt mode state file; buildApp has
  // already released what it opened.
  app = await buildApp(config);
} catch (error) {
  fail(`policy-engine could not start: ${(error as Error).message}`);
}

if (!config.adminToken) app.log.warn('ACGS_ADMIN_TOKEN is not set: the /admin endpoints answer 401 to everyone');
try {
  await runService(app, { port: config.port, host: config.host });
} catch (error) {
  // e.g. EADDRINUSE, or a HOST that is not an address of this machine.
  app.log.fatal({ err: error }, 'policy-engine could not start');
  await app.close().catch(() => undefined);
  fail(`policy-engine could not start: ${(error as Error).message}`);
}
