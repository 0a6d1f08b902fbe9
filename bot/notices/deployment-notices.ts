/**
 * The `notices` port of runbook steps (runbooks/engine/ports.ts): one deployment notice to the
 * deploys channel, to each person of the `stakeholders` role by direct message (user groups
 * expanded; a person in two groups gets one DM) and by e-mail when SMTP_URL is set.
 *
 * Slack-free: how a message reaches a channel or a person is the NoticeChat the bot hands in
 * (bot/slack/deployment-notice-chat.ts). A target that fails never stops the others and never
 * throws: the answer says, target by target, what arrived and why the rest did not, and every
 * failure is logged, so that a lost notice is never a silent one.
 */
import type { DeploymentNotice, NoticeDelivery, NoticesPort, NoticeTargetOutcome } from '../../runbooks/engine/ports.js';
import { USER_GROUP_ID, type UserGroupDirectory } from '../authorization/roles.js';
import type { NoticeMailer } from './email-notices.js';
import { targetKey, type NoticeLedger, type TargetKind } from './notice-ledger.js';

/** How a notice reaches Slack; each rejects with an Error whose message says why, for people. */
export interface NoticeChat {
  postToChannel(channel: string, notice: DeploymentNotice): Promise<void>;
  directMessage(userId: string, notice: DeploymentNotice): Promise<void>;
}

export interface DeploymentNoticesOptions {
  chat: NoticeChat;
  /** The config's `channels.deploys` and `channels.ops`. */
  channels: { deploys?: string | undefined; ops?: string | undefined };
  /** The channel the run was asked for in, the last fallback (the run's message is there). */
  runChannel?(runId: string): Promise<string | undefined>;
  /** The config's `roles.stakeholders`: user IDs and user group IDs. */
  stakeholders: readonly string[];
  /** Members of the user groups in `stakeholders` (bot/authorization/roles.ts reads them the same way). */
  groups?: UserGroupDirectory;
  /** Absent when SMTP_URL is not set. */
  mailer?: NoticeMailer;
  /** Targets reached before: a notify step run again sends only to the others. */
  ledger?: NoticeLedger;
  log?(message: string, error?: unknown): void;
}

/** What a target that got this notice on an earlier attempt of the step says. */
export const SENT_EARLIER = 'sent on an earlier attempt';

const reason = (error: unknown) => ((error as Error)?.message ?? String(error)).split('\n')[0]!;

export function createDeploymentNotices(options: DeploymentNoticesOptions): NoticesPort {
  const log = options.log ?? (() => undefined);

  /** The targets reached before, or none when the ledger cannot say (then everyone gets it: better twice than never). */
  async function reachedBefore(notice: DeploymentNotice): Promise<Set<string>> {
    if (!options.ledger) return new Set();
    return options.ledger.reached(notice).catch((error: unknown) => {
      log(`deployment notice for run ${notice.runId}: could not read which targets it reached before; sending to all`, error);
      return new Set<string>();
    });
  }

  async function remember(notice: DeploymentNotice, kind: TargetKind, target: string): Promise<void> {
    await options.ledger?.record(notice, kind, target).catch((error: unknown) => log(`deployment notice for run ${notice.runId}: could not record its delivery to ${target}; a retry of the step would send it again`, error));
  }

  async function channelTarget(runId: string): Promise<{ channel: string; source: string } | { problem: string }> {
    if (options.channels.deploys) return { channel: options.channels.deploys, source: 'channels.deploys' };
    if (options.channels.ops) return { channel: options.channels.ops, source: 'channels.ops, as there is no channels.deploys' };
    const asked = await options.runChannel?.(runId).catch((error: unknown) => {
      log(`deployment notice: the run's channel could not be read`, error);
      return undefined;
    });
    if (asked) return { channel: asked, source: 'where the run was asked for, as there is no channels.deploys or channels.ops' };
    return { problem: 'no channel to post to: set channels.deploys (or channels.ops) in ACGS_CONFIG' };
  }

  async function toChannel(notice: DeploymentNotice, earlier: Set<string>): Promise<NoticeTargetOutcome> {
    const target = await channelTarget(notice.runId);
    if ('problem' in target) {
      log(`deployment notice for run ${notice.runId}: ${target.problem}`);
      return { kind: 'channel', target: '(none)', delivered: false, detail: target.problem };
    }
    if (earlier.has(targetKey('channel', target.channel))) return { kind: 'channel', target: target.channel, delivered: true, detail: `${target.source}, ${SENT_EARLIER}` };
    try {
      await options.chat.postToChannel(target.channel, notice);
      await remember(notice, 'channel', target.channel);
      return { kind: 'channel', target: target.channel, delivered: true, detail: target.source };
    } catch (error) {
      log(`deployment notice for run ${notice.runId}: not posted to ${target.channel} (${target.source})`, error);
      return { kind: 'channel', target: target.channel, delivered: false, detail: `${reason(error)} (${target.source})` };
    }
  }

  /** The stakeholders' user IDs, each once, and a sentence per user group that could not be read. */
  async function stakeholderIds(): Promise<{ users: string[]; problems: string[] }> {
    const users = new Set<string>();
    const problems: string[] = [];
    for (const member of options.stakeholders) {
      if (!USER_GROUP_ID.test(member)) {
        users.add(member);
        continue;
      }
      if (!options.groups) {
        problems.push(`user group ${member} could not be read (no Slack connection)`);
        continue;
      }
      try {
        for (const user of await options.groups.membersOf(member)) users.add(user);
      } catch (error) {
        problems.push(`user group ${member} could not be read (${reason(error)})`);
      }
    }
    return { users: [...users], problems };
  }

  async function toStakeholders(notice: DeploymentNotice, earlier: Set<string>): Promise<{ outcomes: NoticeTargetOutcome[]; problems: string[] }> {
    const { users, problems } = await stakeholderIds();
    for (const problem of problems) log(`deployment notice for run ${notice.runId}: ${problem}`);
    const outcomes = await Promise.all(
      users.map(async (user): Promise<NoticeTargetOutcome> => {
        if (earlier.has(targetKey('direct-message', user))) return { kind: 'direct-message', target: user, delivered: true, detail: SENT_EARLIER };
        try {
          await options.chat.directMessage(user, notice);
          await remember(notice, 'direct-message', user);
          return { kind: 'direct-message', target: user, delivered: true };
        } catch (error) {
          log(`deployment notice for run ${notice.runId}: no DM to ${user}`, error);
          return { kind: 'direct-message', target: user, delivered: false, detail: reason(error) };
        }
      }),
    );
    return { outcomes, problems };
  }

  async function byEmail(notice: DeploymentNotice, earlier: Set<string>): Promise<NoticeTargetOutcome[]> {
    const mailer = options.mailer;
    if (!mailer) return [];
    const before = mailer.settings.to.filter((address) => earlier.has(targetKey('email', address)));
    const sentBefore = before.map((address): NoticeTargetOutcome => ({ kind: 'email', target: address, delivered: true, detail: SENT_EARLIER }));
    const to = mailer.settings.to.filter((address) => !before.includes(address));
    if (to.length === 0) return sentBefore;
    try {
      const { accepted, rejected } = await mailer.send(notice, to);
      for (const address of accepted) await remember(notice, 'email', address);
      return [
        ...sentBefore,
        ...accepted.map((address): NoticeTargetOutcome => ({ kind: 'email', target: address, delivered: true })),
        ...rejected.map((address): NoticeTargetOutcome => ({ kind: 'email', target: address, delivered: false, detail: `refused by ${mailer.settings.server}` })),
      ];
    } catch (error) {
      log(`deployment notice for run ${notice.runId}: e-mail through ${mailer.settings.server} failed`, error);
      return [...sentBefore, ...to.map((address): NoticeTargetOutcome => ({ kind: 'email', target: address, delivered: false, detail: `${mailer.settings.server}: ${reason(error)}` }))];
    }
  }

  return {
    async deploymentNotice(notice) {
      const earlier = await reachedBefore(notice);
      const [channel, stakeholders, email] = await Promise.all([toChannel(notice, earlier), toStakeholders(notice, earlier), byEmail(notice, earlier)]);
      const targets = [channel, ...stakeholders.outcomes, ...email];
      const delivered = targets.filter((target) => target.delivered).length;
      const delivery: NoticeDelivery = {
        summary: summarize(channel, stakeholders, email, options),
        delivered,
        attempted: targets.filter((target) => target.target !== '(none)').length,
        targets,
      };
      return delivery;
    },
  };
}

function summarize(
  channel: NoticeTargetOutcome,
  stakeholders: { outcomes: NoticeTargetOutcome[]; problems: string[] },
  email: NoticeTargetOutcome[],
  options: DeploymentNoticesOptions,
): string {
  const parts: string[] = [];
  parts.push(channel.delivered ? `posted to ${channel.target} (${channel.detail})` : channel.target === '(none)' ? `NOT posted: ${channel.detail}` : `NOT posted to ${channel.target}: ${channel.detail}`);

  const dms = stakeholders.outcomes;
  const failed = dms.filter((outcome) => !outcome.delivered);
  if (options.stakeholders.length === 0) {
    parts.push('no DMs (no stakeholders role in ACGS_CONFIG)');
  } else {
    const problems = [...failed.map((outcome) => `${outcome.target} cannot be messaged (${outcome.detail})`), ...stakeholders.problems];
    parts.push(`DM to ${dms.length - failed.length} of ${dms.length} stakeholder${dms.length === 1 ? '' : 's'}${earlierNote(dms)}${problems.length > 0 ? `: ${problems.join('; ')}` : ''}`);
  }

  if (!options.mailer) {
    parts.push('no e-mail (SMTP_URL is not set)');
  } else {
    const sent = email.filter((outcome) => outcome.delivered);
    const notSent = email.filter((outcome) => !outcome.delivered);
    const sentText = `e-mail sent to ${sent.length} address${sent.length === 1 ? '' : 'es'}${earlierNote(sent)}`;
    if (notSent.length === 0) parts.push(sentText);
    else if (sent.length === 0 && new Set(notSent.map((outcome) => outcome.detail)).size === 1) parts.push(`e-mail NOT sent: ${notSent[0]!.detail}`);
    else parts.push(`${sentText}, NOT to ${notSent.map((outcome) => `${outcome.target} (${outcome.detail})`).join(', ')}`);
  }
  return parts.join('; ');
}

function earlierNote(outcomes: NoticeTargetOutcome[]): string {
  const earlier = outcomes.filter((outcome) => outcome.detail === SENT_EARLIER).length;
  return earlier > 0 ? ` (${earlier} on an earlier attempt)` : '';
}
