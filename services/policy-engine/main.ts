import { SERVICE_PORTS } from '../kit/constitution.js';
import { portFromEnv, runService } from '../kit/run.js';
import { buildApp } from './app.js';
import { parseConfig } from './config.js';

const config = parseConfig(process.env);
const app = await buildApp(config);
if (!config.adminToken) app.log.warn('ACGS_ADMIN_TOKEN is not set: the /admin endpoints answer 401 to everyone');
await runService(app, { port: portFromEnv(SERVICE_PORTS['policy-engine']), host: process.env.HOST ?? '127.0.0.1' });
