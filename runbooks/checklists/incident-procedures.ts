/**
 * The runbook's incident procedures as checklists, one per incident type (issue 16): the high
 * latency response for a performance incident, "Security Breach Detected", "Constitutional
 * Violation Emergency" and the system-wide outage response (its first 5 minutes, then 5-30
 * minutes) for an infrastructure incident. An incident's briefing shows the first steps of its
 * type's procedure. Where the bot can measure a step (health, latency, cache, resources) it checks;
 * the rest are actions a person takes (most through an `/acgs` command the note names) and ticks.
 *
 * Kept out of `allChecklists` for now: the `checklist` command's usage names the maintenance
 * three, and the incident commands decide how an incident starts its procedure.
 */
import { cacheHitRateNormal, latencyWithinSlo, resourcesAvailable, servicesHealthy } from './checks.js';
import { defineChecklist, type ChecklistDefinition } from './definition.js';

export const highLatencyResponse = defineChecklist({
  name: 'high-latency-response',
  title: 'High latency response',
  summary: 'A performance incident: metrics, cache, resources, then warm the cache or scale',
  items: [
    { id: 'check-current-metrics', mode: 'auto', text: 'Check current metrics', note: 'Policy Engine P99 against its 1 ms target (GET /v1/metrics); the alert fires over 5 ms.', check: latencyWithinSlo },
    { id: 'check-cache-hit-rate', mode: 'auto', text: 'Check cache hit rate', note: 'Policy Engine cache hit rate against its 95 % target (GET /v1/metrics); the runbook warms below 90 %.', check: cacheHitRateNormal },
    { id: 'warm-cache', mode: 'manual', text: 'Warm cache if needed', note: 'An action, not a measurement: `/acgs cache warm` runs it. Tick once warmed, or when the hit rate needs none.' },
    { id: 'check-system-resources', mode: 'auto', text: 'Check system resources', note: "Every service's CPU and memory against the runbook's targets (the Stack's stats).", check: resourcesAvailable },
    { id: 'scale-if-necessary', mode: 'manual', text: 'Scale if necessary', note: 'When the Policy Engine stays over 80 % CPU: `/acgs scale policy-engine 3` asks its approvers. Tick once scaled or not needed.' },
  ],
});

export const securityBreachResponse = defineChecklist({
  name: 'security-breach-response',
  title: 'Security breach response',
  summary: 'A security incident: contain, preserve evidence, assess impact, notify, begin forensics',
  items: [
    { id: 'immediate-containment', mode: 'manual', text: 'Immediate containment', note: 'Strict mode (`/acgs strict-mode on`) or lockdown with approvals (`/acgs lockdown`). Tick once contained.' },
    { id: 'preserve-evidence', mode: 'manual', text: 'Preserve evidence', note: 'The audit chains with their head hashes (`/acgs audit verify`), recent logs, versions and config. Tick once archived.' },
    { id: 'assess-impact', mode: 'manual', text: 'Assess impact', note: 'Which data, decisions and agents were reached is a judgement the bot cannot make: tick once assessed.' },
    { id: 'notify-security-team', mode: 'manual', text: 'Notify security team', note: "The runbook's security contacts are people the bot does not reach yet: tick once they know." },
    { id: 'begin-forensic-analysis', mode: 'manual', text: 'Begin forensic analysis', note: 'Forensics happen outside the bot, on the preserved evidence: tick once started.' },
  ],
});

export const constitutionalViolationEmergency = defineChecklist({
  name: 'constitutional-violation-emergency',
  title: 'Constitutional violation emergency',
  summary: 'A constitutional incident: lockdown, violation details, safeguards, the oversight team told',
  items: [
    { id: 'enable-emergency-lockdown', mode: 'manual', text: 'Enable emergency lockdown mode', note: '`/acgs lockdown` asks its approvers at once. Tick once the Policy Engine is locked down.' },
    { id: 'review-violation-details', mode: 'manual', text: 'Review violation details', note: '`/acgs violations` and `/acgs audit` show recent violations by agent and action. Tick once reviewed.' },
    { id: 'implement-additional-safeguards', mode: 'manual', text: 'Implement additional safeguards', note: 'Which safeguards fit the pattern is a judgement (strict mode, policy changes): tick once in place.' },
    { id: 'notify-oversight-team', mode: 'manual', text: 'Notify constitutional oversight team', note: "The runbook's oversight contacts are people the bot does not reach yet: tick once they know." },
  ],
});

export const systemWideOutageResponse = defineChecklist({
  name: 'system-wide-outage-response',
  title: 'System-wide outage response',
  summary: 'An infrastructure incident: the first 5 minutes, then 5 to 30 minutes',
  items: [
    { id: 'assess-impact', mode: 'auto', text: 'Assess impact', note: "Each service's /health and the policy's health document (and PostgreSQL and Redis where configured).", check: servicesHealthy },
    { id: 'activate-incident-response', mode: 'manual', text: 'Activate incident response', note: 'Declaring the incident opened its channel: tick once the commander, communications and scribe are named.' },
    { id: 'notify-stakeholders', mode: 'manual', text: 'Notify stakeholders', note: 'Status updates (`/acgs incident update`) reach the stakeholders for sev1 and sev2: tick once the first went out.' },
    { id: 'attempt-quick-recovery', mode: 'manual', text: 'Attempt quick recovery', note: '`/acgs restart <service>`, or `/acgs rollback` after a bad deploy. Tick once tried.' },
    { id: 'detailed-diagnostics', mode: 'manual', text: 'Detailed diagnostics (5-30 minutes)', note: '`/acgs troubleshoot`, `/acgs logs <service>`, `/acgs db status`, `/acgs redis status`. Tick once done.' },
    { id: 'isolate-failing-components', mode: 'manual', text: 'Isolate failing components', note: 'Which component to take out is a judgement the bot cannot make: tick once isolated.' },
    { id: 'implement-workarounds', mode: 'manual', text: 'Implement workarounds', note: 'Workarounds depend on what failed: tick once in place.' },
    { id: 'prepare-for-extended-outage', mode: 'manual', text: 'Prepare for extended outage if needed', note: 'Stakeholders told of the expected duration, a restore planned (`/acgs backups`): tick once ready or not needed.' },
  ],
});

/** The incident types of issue 16 (bot/incidents/incident-input.ts) and each one's procedure. */
export const incidentProcedures = {
  performance: highLatencyResponse,
  security: securityBreachResponse,
  constitutional: constitutionalViolationEmergency,
  infrastructure: systemWideOutageResponse,
} as const satisfies Record<string, ChecklistDefinition>;
