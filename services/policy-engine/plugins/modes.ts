import type { Service } from '../../kit/service.js';
import type { PolicyEngineConfig } from '../config.js';
import { ModeStore } from '../mode-store.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Strict mode and emergency lockdown, persisted and shared with other replicas. */
    modes: ModeStore;
  }
}

export async function modesPlugin(app: Service, config: PolicyEngineConfig): Promise<void> {
  const store = new ModeStore({ stateDir: config.stateDir, redis: app.redis, keyPrefix: config.redisKeyPrefix, log: app.log });
  const modes = await store.load();
  if (modes.strict || modes.lockdown) app.log.warn({ modes, stateFile: store.path }, 'starting with non-normal modes');
  store.startSync(config.modeSyncIntervalMs);
  app.decorate('modes', store);
  app.addHook('onClose', async () => store.stopSync());
}
