import { describe, expect, it } from 'vitest';
import type { AlertRecord } from '../alerts/alert-store.js';
import type { EscalationNotice } from '../alerts/escalation.js';
import { renderEscalationMessage } from './escalation-message.js';
import { blockText } from '../../test/testing/slack-harness.js';

const T0 = new Date('2026-12-07T03:00:00.000Z');

function notice(overrides: Partial<EscalationNotice> = {}, labels: Record<string, string> = { service: 'policy-engine' }): EscalationNotice {
  const alert: AlertRecord = {
    id: '7', fingerprint: 'f', rule: 'HighP99Latency', source: 'alertmanager', labels, annotations: {}, state: 'firing', firedAt: T0, resolvedAt: null, resolvedBy: null,
    value: 9, acknowledgedBy: null, acknowledgedAt: null, snoozedUntil: null, snoozedBy: null, flapping: false, silencedBy: null, updatedAt: T0,
  };
  return { alert, level: 2, reason: 'HighP99Latency alerts start at Level 2', issueType: 'performance', recipients: { ids: ['S0ONCALL', 'U0ONCALL', 'W0GUEST'], emptyRoles: [] }, ...overrides };
}

describe('the escalation message', () => {
  it('mentions people as <@U…> and user groups as <!subteam^S…>, in the text notifications show too', () => {
    const message = renderEscalationMessage(notice());
    expect(blockText(message.blocks)).toContain('Level 2 (human intervention required): alert 7 HighP99Latency on policy-engine');
    expect(blockText(message.blocks)).toContain('For <!subteam^S0ONCALL> <@U0ONCALL> <@W0GUEST>.');
    expect(message.text).toBe('Level 2 (human intervention required): alert 7 HighP99Latency on policy-engine <!subteam^S0ONCALL> <@U0ONCALL> <@W0GUEST>');
  });

  it("never turns what came with the alert into a mention or a link", () => {
    const labelled = notice({}, { service: '<@U0MALLORY> <https://evil.example|x>' });
    const message = renderEscalationMessage({ ...labelled, alert: { ...labelled.alert, rule: '<!here>' } });
    const all = `${message.text}\n${JSON.stringify(message.blocks)}`;
    expect(all).not.toMatch(/<!here>|<@U0MALLORY>|<https:/);
    expect(blockText(message.blocks)).toContain('&lt;@U0MALLORY&gt;');
  });

  it('says who nobody holds, and when nobody is to be told', () => {
    const text = blockText(renderEscalationMessage(notice({ recipients: { ids: [], emptyRoles: ['oncall'] } })).blocks);
    expect(text).toContain("Nobody to mention. Nobody holds roles.oncall in the bot's config: add people there.");
  });

  it('names at most 100 people and says how many more', () => {
    const ids = Array.from({ length: 105 }, (_, index) => `U0P${String(index).padStart(4, '0')}`);
    const text = blockText(renderEscalationMessage(notice({ recipients: { ids, emptyRoles: [] } })).blocks);
    expect(text.match(/<@U0P/g)).toHaveLength(100);
    expect(text).toContain('<@U0P0099> and 5 more.');
  });

  it('at Level 3 says how to declare an incident until the level opens one itself, and that one is once it was', () => {
    const level3 = notice({ level: 3, reason: 'not acknowledged within 15 min at Level 2' });
    expect(blockText(renderEscalationMessage(level3).blocks)).toContain('Time to open an incident: the Declare incident button, or `/acgs incident declare` with a severity (sev1 to sev4) and a title.');
    expect(blockText(renderEscalationMessage(level3, { incidentOpened: true }).blocks)).toContain('An incident is opened.');
    expect(blockText(renderEscalationMessage(notice({ level: 4 })).blocks)).toContain('Level 4 (emergency response)');
  });

  it('offers Declare incident (the alert id as its value) until an incident is opened, which it then names', () => {
    const level3 = notice({ level: 3, reason: 'not acknowledged within 15 min at Level 2' });
    const buttons = (message: { blocks?: unknown }) => [...JSON.stringify(message.blocks).matchAll(/"action_id":"(acgs_alert_\w+)","text":\{[^}]*\},"value":"([^"]+)"/g)].map((match) => [match[1], match[2]]);
    expect(buttons(renderEscalationMessage(level3))).toEqual([['acgs_alert_declare', level3.alert.id]]);
    expect(buttons(renderEscalationMessage(notice({ level: 2 })))).toEqual([['acgs_alert_declare', level3.alert.id]]);
    const opened = renderEscalationMessage(level3, { incidentOpened: true, incidentKey: 'INC-7' });
    expect(buttons(opened)).toEqual([]);
    expect(blockText(opened.blocks)).toContain('Incident INC-7 is opened.');
  });
});
