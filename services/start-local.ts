/**
 * The four services alone as supervised local processes (`npm run start:stack`); `npm start`
 * runs them together with the bot.
 */
import { SERVICE_NAMES } from './kit/constitution.js';
import { startLocalServices } from './local-services.js';

async function main(): Promise<void> {
  const stack = await startLocalServices();
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[start] ${signal}: stopping the stack`);
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  console.log('[start] ACGS-1 Lite stack:');
  for (const service of SERVICE_NAMES) {
    console.log(`  ${stack.ready[service] ? 'up  ' : 'DOWN'}  ${service.padEnd(20)} ${stack.endpoints[service]}`);
  }
  console.log(`[start] admin token: ${stack.adminTokenFile ?? 'from ACGS_ADMIN_TOKEN'}`);
}

main().catch((error: unknown) => {
  console.error(`[start] could not start the stack: ${(error as Error).message}`);
  process.exit(1);
});
