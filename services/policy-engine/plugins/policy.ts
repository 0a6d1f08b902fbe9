import type { PolicyEngineConfig } from '../config.js';
import { PolicyRuntime } from '../policy-runtime.js';
import { watchPolicyFile } from '../policy-watcher.js';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    /** The constitution in wasm, reloadable without a restart. */
    policy: PolicyRuntime;
  }
}

export const policyPlugin = fp<{ config: PolicyEngineConfig }>(async (app, { config }) => {
  const runtime = await PolicyRuntime.load(config.policyWasmPath, app.modes.current);
  app.log.info({ policyVersion: runtime.version, path: runtime.path }, 'policy loaded');
  app.modes.onChange((modes) => {
    runtime.applyModes(modes);
    app.log.warn({ modes }, 'policy modes changed');
  });
  runtime.onReload((outcome) => {
    app.auditOutbox.record({
      event_type: 'policy_reloaded',
      severity: 'info',
      data: { policy_version: outcome.version, previous_version: outcome.previousVersion },
    });
  });
  app.decorate('policy', runtime);
  if (!config.watchPolicy) return;
  const watcher = watchPolicyFile(
    config.policyWasmPath,
    config.watchDebounceMs,
    () => {
      runtime.reload().then(
        (outcome) => {
          if (outcome.status === 'reloaded') app.log.info(outcome, 'policy reloaded after a file change');
        },
        (error: unknown) =>
          app.log.error({ err: error, keptVersion: runtime.version }, 'policy reload failed; keeping the loaded policy'),
      );
    },
    (error) => app.log.error({ err: error }, 'stopped watching the policy file; use POST /admin/reload-policy'),
  );
  app.addHook('onClose', async () => watcher.close());
});
