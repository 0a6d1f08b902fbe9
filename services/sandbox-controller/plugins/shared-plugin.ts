import type { FastifyPluginAsync } from 'fastify';

/**
 * Marks a plugin as not encapsulated (what `fastify-plugin` does) so its decorators reach the
 * routes registered after it; the symbol is Fastify's documented contract.
 */
export function sharedPlugin<Options extends Record<string, unknown>>(plugin: FastifyPluginAsync<Options>): FastifyPluginAsync<Options> {
  Object.assign(plugin, { [Symbol.for('skip-override')]: true });
  return plugin;
}
