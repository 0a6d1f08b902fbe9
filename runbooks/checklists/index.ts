/** The runbook's checklists, in the runbook's order: the bot starts them (`/acgs checklist <name>`). */
import type { ChecklistDefinition } from './definition.js';
import { monthlyReview } from './monthly-review.js';
import { postDeployment } from './post-deployment.js';
import { preDeployment } from './pre-deployment.js';

export const allChecklists: readonly ChecklistDefinition[] = [preDeployment, postDeployment, monthlyReview];

export { defineChecklist, type ChecklistDefinition, type ChecklistItem, type CheckContext, type CheckOutcome } from './definition.js';
export { createChecklistBook, type ChecklistBookOptions } from './checklist-book.js';
export { migrateChecklistStore, CHECKLIST_MIGRATIONS_TABLE } from './checklist-store.js';
export { constitutionalViolationEmergency, highLatencyResponse, incidentProcedures, securityBreachResponse, systemWideOutageResponse } from './incident-procedures.js';
export { emergencyChecklists, securityImpactAssessment } from './security-impact-assessment.js';
