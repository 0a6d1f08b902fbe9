import { hostname } from 'node:os';
import type { PolicyEngineConfig } from '../config.js';
import { ModeStore } from '../mode-store.js';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    /** Strict mode and emergency lockdown, persisted and shared with other replicas. */
    modes: ModeStore;
  }
}

export const modesPlugin = fp<{ config: PolicyEngineConfig }>(async (app, { config }) => {
  const store = new ModeStore({
    stateDir: config.stateDir,
    redis: app.redis,
    keyPrefix: config.redisKeyPrefix,
    // The admin token signs explicit changes shared through Redis: only a holder of the token
    // (which the admin endpoints require) can change another replica's modes.
    ...(config.adminToken ? { signingKey: config.adminToken } : {}),
    replica: `${hostname()}:${config.port}`,
    audit: (event) => app.auditOutbox.record(event),
    log: app.log,
  });
  const modes = await store.load();
  if (modes.strict || modes.lockdown) app.log.warn({ modes, stateFile: store.path }, 'starting with non-normal modes');
  store.startSync(config.modeSyncIntervalMs);
  app.decorate('modes', store);
  app.addHook('onClose', async () => store.stopSync());
});
