/**
 * The security breach's impact assessment, as the `security-breach` runbook starts it
 * (runbooks/emergency/): what the bot can measure right after containment (are both audit chains
 * intact, is every service healthy) and the questions only people can answer about what an
 * attacker reached. It is not in `allChecklists`: the `checklist` command's usage names the
 * maintenance three; the bot's checklist book knows it (bot/main.ts) so that its items are ticked
 * as any checklist's.
 */
import { auditTrailsIntact, servicesHealthy } from './checks.js';
import { defineChecklist, type ChecklistDefinition } from './definition.js';

export const securityImpactAssessment = defineChecklist({
  name: 'security-impact-assessment',
  title: 'Security breach: impact assessment',
  summary: 'What the breach reached: the audit chains and services now, then data, decisions, agents and credentials',
  items: [
    { id: 'audit-chains-intact', mode: 'auto', text: 'Audit chains intact', note: "Both hash chains from their last signed checkpoint (the Audit Engine's and the bot's): a break says what was rewritten.", check: auditTrailsIntact },
    { id: 'services-healthy', mode: 'auto', text: 'Services healthy under containment', note: "Each service's /health (and PostgreSQL and Redis where configured) with strict mode on.", check: servicesHealthy },
    { id: 'data-reached', mode: 'manual', text: 'Data reached identified', note: 'Which databases, tables and records the attacker could read or change is a judgement on the evidence archive: tick once written down.' },
    { id: 'decisions-affected', mode: 'manual', text: 'Policy decisions affected identified', note: 'Which decisions were made under a changed policy or mode since the breach began (`/acgs audit`, `/acgs violations`): tick once listed.' },
    { id: 'agents-involved', mode: 'manual', text: 'Agents and accounts involved identified', note: 'Which agents, users and tokens acted (`/acgs audit --user`): tick once listed.' },
    { id: 'credentials-rotated', mode: 'manual', text: 'Exposed credentials rotated', note: 'Admin and service tokens, the trail signing key, webhook secrets: the bot cannot know which leaked. Tick once rotated or judged safe.' },
    { id: 'begin-forensic-analysis', mode: 'manual', text: 'Forensic analysis begun', note: 'On the preserved evidence archive (its MANIFEST.sha256 hash is in the trail): tick once started.' },
  ],
});

export const emergencyChecklists: readonly ChecklistDefinition[] = [securityImpactAssessment];
