import { describe, expect, it } from 'vitest';
import type { DeploymentNotice } from '../../runbooks/engine/ports.js';
import { figuresTitle, formatDuration, noticeHeadline, noticeHtml, noticePlainText, noticeSubject, noticeSummary } from './notice-text.js';

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

  it('give times as people read them, not ISO with milliseconds', () => {
    expect(noticeSummary({ ...base, kind: 'started' })).toBe('U0ONCALL started deploying 1.4.0 to 2 services at 2026-12-06 03:00:00Z.');
    expect(noticeSummary({ ...base, kind: 'finished', finishedAt: '2026-12-06T03:03:12.345Z', verification: [] })).toBe(
      '1.4.0 runs on 2 services: deployed by U0ONCALL in 3m12s, finished at 2026-12-06 03:03:12Z.',
    );
  });

  it('call a hotfix a hotfix', () => {
    const hotfix = { ...base, release: 'hotfix', services: base.services.slice(0, 1) } as const;
    expect(noticeHeadline({ ...hotfix, kind: 'started' })).toBe('Hotfix 1.4.0 started');
    expect(noticeSummary({ ...hotfix, kind: 'started' })).toBe('U0ONCALL started hotfixing 1.4.0 to 1 service at 2026-12-06 03:00:00Z.');
    expect(noticeSubject({ ...hotfix, kind: 'finished', finishedAt: '2026-12-06T03:05:00.000Z', verification: [] })).toBe('[ACGS] Hotfix 1.4.0 finished (1 service, 5m00s)');
  });

  it('say who rolled back by hand and from what, with no breaching samples, timed from the rollback', () => {
    const notice: DeploymentNotice = {
      ...base,
      release: 'rollback',
      version: '1.4.0',
      services: base.services.map((change) => ({ ...change, from: '1.4.0', to: '1.3.2' })),
      kind: 'rolled-back',
      startedAt: '2026-12-06T03:30:48.000Z',
      rolledBackAt: '2026-12-06T03:35:56.700Z',
      reason: 'rolled back by hand by U0ONCALL',
      breaches: [],
    };
    expect(noticeHeadline(notice)).toBe('Deploy 1.4.0 ROLLED BACK');
    expect(noticeSummary(notice)).toBe('U0ONCALL rolled 2 services back from 1.4.0 by hand: done at 2026-12-06 03:35:56Z, 5m09s after the rollback began; its watch follows.');
    expect(figuresTitle(notice)).toBeUndefined();
    expect(noticePlainText(notice)).not.toContain('breached');
    // The watch's rollback keeps its samples.
    expect(figuresTitle({ ...notice, release: 'deploy' })).toBe('Samples that breached');
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
