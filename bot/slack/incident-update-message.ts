/**
 * An incident's status update as it is told in Slack (issue 16): in its channel, in channels.ops
 * and, for sev1 and sev2, to the stakeholders by DM. The author is a mention made from their ID;
 * the update's own words are escaped, so an update can never mention `<!channel>` or a person.
 */
import type { IncidentInfo } from '../../commands/ports.js';
import { sentenceMrkdwn } from './approval-message.js';
import { fitText } from './mrkdwn.js';
import { SLACK_LIMITS, type SlackMessage } from './render.js';

export interface IncidentUpdateToTell {
  incident: Pick<IncidentInfo, 'key' | 'title' | 'severity' | 'type' | 'channelId'>;
  update: { author: string; text: string; at: Date };
  /** Said under the update where it is told away from the incident's channel: where the incident runs. */
  elsewhere?: boolean;
}

export function renderIncidentUpdate({ incident, update, elsewhere }: IncidentUpdateToTell): SlackMessage {
  const time = `${update.at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const runsIn = elsewhere && incident.channelId ? ` · it runs in <#${incident.channelId}>` : '';
  return {
    text: fitText(`${incident.key} update (${incident.severity}): ${update.text}`, SLACK_LIMITS.fallbackText),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: fitText(`${incident.key} update · ${incident.severity} · ${incident.title}`, SLACK_LIMITS.headerText), emoji: true } },
      { type: 'section', text: { type: 'mrkdwn', text: fitText(update.text, SLACK_LIMITS.sectionText) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `${sentenceMrkdwn(['by ', { user: update.author }, ` at ${time} · ${incident.type}`])}${runsIn}` }] },
    ],
  };
}
