/** The runbook's emergency procedures as runbooks with an incident (issue 16). */
import type { AnyRunbook } from '../engine/definition.js';
import { constitutionalEmergencyRunbook } from './constitutional-emergency.js';
import { outageRunbook } from './outage-runbook.js';
import { securityBreach } from './security-breach.js';

export { constitutionalEmergencyRunbook, outageRunbook, securityBreach };
export { EVIDENCE_RECORD_KIND, IMPACT_CHECKLIST } from './security-breach.js';
export { verifyEvidenceArchive, writeEvidenceArchive, MANIFEST_FILE, type ArchiveVerification, type EvidenceArchive } from './evidence-archive.js';

export const emergencyRunbooks: readonly AnyRunbook[] = [securityBreach, constitutionalEmergencyRunbook, outageRunbook];
