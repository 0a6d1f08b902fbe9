/** The runbook's "Alert Responses" that are runbooks of their own (the others are single commands: alertResponse in bot/alerts). */
import type { AnyRunbook } from '../engine/definition.js';
import { highLatency } from './high-latency.js';

export { highLatency };

export const alertResponseRunbooks: readonly AnyRunbook[] = [highLatency];
