export { ALERT_RULE_NAMES, ALERT_RULES, isAlertRuleName, type AlertRule, type AlertRuleName, type LevelOneAction } from './alert-rules.js';
export { alertSettingsFromEnv, DEFAULT_ALERT_SETTINGS, type AlertSettings } from './alert-settings.js';
export {
  AlertActionError,
  ALERT_MIGRATIONS_TABLE,
  createAlertStore,
  migrateAlertStore,
  type AlertActionResult,
  type AlertChange,
  type AlertEvent,
  type AlertHistoryEntry,
  type AlertRecord,
  type AlertSilence,
  type AlertState,
  type AlertStore,
} from './alert-store.js';
export { createMonitorBeat, startAlertMonitor, type AlertMonitor, type AlertMonitorOptions, type MonitorAlerts } from './alert-monitor.js';
export type { AlertIntake, AlertIntakeResult, AlertSource, ReportedAlert } from './intake.js';
export { alertInfo, commandAlerts, type CommandAlertsOptions } from './alert-commands.js';
export { createEscalations, ESCALATION_ACTOR, ESCALATION_ROLE, type EscalationActions, type EscalationNotice, type Escalations } from './escalation.js';
export { DEFAULT_ESCALATION, escalationMatrix, EscalationSection, type EscalationMatrix, type IssueType } from './escalation-matrix.js';
export { createEscalationRecords, migrateEscalationRecords, ESCALATION_MIGRATIONS_TABLE, type EscalationRecords } from './escalation-records.js';
export { alertSwitchesFromEnv, type AlertSwitches } from './alert-switches.js';
export { createLevelOne, LEVEL_ONE_NOTE_ACTOR, levelOnePlan, type LevelOne, type LevelOneOptions, type LevelOnePlan, type LevelOneRun } from './level-one.js';
export { createLevelOneClaims, type LevelOneActionRecord, type LevelOneClaims } from './level-one-claims.js';
export { decideLevelOne, levelOneLimits, type LevelOneDecision, type LevelOneLimits, type LevelOneRefusal, type StackConditions } from './level-one-guards.js';
export { LEVEL_ONE_ACTOR, startLevelOne, withLevelOneActor, type LevelOneWiring } from './level-one-wiring.js';
