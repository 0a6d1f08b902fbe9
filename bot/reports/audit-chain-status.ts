/**
 * The Audit Engine's chain as the reports judge it (the daily report's audit part, the security
 * report's), from `GET /audit/verify?scope=checkpoint`.
 */
import type { CommandDependencies } from '../../commands/dependencies.js';
import type { AuditChainStatus } from './daily-report.js';

/**
 * From the last signed checkpoint this takes well under a second; a hanging Audit Engine should
 * cost the report its audit part, not the client's two-minute full-walk allowance.
 */
const AUDIT_VERIFY_TIMEOUT_MS = 30_000;

export async function auditEngineChain(services: Pick<CommandDependencies, 'auditEngine'>): Promise<AuditChainStatus> {
  const result = await services.auditEngine.verify(AUDIT_VERIFY_TIMEOUT_MS, { scope: 'checkpoint' });
  if (result.valid) return { valid: true, detail: `intact: ${result.events_checked} records checked up to #${result.head.sequence}` };
  const broken = result.first_broken;
  return { valid: false, detail: broken ? `first broken record #${broken.sequence} (${broken.check})` : 'reported broken without naming a record' };
}
