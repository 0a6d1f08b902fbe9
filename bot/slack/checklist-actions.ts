/**
 * A click on a checklist message's Tick / Untick / Confirm by hand / Re-run checks: the command a
 * person could type (`checklist tick|untick <id> <item>`, `checklist rerun <id>`), run as the
 * clicker by the shared command button (listener-kit.ts), so the audit trail says who ticked what
 * and when. The change is shown by the bot's checklist messages (checklist-messages.ts), whichever
 * way it was made. A refusal is answered to the clicker only.
 */
import type { App } from '@slack/bolt';
import { CHECKLIST_ACTION_PATTERN, checklistActionLine, type ChecklistAction } from './checklist-message.js';
import { registerCommandButton, type CommandButtonDeps } from './listener-kit.js';

export type ChecklistActionsDeps = CommandButtonDeps;

export function registerChecklistActions(app: App, deps: ChecklistActionsDeps): void {
  registerCommandButton<ChecklistAction>(app, deps, {
    pattern: CHECKLIST_ACTION_PATTERN,
    line: (which, value) => {
      const line = checklistActionLine(which, value);
      return line ? { line } : undefined;
    },
    namesNothing: 'This button names no checklist item; nothing was done.',
    // Done: the checklist's message shows it. A failed automatic check is news the message shows too.
    answers: (outcome) => outcome.outcome === 'rejected' || outcome.outcome === 'error',
    message: 'checklist message',
  });
}
