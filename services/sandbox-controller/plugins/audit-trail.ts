import { type AuditOutbox, createAuditOutbox } from '../../kit/audit-outbox.js';
import type { SandboxConfig } from '../config.js';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    sandboxAudit: AuditOutbox;
  }
}

/** `sandbox_execution` events go through the durable outbox: spooled first, never lost. */
export const auditTrailPlugin = fp<{ config: SandboxConfig }>(async (app, { config }) => {
  const outbox = createAuditOutbox({
    auditEngineUrl: config.auditEngineUrl,
    spoolDir: config.auditSpoolDir,
    source: 'sandbox-controller',
    serviceToken: config.serviceToken,
    log: app.log,
  });
  app.decorate('sandboxAudit', outbox);
  app.authRefusals.deliverTo((event) => outbox.record(event));
  app.addHook('onClose', async () => {
    // The refusals' last window goes into the outbox before it closes.
    await app.authRefusals.flush();
    await outbox.close();
  });
});
