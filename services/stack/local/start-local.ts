/**
 * The four services alone as supervised local processes (`npm run start:stack`); `npm start`
 * runs them together with the bot. The supervisor's control channel lets the CLI see, restart,
 * and read the logs and stats of these processes (services/stack/local/local-control.ts); without the
 * bot there is no audit trail to record into, so the CLI's restarts need `npm start` or
 * DATABASE_URL.
 */
import { SERVICE_NAMES } from '../../kit/service-ports.js';
import { startLocalServices, stateDirectory } from './local-services.js';
import { startLocalControl, type LocalControl } from './local-control.js';
import { createLocalStack } from './local-stack.js';

async function main(): Promise<void> {
  const stack = await startLocalServices();
  let control: LocalControl | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[start] ${signal}: stopping the stack`);
    await control?.close();
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  try {
    control = await startLocalControl({ stateDir: stateDirectory(), stack: createLocalStack({ processes: stack.processes, stateDir: stack.stateDir }), processes: stack.processes });
  } catch (error) {
    await stack.stop();
    throw error;
  }

  console.log('[start] ACGS-1 Lite stack:');
  for (const service of SERVICE_NAMES) {
    console.log(`  ${stack.ready[service] ? 'up  ' : 'DOWN'}  ${service.padEnd(20)} ${stack.endpoints[service]}`);
  }
  console.log(`[start] admin token: ${stack.adminTokenFile ?? 'from ACGS_ADMIN_TOKEN'}`);
  console.log(`[start] service token (the services' write endpoints): ${stack.serviceTokenFile ?? 'from ACGS_SERVICE_TOKEN'}`);
  console.log(`[start] control channel for npx acgs: ${control.supervisorFile}`);
}

main().catch((error: unknown) => {
  console.error(`[start] could not start the stack: ${(error as Error).message}`);
  process.exit(1);
});
