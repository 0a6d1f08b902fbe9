/**
 * Escalation of unacknowledged alerts, Slack-free: `run(now)` looks at the open alerts, judges
 * each (escalation-judgement.ts), claims the level it goes to (escalation-records.ts: once per
 * episode and level, whichever replica gets there first), notes it on the alert and hands it to
 * the level's actions (the Slack side: bot/slack/alert-escalations.ts). `escalateNow` is the
 * same step without the wait, for the Level 1 circuit breaker.
 *
 * A level is recorded before its actions run, so a crash in between loses that level's message
 * rather than sending it twice; the note on the alert says the level was reached either way.
 */
import type { Actor } from '../../commands/command.js';
import type { AlertRecord, AlertStore } from './alert-store.js';
import { immediateStep, judgeEscalation, type EscalationStep, type JudgementInput } from './escalation-judgement.js';
import { issueTypeOf, recipientsOf, type ContactSlackReach, type EscalationMatrix, type EscalationRecipients, type IssueType } from './escalation-matrix.js';
import type { EscalationRecords } from './escalation-records.js';

/**
 * Who proposes Level 4's lockdown through the command path: not a person, so that both approvals
 * are people's. It is the one holder of ESCALATION_ROLE, which the authorization rules let request
 * `lockdown` and nothing else (bot/authorization/defaults.json); bot/main.ts gives it the role.
 */
export const ESCALATION_ACTOR: Actor = { id: 'acgs-alert-escalation', name: 'alert escalation' };
export const ESCALATION_ROLE = 'alert-escalation';

/** A level an alert just reached, for the level's actions. */
export interface EscalationNotice {
  alert: AlertRecord;
  level: 2 | 3 | 4;
  reason: string;
  issueType: IssueType;
  recipients: EscalationRecipients;
}

/** What a level does: Level 2 tells on-call, Level 3 also the approvers, Level 4 proposes a lockdown. */
export interface EscalationActions {
  /** Should not throw: its failures are its own to log. One that throws is logged here. */
  levelReached(notice: EscalationNotice): Promise<void>;
}

/**
 * Several sets of actions for each level (Slack's, and the pages of bot/paging/), run side by side:
 * a Slack that hangs must not hold a page back, nor a page the lockdown proposal.
 */
export function allEscalationActions(sets: readonly EscalationActions[], log: (message: string, error?: unknown) => void = () => undefined): EscalationActions {
  return {
    async levelReached(notice) {
      const outcomes = await Promise.allSettled(sets.map((set) => set.levelReached(notice)));
      outcomes.forEach((outcome) => {
        if (outcome.status === 'rejected') log(`alert ${notice.alert.id}: Level ${notice.level}'s actions failed`, outcome.reason);
      });
    },
  };
}

export interface EscalationsOptions {
  alerts: Pick<AlertStore, 'listOpen' | 'activeSilences' | 'get' | 'note'>;
  records: EscalationRecords;
  matrix: EscalationMatrix;
  /** The config's roles (who `oncall`, `approvers`... are). */
  roles: Readonly<Record<string, readonly string[]>>;
  /** The config's contacts (bot/paging/contacts.ts), which the matrix may name beside roles. */
  contacts?: ReadonlyMap<string, ContactSlackReach>;
  actions: EscalationActions;
  /** For escalateNow; run() is given its time. */
  now?: () => Date;
  log?(message: string, error?: unknown): void;
}

export interface Escalations {
  /**
   * One check of every open alert at `now`; the notices of the levels this replica reached. A call
   * while the previous one still runs waits for it and does not check again.
   */
  run(now: Date): Promise<EscalationNotice[]>;
  /** Up one level at once (the Level 1 circuit breaker); undefined when it does not go up (a person has it, top level, reached already). */
  escalateNow(alert: AlertRecord | string, reason: string): Promise<EscalationNotice | undefined>;
}

export function createEscalations(options: EscalationsOptions): Escalations {
  const { alerts, records, matrix, roles, actions } = options;
  const clock = options.now ?? (() => new Date());
  const log = options.log ?? (() => undefined);
  let running: Promise<EscalationNotice[]> | undefined;

  async function silencedRules(): Promise<Set<string>> {
    return new Set((await alerts.activeSilences()).map((silence) => silence.rule));
  }

  async function inputOf(alert: AlertRecord, silenced: Set<string>): Promise<JudgementInput> {
    const reached = await records.reached([{ alertId: alert.id, firedAt: alert.firedAt }]);
    return { alert, reached: reached.get(alert.id) ?? [], silenced: silenced.has(alert.rule) };
  }

  async function escalate(alert: AlertRecord, step: EscalationStep, at: Date): Promise<EscalationNotice | undefined> {
    if (!(await records.claim({ alertId: alert.id, firedAt: alert.firedAt }, step.level, at, step.reason))) return undefined;
    const issueType = issueTypeOf(matrix, alert.rule);
    const recipients = recipientsOf(matrix, step.level, issueType, roles, options.contacts);
    const notice: EscalationNotice = { alert, level: step.level, reason: step.reason, issueType, recipients };
    await alerts
      .note(alert.id, {
        kind: 'escalated',
        details: { summary: `Level ${step.level}: ${step.reason}`, level: step.level, reason: step.reason, issue_type: issueType, notified: recipients.ids, ...(recipients.contacts ? { contacts: recipients.contacts } : {}), ...(recipients.emptyRoles.length > 0 ? { roles_without_members: recipients.emptyRoles } : {}) },
      })
      .catch((error: unknown) => log(`alert ${alert.id}: Level ${step.level} could not be noted on the alert`, error));
    try {
      await actions.levelReached(notice);
    } catch (error) {
      log(`alert ${alert.id}: Level ${step.level}'s actions failed`, error);
    }
    return notice;
  }

  async function check(now: Date): Promise<EscalationNotice[]> {
    const open = (await alerts.listOpen()).filter((alert) => alert.state === 'firing');
    if (open.length === 0) return [];
    const silenced = await silencedRules();
    const reached = await records.reached(open.map((alert) => ({ alertId: alert.id, firedAt: alert.firedAt })));
    const notices: EscalationNotice[] = [];
    for (const alert of open) {
      const step = judgeEscalation({ alert, reached: reached.get(alert.id) ?? [], silenced: silenced.has(alert.rule) }, matrix, now);
      if (!step) continue;
      // One alert's failure (a database hiccup) must not keep the others from escalating.
      const notice = await escalate(alert, step, now).catch((error: unknown) => log(`alert ${alert.id}: could not escalate to Level ${step.level}`, error));
      if (notice) notices.push(notice);
    }
    return notices;
  }

  return {
    run(now) {
      running ??= check(now).finally(() => {
        running = undefined;
      });
      return running;
    },

    async escalateNow(alertOrId, reason) {
      const alert = typeof alertOrId === 'string' ? await alerts.get(alertOrId) : await alerts.get(alertOrId.id);
      if (!alert) return undefined;
      const now = clock();
      const step = immediateStep(await inputOf(alert, await silencedRules()), reason, now);
      return step ? escalate(alert, step, now) : undefined;
    },
  };
}
