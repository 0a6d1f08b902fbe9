/** The runbook engine in the bot: what main.ts, the tests and the benchmarks import. */
export { startRunbookEngine, type RunbookEngine, type RunbookEngineOptions } from './runbook-engine.js';
export { createRunbookRuns, type RunbookRunsOptions } from './runbook-runs.js';
export { trailAuditSink } from './trail-audit-sink.js';
export { createBackupCatalog } from './backup-catalog.js';
export { backupHostPorts, verifyTrailCopy } from './backup-host-ports.js';
export { drReportDocument, drTestHostPorts, type DrTestChannels } from './dr-test-host-ports.js';
export { contactsOfIssueType, evidenceSetup, incidentResponseHostPorts, smtpContactMail, type IncidentResponseHostOptions } from './incident-response-host-ports.js';
export { openBotDeployments, type BotDeploymentsOptions } from './deployments.js';
