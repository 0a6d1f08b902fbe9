/**
 * Every runbook this code base ships, in one list: the bot registers them with its engine
 * (bot/runbook-runs), and `/acgs runbooks` lists them.
 */
import type { AnyRunbook } from './engine/definition.js';
import { alertResponseRunbooks } from './alert-responses/index.js';
import { backupRunbooks } from './backup/index.js';
import { deployRunbooks } from './deploy/index.js';
import { drTestRunbook } from './dr-test/index.js';
import { emergencyRunbooks } from './emergency/index.js';
import { healthCheck } from './health-check.js';
import { troubleshootingRunbooks } from './troubleshooting/index.js';

export const allRunbooks: readonly AnyRunbook[] = [healthCheck, ...backupRunbooks, ...deployRunbooks, drTestRunbook, ...troubleshootingRunbooks, ...alertResponseRunbooks, ...emergencyRunbooks];
