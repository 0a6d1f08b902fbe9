/**
 * The runbook's "Pre-deployment Checklist" (with its resource and backup steps). The bot checks
 * what it can see of this stack; staging, the release's validation, the rollback plan and the
 * people are outside it, so those are ticked by a person.
 */
import { recentBackup, resourcesAvailable } from './checks.js';
import { defineChecklist } from './definition.js';

export const preDeployment = defineChecklist({
  name: 'pre-deployment',
  title: 'Pre-deployment checklist',
  summary: 'Before a deployment: staging, validation, resources, a fresh backup, a rollback plan, the people told',
  items: [
    { id: 'staging-tested', mode: 'manual', text: 'Staging environment tested', note: 'The bot reaches only this stack, not staging: tick once the release was tested there.' },
    {
      id: 'performance-validated',
      mode: 'manual',
      text: 'Performance validation passed',
      note: "The release's validation (run_ci_validation.sh) runs in CI, which the bot cannot see: tick when it passed.",
    },
    { id: 'security-scan', mode: 'manual', text: 'Security scan completed', note: 'The bot runs no image or dependency scanner: tick when the scan of the release is clean.' },
    {
      id: 'resources-available',
      mode: 'auto',
      text: 'Resources available for the rollout',
      note: "CPU and memory of every service against the runbook's targets (80 %, 85 %).",
      check: resourcesAvailable,
    },
    { id: 'backup-created', mode: 'auto', text: 'Backup created', note: 'A complete backup under ACGS_BACKUP_DIR from the last 24 hours (`/acgs backup` makes one).', check: recentBackup({ maxAgeHours: 24, verified: false }) },
    { id: 'rollback-plan', mode: 'manual', text: 'Rollback plan prepared', note: 'The plan is a decision of people (which tag to go back to, who decides): tick once it is written down.' },
    { id: 'stakeholders-notified', mode: 'manual', text: 'Stakeholders notified', note: 'The bot sends no deployment notices yet: tick once they were told.' },
    { id: 'monitoring-alerts-updated', mode: 'manual', text: 'Monitoring alerts updated', note: "The alert rules live in Prometheus/Alertmanager, which the bot does not read: tick once they fit the release." },
  ],
});
