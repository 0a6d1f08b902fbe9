import { describe, expect, it } from 'vitest';
import { channelSlug, incidentChannelName, MAX_CHANNEL_NAME_LENGTH } from './channel-name.js';

const DECLARED = new Date('2026-12-07T23:59:00.000Z');
const SLACK_ALPHABET = /^[a-z0-9_-]+$/;

describe('the incident channel name', () => {
  it('is inc-<date>-<slug>, lowercase, in Slack\'s alphabet', () => {
    expect(incidentChannelName('Policy Engine: p99 latency > 5s!', DECLARED)).toBe('inc-2026-12-07-policy-engine-p99-latency-5s');
  });

  it('drops diacritics and turns other scripts into nothing but the fallback', () => {
    expect(channelSlug('Überlast im Prüfdienst')).toBe('uberlast-im-prufdienst');
    expect(incidentChannelName('监控 🔥', DECLARED)).toBe('inc-2026-12-07-incident');
  });

  it('uses the UTC date of the declaration, whatever the local zone', () => {
    expect(incidentChannelName('x', new Date('2026-12-31T23:30:00.000-05:00'))).toBe('inc-2027-01-01-x');
  });

  it('is at most 80 characters and never ends in a hyphen after the cut', () => {
    const name = incidentChannelName(`${'a'.repeat(64)} ${'b'.repeat(40)}`, DECLARED);
    expect(name.length).toBeLessThanOrEqual(MAX_CHANNEL_NAME_LENGTH);
    expect(name).toMatch(SLACK_ALPHABET);
    expect(name).toBe(`inc-2026-12-07-${'a'.repeat(64)}`);
    expect(name.endsWith('-')).toBe(false);
  });

  it('gets a numbered suffix when the name is taken, still within 80 characters', () => {
    expect(incidentChannelName('db down', DECLARED, new Set(['inc-2026-12-07-db-down']))).toBe('inc-2026-12-07-db-down-2');
    expect(incidentChannelName('db down', DECLARED, new Set(['inc-2026-12-07-db-down', 'inc-2026-12-07-db-down-2']))).toBe('inc-2026-12-07-db-down-3');
    const long = 'x'.repeat(100);
    const first = incidentChannelName(long, DECLARED);
    const second = incidentChannelName(long, DECLARED, new Set([first]));
    expect(first).toHaveLength(MAX_CHANNEL_NAME_LENGTH);
    expect(second).toHaveLength(MAX_CHANNEL_NAME_LENGTH);
    expect(second.endsWith('-2')).toBe(true);
    expect(second.startsWith('inc-2026-12-07-x')).toBe(true);
  });
});
