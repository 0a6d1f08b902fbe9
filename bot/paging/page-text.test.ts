import { describe, expect, it } from 'vitest';
import type { AlertRecord } from '../alerts/alert-store.js';
import { pageDeliveryId, pagePayload, pagePlainText, pageSubject, type AlertPage } from './page-text.js';

const FIRED = new Date('2026-12-07T11:42:45.000Z');
const alert: AlertRecord = {
  id: '7',
  fingerprint: 'monitor/ServiceCrashLooping',
  rule: 'ServiceCrashLooping',
  source: 'monitor',
  labels: { service: 'policy-engine\r\nBcc: someone@example.com', alertname: 'ServiceCrashLooping' },
  annotations: { summary: 'a service crashed 3 or more times within 10 minutes' },
  state: 'firing',
  firedAt: FIRED,
  resolvedAt: null,
  resolvedBy: null,
  value: 3,
  acknowledgedBy: null,
  acknowledgedAt: null,
  snoozedUntil: null,
  snoozedBy: null,
  flapping: false,
  silencedBy: null,
  updatedAt: FIRED,
};
const page: AlertPage = { alert, level: 2, reason: 'ServiceCrashLooping alerts start at Level 2', issueType: 'infrastructure', contact: 'pager' };

describe('what a page says', () => {
  it('keeps the subject and the headline one line whatever the alert\'s labels hold', () => {
    expect(pageSubject(page)).toBe('[ACGS] Level 2 (human intervention required): alert 7 ServiceCrashLooping on policy-engine Bcc: someone@example.com');
    expect(pageSubject(page)).not.toMatch(/[\r\n]/);
  });

  it('tells the level, why, and how to stop the escalation, in plain text', () => {
    const text = pagePlainText(page);
    expect(text.split('\n').slice(0, 5)).toEqual([
      'Level 2 (human intervention required): alert 7 ServiceCrashLooping on policy-engine Bcc: someone@example.com',
      '',
      'ServiceCrashLooping alerts start at Level 2; infrastructure issue.',
      'Fired at 2026-12-07T11:42:45.000Z, value 3.',
      'a service crashed 3 or more times within 10 minutes',
    ]);
    expect(text).toContain('Labels: service=policy-engine Bcc: someone@example.com alertname');
    expect(text).toContain('Acknowledge it to stop the escalation: /acgs alerts ack 7');
    expect(text).toContain('You are paged as the contact "pager"');
  });

  it('gives the webhook the alert as data, with a delivery id that is the same on every attempt', () => {
    expect(pageDeliveryId(page)).toBe('alert-7/2026-12-07T11:42:45.000Z/level-2/pager');
    const sentAt = new Date('2026-12-07T11:47:45.120Z');
    expect(pagePayload(page, sentAt)).toEqual({
      type: 'acgs.alert.escalated',
      delivery_id: 'alert-7/2026-12-07T11:42:45.000Z/level-2/pager',
      sent_at: '2026-12-07T11:47:45.120Z',
      contact: 'pager',
      level: 2,
      level_name: 'human intervention required',
      reason: 'ServiceCrashLooping alerts start at Level 2',
      issue_type: 'infrastructure',
      summary: 'Level 2 (human intervention required): alert 7 ServiceCrashLooping on policy-engine Bcc: someone@example.com',
      alert: { id: '7', rule: 'ServiceCrashLooping', state: 'firing', source: 'monitor', fired_at: '2026-12-07T11:42:45.000Z', value: 3, labels: alert.labels, annotations: alert.annotations },
      acknowledge: '/acgs alerts ack 7',
    });
  });
});
