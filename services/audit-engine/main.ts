import { runService } from '../kit/run.js';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';

let config;
try {
  config = loadConfig();
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}

const app = buildApp(config);
try {
  await runService(app, { port: config.port, host: config.host });
} catch (error) {
  // Start-up failures (database missing or unreachable) carry a message that says what to do.
  app.log.fatal({ err: error }, 'audit-engine could not start');
  console.error(`audit-engine could not start: ${(error as Error).message}`);
  await app.close().catch(() => undefined);
  process.exit(1);
}
