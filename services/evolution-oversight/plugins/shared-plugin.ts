import type { FastifyPluginAsync } from 'fastify';

/**
 * Marks a plugin as not encapsulated (what `fastify-plugin` does), so the decorators it adds are
 * visible to the routes registered after it. The symbol is Fastify's documented contract; using it
 * directly avoids depending on a package we do not list.
 */
export function sharedPlugin<Options extends Record<string, unknown>>(plugin: FastifyPluginAsync<Options>): FastifyPluginAsync<Options> {
  Object.assign(plugin, { [Symbol.for('skip-override')]: true });
  return plugin;
}
