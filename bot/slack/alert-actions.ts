/**
 * A click on an alert message's Acknowledge / Snooze / Resolve / response / Declare incident button:
 * the command a person could type (`alerts ack <id>`, `alerts snooze <id> 1h|4h|tomorrow`, `alerts
 * resolve <id>`, the rule's response line such as `restart audit-engine`, or for an escalated alert
 * `incident declare <sev> --type <type> <title>`), run as the clicker by the shared
 * command button (listener-kit.ts): the same authorization, approvals and audit trail as typed
 * text. The button carries only the alert's id; the alert is looked up first, so a button of an
 * alert that no longer exists answers so and runs nothing, and the response line is made from the
 * alert as stored, never from the click. The alert's message shows the outcome by itself
 * (alert-messages.ts); a refusal or failure is answered to the clicker only. The response's answer
 * goes in the alert's thread, and what it ran is noted in the alert's history (a `note`).
 */
import type { App } from '@slack/bolt';
import { alertResponse } from '../alerts/alert-rules.js';
import type { AlertRecord, AlertStore } from '../alerts/alert-store.js';
import { alertIncidentLine, alertIncidentRequestId, declaredIncident, putAlertOnTimeline } from '../incidents/alert-incidents.js';
import type { IncidentStore } from '../incidents/incident-store.js';
import { ALERT_ACTION_PATTERN, alertActionLine, escalatedLevel, isAlertId, type AlertAction } from './alert-message.js';
import { registerCommandButton, type CommandButtonDeps } from './listener-kit.js';

export interface AlertActionsDeps extends CommandButtonDeps {
  alerts: Pick<AlertStore, 'get' | 'note' | 'events'>;
  /** Where "Declare incident" puts the alert on the incident's timeline; without it the button still declares. */
  incidents?: Pick<IncidentStore, 'addToTimeline'>;
}

/**
 * "Declare incident": `incident declare <sev> --type <type> <title>` from the alert's latest
 * escalation of this episode (its level gives the severity, the matrix's issue type for its rule
 * the type), with the episode's request id, so a second click or Level 3's own names the same
 * incident (bot/incidents/alert-incidents.ts).
 */
async function declarationOf(alerts: AlertActionsDeps['alerts'], alert: AlertRecord): Promise<{ line: string; requestId: string } | { refused: string }> {
  if (alert.state === 'resolved') return { refused: `Alert ${alert.id} is resolved; no incident was declared for it. Type \`/acgs incident declare\` if one is needed.` };
  const events = await alerts.events(alert.id);
  const level = escalatedLevel(alert, events);
  if (!level) return { refused: `Alert ${alert.id} has not escalated; no incident was declared for it. Type \`/acgs incident declare\` if one is needed.` };
  const escalated = events.filter((event) => event.kind === 'escalated' && event.details?.level === level).at(-1);
  const issueType = typeof escalated?.details?.issue_type === 'string' ? escalated.details.issue_type : 'infrastructure';
  return { line: alertIncidentLine(alert, level, issueType), requestId: alertIncidentRequestId(alert) };
}

/** "Run: service down" acts; "Show: logs" only reads. */
const actsOnTheStack = (response: { label: string }) => response.label.startsWith('Run:');

const RAN_WORDS: Record<string, string> = { ok: 'succeeded', warn: 'finished with warnings', fail: 'failed', info: 'finished' };

export function registerAlertActions(app: App, deps: AlertActionsDeps): void {
  registerCommandButton<AlertAction>(app, deps, {
    pattern: ALERT_ACTION_PATTERN,
    line: async (which, value) => {
      if (!isAlertId(value)) return undefined;
      const alert = await deps.alerts.get(value);
      if (!alert) return { refused: `Alert ${value} no longer exists; nothing was done.` };
      if (which === 'declare') {
        const declaration = await declarationOf(deps.alerts, alert);
        return 'refused' in declaration ? declaration : { ...declaration, log: { alert: alert.id } };
      }
      if (which !== 'respond') return { line: alertActionLine(which, alert.id), log: { alert: alert.id } };
      const response = alertResponse(alert.rule, alert.labels);
      if (!response) return { refused: `Alert ${alert.id} (${alert.rule}) has no response the bot can run; nothing was done.` };
      // A "Run:" response acts on the stack: its report (a restart's "healthy now, pid 6710 → 7783")
      // is about the alert, so it goes in the alert's thread, beside Level 1's actions. A "Show:"
      // one only reads, for the clicker.
      return { line: response.command, log: { alert: alert.id }, answerInThread: actsOnTheStack(response) };
    },
    namesNothing: 'This button names no alert; nothing was done.',
    // Done: the alert's message shows it. A refusal (no right to, a resolved alert) only the clicker reads;
    // a response's answer (a restart's report) and a declaration (which incident, where) are the clicker's to read too.
    answers: (outcome) => outcome.outcome !== 'ok' || !outcome.command?.startsWith('alerts'),
    // A "Run:" response in the alert's history, as Level 1's actions are: `alerts history` tells who ran what.
    ran: async (which, value, outcome, clicker) => {
      if (which === 'declare' && isAlertId(value)) {
        const alert = await deps.alerts.get(value);
        const incident = declaredIncident(outcome);
        if (alert && incident && deps.incidents) await putAlertOnTimeline(deps.incidents, incident.key, alert, clicker, escalatedLevel(alert, await deps.alerts.events(alert.id)));
        return;
      }
      if (which !== 'respond' || !isAlertId(value)) return;
      const alert = await deps.alerts.get(value);
      const response = alert && alertResponse(alert.rule, alert.labels);
      if (!alert || !response || !actsOnTheStack(response)) return;
      const result = [outcome.document.title, outcome.document.summary].filter(Boolean).join(': ');
      await deps.alerts.note(alert.id, {
        kind: 'note',
        actor: clicker,
        details: {
          summary: `<@${clicker}> ran ${response.command} (${response.label}): ${RAN_WORDS[outcome.outcome] ?? outcome.outcome}${result ? `. ${result}` : ''}`,
          command: response.command,
          outcome: outcome.outcome,
          origin: 'button',
          // Its full answer is in the thread already; the note is for the history.
          answered_in_thread: !outcome.document.ephemeral,
        },
      });
    },
    message: 'alert message',
  });
}
