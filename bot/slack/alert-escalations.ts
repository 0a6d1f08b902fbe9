/**
 * What each escalation level does in Slack (bot/alerts/escalation.ts's EscalationActions):
 *
 * - Level 2: a message in the alerts channel mentioning the level's people (on-call by default),
 *   and a DM to the people of a contact (config `contacts`) that asks for one;
 * - Level 3: the same with the approvers too, and each person named also gets a DM; from Level 3
 *   the episode's incident is declared through `openIncident` (bot/incidents/alert-incidents.ts)
 *   and the message names it; without one, or when it failed, the message offers the
 *   "Declare incident" button (as Level 2's does);
 * - Level 4: the message, then an emergency lockdown proposed as an approval request: the
 *   `lockdown <reason>` line run through the command path as the bot's escalation actor, so the
 *   policy's Level 4 rules (two approvers, not the requester) apply, posted with its buttons.
 *
 * Every write goes through the channel's write queue. A Slack error is logged, never posted: a
 * message about a failed message is the storm issue 14 warns of.
 */
import type { webApi } from '@slack/bolt';
import type { ApprovalStore } from '../approvals/index.js';
import { ESCALATION_ACTOR, type EscalationActions, type EscalationNotice } from '../alerts/escalation.js';
import { executeCommandLine, type ExecutionDeps } from '../command-path/index.js';
import type { ChannelWriteQueue } from './channel-write-queue.js';
import { noticeSlackError } from './deployment-notice-chat.js';
import { renderEscalationMessage } from './escalation-message.js';
import { postApprovalRequest } from './listener-kit.js';
import { escapeText, fitText } from './mrkdwn.js';
import type { SlackMessage } from './render.js';

export interface SlackEscalationOptions {
  client: webApi.WebClient;
  queue: ChannelWriteQueue;
  /** `channels.alerts`, else `channels.ops`. */
  channel: string;
  /** The command path, for Level 4's lockdown request. */
  execution: ExecutionDeps;
  approvals: ApprovalStore;
  /** Issue 16's incidents: from Level 3 the episode's incident is declared (bot/incidents/alert-incidents.ts); it answers which. */
  openIncident?(notice: EscalationNotice): Promise<{ key: string } | void>;
  log(message: string, error?: unknown): void;
}

export function slackEscalationActions(options: SlackEscalationOptions): EscalationActions {
  const { client, queue, channel, log } = options;
  const slackFailed = (what: string, error: unknown) => log(`${what}: ${noticeSlackError(error).message}`);

  async function directMessages(notice: EscalationNotice, message: SlackMessage): Promise<void> {
    // People only: a user group hears of it through its mention in the channel. From Level 3 every
    // person named; below, those whose contact (config `contacts`) asks for a DM.
    const named = notice.level >= 3 ? notice.recipients.ids.filter((id) => !id.startsWith('S')) : [];
    const people = [...new Set([...named, ...(notice.recipients.directMessages ?? [])])];
    for (const person of people) {
      try {
        const opened = await client.conversations.open({ users: person });
        if (!opened.channel?.id) throw new Error('conversations.open answered without a channel');
        await queue.post(opened.channel.id, message);
      } catch (error) {
        slackFailed(`alert ${notice.alert.id}: Level ${notice.level} DM to ${person}`, error);
      }
    }
  }

  async function proposeLockdown(notice: EscalationNotice): Promise<void> {
    // One line whatever the alert's rule says: the command parser reads the rest of the line as the reason.
    const reason = `alert ${notice.alert.id} (${notice.alert.rule}) reached Level 4: ${notice.reason}`.replace(/\s+/g, ' ');
    const outcome = await executeCommandLine(options.execution, { line: `lockdown ${reason.slice(0, 400)}`, actor: ESCALATION_ACTOR, origin: 'alert', channelId: channel });
    if (outcome.approval) {
      try {
        await postApprovalRequest(client, options.approvals, outcome.approval, [{ channel }]);
      } catch (error) {
        slackFailed(`alert ${notice.alert.id}: the lockdown approval request ${outcome.approval.id}`, error);
      }
      return;
    }
    // Not a Slack error: the command path said no (already in lockdown, the policy unavailable), which people must know.
    const said = [outcome.document.title, outcome.document.summary].filter(Boolean).join(': ');
    log(`alert ${notice.alert.id}: the lockdown proposal was not made (${said})`);
    await queue
      .post(channel, {
        text: fitText(`Level 4 of alert ${notice.alert.id}: no lockdown was proposed: ${said}`, 3000),
        blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `:no_entry: *No lockdown was proposed for alert ${escapeText(notice.alert.id)}.* ${fitText(said, 2500)}` } }],
      })
      .catch((error: unknown) => slackFailed(`alert ${notice.alert.id}: the word that no lockdown was proposed`, error));
  }

  return {
    async levelReached(notice) {
      let incidentOpened = false;
      let incidentKey: string | undefined;
      if (notice.level >= 3 && options.openIncident) {
        incidentOpened = await options.openIncident(notice).then(
          (opened) => {
            incidentKey = opened ? opened.key : undefined;
            return true;
          },
          (error: unknown) => {
            log(`alert ${notice.alert.id}: the incident could not be opened`, error);
            return false;
          },
        );
      }
      const message = renderEscalationMessage(notice, { incidentOpened, ...(incidentKey ? { incidentKey } : {}) });
      try {
        await queue.post(channel, message);
      } catch (error) {
        slackFailed(`alert ${notice.alert.id}: the Level ${notice.level} message to ${channel}`, error);
      }
      await directMessages(notice, message);
      if (notice.level === 4) await proposeLockdown(notice);
    },
  };
}
