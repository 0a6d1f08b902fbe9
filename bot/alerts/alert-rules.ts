/**
 * The runbook's alert rules (../shared/OPERATIONAL_RUNBOOK.md: "Alert Responses" and the quick
 * reference's thresholds), named once. The built-in monitor evaluates them itself; the shipped
 * Prometheus rules (prometheus/alert-rules.yml) carry the same names in their `alertname`, so an
 * alert from either source finds its response procedure, Level 1 action and escalation here.
 */
export const ALERT_RULE_NAMES = [
  'ServiceDown',
  'HighP99Latency',
  'ConstitutionalViolations',
  'HighErrorRate',
  'LowCacheHitRate',
  'HighCpu',
  'HighMemory',
  'SandboxFailures',
  'ServiceRestarted',
  'ServiceCrashLooping',
  'ScheduledJobOverdue',
] as const;
export type AlertRuleName = (typeof ALERT_RULE_NAMES)[number];

/** What Level 1 may do on its own for a rule (the runbook's "automatic resolution"), if anything. */
export type LevelOneAction = 'restart-service' | 'cache-warm' | 'prune-sandboxes';

export interface AlertRule {
  name: AlertRuleName;
  /** One line a person understands, with the threshold. */
  summary: string;
  /** The threshold the value is compared with, in `unit`. */
  threshold: number;
  unit: 'ms' | '%' | 'per minute' | 'count' | 'h';
  /** How long the condition must hold before the alert fires. */
  forSeconds: number;
  /** The escalation level an unacknowledged alert starts at (1 = automatic resolution). */
  level: 1 | 2 | 3 | 4;
  levelOne?: LevelOneAction;
  /**
   * Tells what happened without asking anyone to act: never escalated (ServiceRestarted, a crash
   * the supervisor or Docker's restart policy already healed). It resolves by itself.
   */
  informational?: true;
}

export const ALERT_RULES: Readonly<Record<AlertRuleName, AlertRule>> = {
  ServiceDown: { name: 'ServiceDown', summary: 'a service health check is failing', threshold: 1, unit: 'count', forSeconds: 5, level: 1, levelOne: 'restart-service' },
  HighP99Latency: { name: 'HighP99Latency', summary: 'Policy Engine p99 latency above 5 ms', threshold: 5, unit: 'ms', forSeconds: 60, level: 2 },
  ConstitutionalViolations: { name: 'ConstitutionalViolations', summary: 'more than 10 constitutional violations a minute', threshold: 10, unit: 'per minute', forSeconds: 60, level: 4 },
  HighErrorRate: { name: 'HighErrorRate', summary: 'Policy Engine error rate above 0.1 %', threshold: 0.1, unit: '%', forSeconds: 120, level: 2 },
  LowCacheHitRate: { name: 'LowCacheHitRate', summary: 'Policy Engine cache hit rate below 95 %', threshold: 95, unit: '%', forSeconds: 300, level: 1, levelOne: 'cache-warm' },
  HighCpu: { name: 'HighCpu', summary: 'a service above 80 % CPU', threshold: 80, unit: '%', forSeconds: 300, level: 2 },
  HighMemory: { name: 'HighMemory', summary: 'a service above 85 % of its memory', threshold: 85, unit: '%', forSeconds: 300, level: 2 },
  SandboxFailures: { name: 'SandboxFailures', summary: 'sandbox executions failing', threshold: 5, unit: 'per minute', forSeconds: 120, level: 1, levelOne: 'prune-sandboxes' },
  // A crash is told the moment the restart count goes up (no `for`); no Level 1: it is healed already.
  ServiceRestarted: { name: 'ServiceRestarted', summary: 'a service crashed and was restarted on its own', threshold: 1, unit: 'count', forSeconds: 0, level: 1, informational: true },
  // Restarting is what already fails, so no Level 1 either: it starts at Level 2, the on-call person.
  ServiceCrashLooping: { name: 'ServiceCrashLooping', summary: 'a service crashed 3 or more times within 10 minutes', threshold: 3, unit: 'count', forSeconds: 0, level: 2 },
  // Raised by the scheduler (bot/schedules) 2 h after a run a job owes: a daily backup that has not
  // run for 26 h. A person looks at it (`schedule`, the run's error); nothing retries on its own.
  ScheduledJobOverdue: { name: 'ScheduledJobOverdue', summary: 'a scheduled job has not run for 2 h past its time', threshold: 2, unit: 'h', forSeconds: 0, level: 2 },
};

/** How far back ServiceCrashLooping counts crashes. */
export const CRASH_LOOP_WINDOW_MS = 10 * 60_000;

/**
 * Rules only the bot judges, absent from prometheus/alert-rules.yml: Prometheus sees a new
 * `process_start_time_seconds`, not whether a crash or a person restarted the process, so it cannot
 * tell a crash apart from a restart or deploy (its ServiceCrashLooping counts every restart); and
 * only the scheduler's own records say whether a job ran (bot/schedules).
 */
export const BOT_ONLY_RULE_NAMES: readonly AlertRuleName[] = ['ServiceRestarted', 'ScheduledJobOverdue'];

export function isAlertRuleName(name: string): name is AlertRuleName {
  return (ALERT_RULE_NAMES as readonly string[]).includes(name);
}

/** The runbook's response to an alert, as the command line its button runs through the command path. */
export interface AlertResponse {
  /** The button's text, e.g. `Run: service down`. */
  label: string;
  /** The command line, without `/acgs`. */
  command: string;
}

/**
 * The runbook's response procedure of each rule ("Alert Responses"), as a command a person can
 * run from the alert with one click: the same authorization, approvals and audit as typed text.
 * Undefined when the alert lacks what the command needs (a ServiceDown without its service).
 */
export function alertResponse(rule: string, labels: Readonly<Record<string, string>>): AlertResponse | undefined {
  const service = labels.service && /^[a-z][a-z0-9-]{0,62}$/.test(labels.service) ? labels.service : undefined;
  switch (rule) {
    case 'ServiceDown':
      return service ? { label: 'Run: service down', command: `restart ${service}` } : undefined;
    case 'HighP99Latency':
      return { label: 'Run: high latency', command: 'run high-latency' };
    case 'LowCacheHitRate':
      return { label: 'Run: cache warm', command: 'cache warm' };
    case 'SandboxFailures':
      return { label: 'Run: prune sandboxes', command: 'sandbox prune' };
    case 'HighMemory':
      return { label: 'Run: memory troubleshooting', command: 'troubleshoot memory' };
    case 'HighCpu':
      return { label: 'Show: stats', command: service ? `stats ${service}` : 'stats' };
    case 'HighErrorRate':
      return { label: 'Show: error logs', command: 'logs policy-engine --since 10m --grep error' };
    case 'ConstitutionalViolations':
      return { label: 'Show: violations', command: 'violations' };
    case 'ServiceRestarted':
    case 'ServiceCrashLooping':
      return service ? { label: 'Show: logs', command: `logs ${service} --since 15m` } : undefined;
    case 'ScheduledJobOverdue':
      return { label: 'Show: schedules', command: 'schedule' };
    default:
      return undefined;
  }
}
