import { SERVICE_PORTS } from '../kit/constitution.js';
import { portFromEnv, runService } from '../kit/run.js';
import { buildApp } from './app.js';
import { configFromEnv } from './config.js';

const config = configFromEnv();
const app = await buildApp(config);
await runService(app, { port: portFromEnv(SERVICE_PORTS['sandbox-controller']), host: process.env.HOST || '127.0.0.1' });
app.log.info({ docker: config.dockerHost, image: config.image, runtime: config.runtime }, 'sandbox controller listening');
