import { runService } from '../kit/run.js';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';

try {
  const config = loadConfig();
  await runService(buildApp(config), { port: config.port, host: config.host });
} catch (error) {
  // Configuration and start-up errors (bad env, database unreachable) name their cause; no stack needed.
  console.error(`[evolution-oversight] could not start: ${(error as Error).message}`);
  process.exit(1);
}
