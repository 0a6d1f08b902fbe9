/** The runbook's emergency procedures as runbooks with an incident (issue 16). */
export { constitutionalEmergencyRunbook } from './constitutional-emergency.js';
export { outageRunbook } from './outage-runbook.js';
