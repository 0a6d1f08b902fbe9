import { describe, expect, it } from 'vitest';
import { renderDocument } from '../slack/render.js';
import { validateBlocks } from '../slack/stand-in/block-kit.js';
import type { Severity } from './incident-input.js';
import {
  DEFAULT_UPDATE_REMINDER_MINUTES,
  dueUpdateReminders,
  IncidentsSection,
  updateReminderDocument,
  updateReminderIntervals,
  type RemindedIncident,
} from './update-reminders.js';

const T0 = new Date('2026-12-07T03:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);
const MINUTE = 60_000;
const defaults = updateReminderIntervals(undefined);

function open(id: string, lastUpdateMinute: number, overrides: Partial<RemindedIncident> = {}): RemindedIncident {
  return {
    id,
    key: `INC-${id}`,
    title: `incident ${id}`,
    severity: 'sev2',
    state: 'declared',
    channelId: `C0INC${id}`,
    lastUpdateAt: minutes(lastUpdateMinute),
    roles: { commander: { holder: 'U0ALICE', changedBy: 'U0ALICE', changedAt: T0 } },
    ...overrides,
  };
}

const dueKeys = (incidents: RemindedIncident[], now: Date, intervals = defaults) => dueUpdateReminders(incidents, intervals, now).map((due) => due.onceKey);

describe('which incidents are due an update reminder', () => {
  it('is none before the interval has passed since the last update, and the incident at the interval', () => {
    expect(dueUpdateReminders([open('1', 0)], defaults, minutes(29.99))).toEqual([]);
    const [due] = dueUpdateReminders([open('1', 0)], defaults, minutes(30));
    expect(due).toMatchObject({ dueAt: minutes(30), silentForMs: 30 * MINUTE, intervalMs: 30 * MINUTE, onceKey: 'incident-update-reminder:1:2026-12-07T03:30:00.000Z' });
    expect(due!.incident.key).toBe('INC-1');
  });

  it('names the same due point for every check within one interval, so a reminder is posted once', () => {
    const checks = [30, 31, 45, 59.9].map((minute) => dueKeys([open('1', 0)], minutes(minute)));
    expect(new Set(checks.flat())).toEqual(new Set(['incident-update-reminder:1:2026-12-07T03:30:00.000Z']));
    expect(dueKeys([open('1', 0)], minutes(60))).toEqual(['incident-update-reminder:1:2026-12-07T04:00:00.000Z']);
  });

  it('gives one reminder, for the latest due point, after the bot was down for several intervals', () => {
    const due = dueUpdateReminders([open('1', 0)], defaults, minutes(135));
    expect(due).toHaveLength(1);
    expect(due[0]).toMatchObject({ dueAt: minutes(120), silentForMs: 135 * MINUTE });
  });

  it('measures from the last update: a new update starts the clock again', () => {
    expect(dueKeys([open('1', 25)], minutes(40))).toEqual([]);
    expect(dueKeys([open('1', 25)], minutes(55))).toEqual(['incident-update-reminder:1:2026-12-07T03:55:00.000Z']);
  });

  it('never reminds of a resolved or closed incident', () => {
    expect(dueUpdateReminders([open('1', 0, { state: 'resolved' }), open('2', 0, { state: 'closed' })], defaults, minutes(300))).toEqual([]);
  });

  it('sees nothing due when the last update is ahead of this replica\'s clock', () => {
    expect(dueUpdateReminders([open('1', 10)], defaults, minutes(0))).toEqual([]);
  });

  it('uses each severity\'s interval, 30 minutes unless configured', () => {
    expect(defaults).toEqual({ sev1: 30 * MINUTE, sev2: 30 * MINUTE, sev3: 30 * MINUTE, sev4: 30 * MINUTE });
    const intervals = updateReminderIntervals({ update_reminder_minutes: { sev1: 15, sev4: 120 } });
    expect(intervals).toEqual({ sev1: 15 * MINUTE, sev2: 30 * MINUTE, sev3: 30 * MINUTE, sev4: 120 * MINUTE });
    const incidents = (['sev1', 'sev2', 'sev4'] as Severity[]).map((severity, index) => open(String(index + 1), 0, { severity }));
    expect(dueUpdateReminders(incidents, intervals, minutes(20)).map((due) => due.incident.severity)).toEqual(['sev1']);
    expect(dueUpdateReminders(incidents, intervals, minutes(40)).map((due) => due.incident.severity)).toEqual(['sev1', 'sev2']);
    expect(dueUpdateReminders(incidents, intervals, minutes(120)).map((due) => due.incident.severity)).toEqual(['sev1', 'sev2', 'sev4']);
  });

  it('does not repeat a due point already reminded of when a severity change shortens the interval', () => {
    const sev3At30 = dueKeys([open('1', 0, { severity: 'sev3' })], minutes(30), updateReminderIntervals({ update_reminder_minutes: { sev1: 15 } }));
    // Raised to sev1 at 03:35: its due points are 03:15, 03:30, 03:45; 03:30 was reminded of already.
    const sev1At35 = dueKeys([open('1', 0, { severity: 'sev1' })], minutes(35), updateReminderIntervals({ update_reminder_minutes: { sev1: 15 } }));
    expect(sev1At35).toEqual(sev3At30);
  });

  it('lists the longest silent first, INC-10 after INC-9 on a tie', () => {
    const due = dueUpdateReminders([open('10', 0), open('9', 0), open('3', -30)], defaults, minutes(45));
    expect(due.map((reminder) => reminder.incident.key)).toEqual(['INC-3', 'INC-9', 'INC-10']);
  });

  it('refuses an interval that is not a positive number rather than reminding every check', () => {
    for (const bad of [0, -1, Number.NaN]) {
      expect(() => dueUpdateReminders([open('1', 0)], { ...defaults, sev2: bad }, minutes(60))).toThrow(`the update reminder interval of sev2 must be a positive number of ms, got ${bad}`);
    }
  });
});

describe('the reminder message', () => {
  it('names the commander and the communications lead, says for how long and how to post an update', () => {
    const incident = open('4', 0, {
      severity: 'sev1',
      roles: { commander: { holder: 'U0ALICE', changedBy: 'U0ALICE', changedAt: T0 }, communications: { holder: 'U0BOB', changedBy: 'U0ALICE', changedAt: T0 } },
    });
    const [due] = dueUpdateReminders([incident], updateReminderIntervals({ update_reminder_minutes: { sev1: 15 } }), minutes(47.5));
    const document = updateReminderDocument(due!);
    expect(document).toMatchObject({
      title: 'INC-4: no status update for 47 min',
      tone: 'warn',
      summary: 'U0ALICE and U0BOB: people are waiting to hear how INC-4 (sev1) is going. Post what is known with `/acgs incident update INC-4 <text>`.',
      footer: 'Reminded every 15 min without an update for a sev1 incident.',
      people: ['U0ALICE', 'U0BOB'],
    });
    const message = renderDocument(document);
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
    expect(JSON.stringify(message.blocks)).toContain('<@U0ALICE> and <@U0BOB>');
  });

  it('names one person once when the commander also leads communications, and nobody when no role is held', () => {
    const same = open('5', 0, { roles: { commander: { holder: 'U0ALICE', changedBy: 'U0ALICE', changedAt: T0 }, communications: { holder: 'U0ALICE', changedBy: 'U0ALICE', changedAt: T0 } } });
    expect(updateReminderDocument(dueUpdateReminders([same], defaults, minutes(30))[0]!).summary).toMatch(/^U0ALICE: people/);
    const nobody = updateReminderDocument(dueUpdateReminders([open('6', 0, { roles: {} })], defaults, minutes(30))[0]!);
    expect(nobody.summary).toBe('People are waiting to hear how INC-6 (sev2) is going. Post what is known with `/acgs incident update INC-6 <text>`.');
    expect(nobody.people).toEqual([]);
  });
});

describe('the config\'s incidents section', () => {
  const problems = (value: unknown) => {
    const parsed = IncidentsSection.safeParse(value);
    return parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };

  it('takes whole minutes per severity, each optional', () => {
    expect(IncidentsSection.parse({})).toEqual({});
    expect(IncidentsSection.parse({ update_reminder_minutes: { sev1: 15 } })).toEqual({ update_reminder_minutes: { sev1: 15 } });
    expect(updateReminderIntervals(IncidentsSection.parse({ update_reminder_minutes: {} })).sev3).toBe(DEFAULT_UPDATE_REMINDER_MINUTES * MINUTE);
  });

  it('refuses what is not whole minutes from 5 to 1440, naming the key', () => {
    const help = 'must be whole minutes from 5 to 1440';
    expect(problems({ update_reminder_minutes: { sev1: 0 } })).toEqual([`update_reminder_minutes.sev1: ${help}`]);
    expect(problems({ update_reminder_minutes: { sev2: 2.5 } })).toEqual([`update_reminder_minutes.sev2: ${help}`]);
    expect(problems({ update_reminder_minutes: { sev3: 1441 } })).toEqual([`update_reminder_minutes.sev3: ${help}`]);
    expect(problems({ update_reminder_minutes: { sev4: '30' } })).toEqual([`update_reminder_minutes.sev4: ${help}`]);
  });

  it('refuses an unknown severity or key rather than ignoring a typo', () => {
    expect(problems({ update_reminder_minutes: { sev5: 30 } })).toEqual(['update_reminder_minutes: Unrecognized key: "sev5"']);
    expect(problems({ update_reminder: { sev1: 30 } })).toEqual([': Unrecognized key: "update_reminder"']);
  });
});
