/**
 * A click on a run message's Abort / Retry / Skip / Abort: the same command a person could type,
 * `run abort <id>` or `run decide <id> retry|skip|abort`, run as the clicker by the shared command
 * button (listener-kit.ts). An approval request (an escalated runbook, strict mode) goes in the
 * run's thread. The publisher (run-message-publisher.ts) shows the run's new state on its next
 * poll, whichever replica publishes it. A refusal or failure is answered to the clicker only.
 */
import type { App } from '@slack/bolt';
import { isRunId } from '../../runbooks/engine/run-store.js';
import { registerCommandButton, type CommandButtonDeps } from './listener-kit.js';
import { RUNBOOK_ACTION_PATTERN, runActionLine, type RunbookAction } from './run-message.js';

export type RunActionsDeps = CommandButtonDeps;

export function registerRunActions(app: App, deps: RunActionsDeps): void {
  registerCommandButton<RunbookAction>(app, deps, {
    pattern: RUNBOOK_ACTION_PATTERN,
    line: (which, value) => {
      const runId = typeof value === 'string' ? value.toLowerCase() : '';
      return isRunId(runId) ? { line: runActionLine(which, runId), log: { run: runId } } : undefined;
    },
    namesNothing: 'This button names no run; nothing was done.',
    // Refused (no right to, the run waits for no decision any more) or failed: only the clicker reads why.
    answers: (outcome) => outcome.outcome !== 'ok',
    message: 'run message',
  });
}
