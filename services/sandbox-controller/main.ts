import { runService } from '../kit/run.js';
import { buildApp } from './app.js';
import { type SandboxConfig, loadConfig } from './config.js';

let config: SandboxConfig;
try {
  config = loadConfig();
} catch (error) {
  // The message names the variable; a stack trace would only bury it.
  console.error((error as Error).message);
  process.exit(1);
}

let app: Awaited<ReturnType<typeof buildApp>> | undefined;
try {
  app = await buildApp(config);
  if (!config.adminToken) app.log.warn('ACGS_ADMIN_TOKEN is not set: the /admin endpoints answer 401 to everyone');
  await runService(app, { port: config.port, host: config.host });
} catch (error) {
  // Start-up failures (port taken, spool directory not writable) carry a message that says what is wrong.
  app?.log.fatal({ err: error }, 'sandbox-controller could not start');
  console.error(`sandbox-controller could not start: ${(error as Error).message}`);
  await app?.close().catch(() => undefined);
  process.exit(1);
}
app.log.info({ docker: config.dockerHost, image: config.image, runtime: config.runtime }, 'sandbox controller listening');
