import { join } from 'node:path';
import { type AuditOutbox, createAuditOutbox } from '../../kit/audit-outbox.js';
import type { PolicyEngineConfig } from '../config.js';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    /** Safety violations and mode changes on their way to the Audit Engine. */
    auditOutbox: AuditOutbox;
  }
}

export const auditPlugin = fp<{ config: PolicyEngineConfig }>(async (app, { config }) => {
  const outbox = createAuditOutbox({
    auditEngineUrl: config.auditEngineUrl,
    spoolDir: join(config.stateDir, 'audit-outbox'),
    source: 'policy-engine',
    serviceToken: config.serviceToken,
    log: app.log,
  });
  app.decorate('auditOutbox', outbox);
  app.authRefusals.deliverTo((event) => outbox.record(event));
  // The refusals' last window goes into the outbox before it closes.
  app.addHook('onClose', async () => {
    await app.authRefusals.flush();
    await outbox.close();
  });
});
