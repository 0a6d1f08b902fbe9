/**
 * An escalation as a Slack message: which level the alert reached and why, what the level means
 * (the runbook's "Escalation Procedures"), and the people it is for as mentions. Everything that
 * came with the alert (its rule, its labels) is escaped: only the IDs of the matrix become mentions.
 */
import type { types as slackTypes } from '@slack/bolt';
import type { EscalationNotice } from '../alerts/escalation.js';
import { ESCALATION_LEVEL_NAMES as LEVEL_NAMES } from '../alerts/escalation-matrix.js';
import { declareIncidentButton } from './alert-message.js';
import { escapeText, fitText } from './mrkdwn.js';
import { SLACK_LIMITS, type SlackMessage } from './render.js';

type KnownBlock = slackTypes.KnownBlock;

const LEVEL_EMOJI: Record<2 | 3 | 4, string> = { 2: ':warning:', 3: ':rotating_light:', 4: ':sos:' };

/** `<@U…>` for a person, `<!subteam^S…>` for a user group. */
export function mentionOf(id: string): string {
  return id.startsWith('S') ? `<!subteam^${id}>` : `<@${id}>`;
}

/** A message names at most this many people and groups: beyond, a section would pass Slack's limit. */
const MAX_MENTIONS = 100;

export interface EscalationMessageOptions {
  /** Whether Level 3 opened an incident (issue 16); until incidents exist it says one would be. */
  incidentOpened?: boolean;
  /** The incident it opened (INC-3), when it says which. */
  incidentKey?: string;
}

/** What else the level does, in a sentence, after its headline. */
function levelDoes(notice: EscalationNotice, options: EscalationMessageOptions): string {
  switch (notice.level) {
    case 2:
      return 'Someone needs to look at it: acknowledge the alert to take it, or it goes to Level 3.';
    case 3:
      // alert-escalations.ts's openIncident is the seam where the level will declare one itself.
      return options.incidentOpened
        ? `${options.incidentKey ? `Incident ${options.incidentKey} is` : 'An incident is'} opened. Acknowledge the alert, or it goes to Level 4.`
        : 'Time to open an incident: the Declare incident button, or `/acgs incident declare` with a severity (sev1 to sev4) and a title. Acknowledge the alert, or it goes to Level 4.';
    case 4:
      return 'The runbook\'s emergency response: the bot proposes an emergency lockdown of the Policy Engine, which runs only once approved.';
  }
}

export function renderEscalationMessage(notice: EscalationNotice, options: EscalationMessageOptions = {}): SlackMessage {
  const { alert, level } = notice;
  const service = alert.labels.service ? ` on ${alert.labels.service}` : '';
  const headline = `Level ${level} (${LEVEL_NAMES[level]}): alert ${alert.id} ${alert.rule}${service}`;
  const why = `${notice.reason[0]!.toUpperCase()}${notice.reason.slice(1)}; ${notice.issueType} issue.`;
  const ids = notice.recipients.ids;
  const mentions = `${ids.slice(0, MAX_MENTIONS).map(mentionOf).join(' ')}${ids.length > MAX_MENTIONS ? ` and ${ids.length - MAX_MENTIONS} more` : ''}`;
  const nobody =
    notice.recipients.emptyRoles.length > 0 ? ` Nobody holds ${notice.recipients.emptyRoles.map((role) => `roles.${role}`).join(', ')} in the bot's config: add people there.` : '';
  const forWhom = mentions ? `For ${mentions}.${escapeText(nobody)}` : `Nobody to mention.${escapeText(nobody)}`;
  const body = `${LEVEL_EMOJI[level]} *${fitText(headline, 300)}*\n${fitText(why, 600)} ${escapeText(levelDoes(notice, options))}`;
  const blocks: KnownBlock[] = [
    // Escaped piece by piece above, and short enough by construction: fitting it again would escape it twice.
    { type: 'section', text: { type: 'mrkdwn', text: body } },
    { type: 'section', text: { type: 'mrkdwn', text: forWhom.slice(0, SLACK_LIMITS.sectionText) } },
  ];
  // Declares the episode's incident as the clicker (alert-actions.ts); once one is open it would only name it again.
  if (!options.incidentOpened) blocks.push({ type: 'actions', block_id: `acgs_escalation_${alert.id}_${level}`, elements: [declareIncidentButton(alert.id)] });
  // The mentions in the fallback text too: that is what notifications show.
  return { text: `${fitText(headline, 1000)} ${mentions}`.slice(0, SLACK_LIMITS.fallbackText).trim(), blocks };
}
