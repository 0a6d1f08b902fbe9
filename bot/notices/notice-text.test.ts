import { describe, expect, it } from 'vitest';
import type { DeploymentNotice } from '../../runbooks/engine/ports.js';
import { formatDuration, noticeHtml, noticePlainText, noticeSubject } from './notice-text.js';

const base = {
  runId: 'run-1',
  version: '1.4.0',
  requester: 'U0ONCALL',
  startedAt: '2026-12-06T03:00:00.000Z',
  services: [
    { service: 'policy-engine', from: '1.3.2', to: '1.4.0' },
    { service: 'audit-engine', from: '1.3.2', to: '1.4.0' },
  ],
};

describe('notice words', () => {
  it('write durations short enough for a subject', () => {
    expect([0, 45_000, 192_000, 3_599_000, 3_720_000].map(formatDuration)).toEqual(['0s', '45s', '3m12s', '59m59s', '1h02m']);
  });

  it('make the subject from what happened, the service count and the duration', () => {
    expect(noticeSubject({ ...base, kind: 'started' })).toBe('[ACGS] Deploy 1.4.0 started (2 services)');
    expect(noticeSubject({ ...base, kind: 'finished', finishedAt: '2026-12-06T03:03:12.000Z', verification: [] })).toBe('[ACGS] Deploy 1.4.0 finished (2 services, 3m12s)');
    expect(noticeSubject({ ...base, services: base.services.slice(0, 1), kind: 'rolled-back', rolledBackAt: '2026-12-06T03:00:45.000Z', reason: 'x', breaches: [] })).toBe(
      '[ACGS] Deploy 1.4.0 ROLLED BACK (1 service, 45s)',
    );
  });

  it('say when no figures were recorded rather than leaving the section out', () => {
    const notice: DeploymentNotice = { ...base, kind: 'finished', finishedAt: '2026-12-06T03:03:12.000Z', verification: [] };
    expect(noticePlainText(notice)).toContain('Verification:\n  (none recorded)');
  });

  it('escape what came from outside in the HTML part', () => {
    const html = noticeHtml({ ...base, kind: 'rolled-back', rolledBackAt: '2026-12-06T03:01:00.000Z', reason: '<script>alert(1)</script> & more', breaches: [] });
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; more');
    expect(html).not.toContain('<script>');
  });
});
