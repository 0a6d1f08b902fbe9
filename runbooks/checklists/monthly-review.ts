/**
 * The runbook's "Monthly Review Checklist". A review is mostly people's work: the bot checks only
 * that a verified backup exists (the integrity item); every other item is ticked by a person.
 */
import { recentBackup } from './checks.js';
import { defineChecklist } from './definition.js';

export const monthlyReview = defineChecklist({
  name: 'monthly-review',
  title: 'Monthly review checklist',
  summary: 'Once a month: trends, capacity, security, backup integrity, DR, documentation, training',
  items: [
    { id: 'performance-trends', mode: 'manual', text: 'Performance trends analyzed', note: 'The bot keeps no metrics history (that is Prometheus): tick once the month\'s trends were reviewed.' },
    { id: 'capacity-planning', mode: 'manual', text: 'Capacity planning updated', note: 'A plan is people\'s judgement: tick once it is updated.' },
    { id: 'security-review', mode: 'manual', text: 'Security review completed', note: 'The bot does not review security: tick once the review is done.' },
    {
      id: 'backup-integrity',
      mode: 'auto',
      text: 'Backup integrity verified',
      note: 'A backup that passed `backup verify` (a real restore) in the last 31 days.',
      check: recentBackup({ maxAgeHours: 31 * 24, verified: true }),
    },
    { id: 'dr-procedures-tested', mode: 'manual', text: 'DR procedures tested', note: 'The restore runbook is not in the bot yet: tick once disaster recovery was rehearsed.' },
    { id: 'documentation-updated', mode: 'manual', text: 'Documentation updated', note: 'The runbook and its contacts are documents the bot does not read: tick once they are current.' },
    { id: 'team-training', mode: 'manual', text: 'Team training conducted', note: 'Training is people\'s work: tick once it took place.' },
  ],
});
