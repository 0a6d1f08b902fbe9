import { describe, expect, it } from 'vitest';
import { normalizeLogsOptions, requireExecCommand, requireKnownService, requireReplicaCount, requireTimeout } from './stack-checks.js';

describe('exec allow list', () => {
  it('accepts only names on the list, never inherited object keys', () => {
    expect(requireExecCommand('redis-memory')).toBe('redis-memory');
    for (const name of ['constructor', '__proto__', 'hasOwnProperty', 'redis-cli info memory', '', 'MEMINFO']) {
      expect(() => requireExecCommand(name)).toThrow(/is not an allowed command; allowed: pg-isready, /);
    }
  });
});

describe('input checks', () => {
  it('refuses a malformed service name before looking it up', () => {
    for (const name of ['', '../etc', 'web;rm', 'web name', '-web', 'x'.repeat(64)]) {
      expect(() => requireKnownService(name, ['web'], 'the test stack')).toThrow(/is not a service name/);
    }
  });

  it('refuses an unknown service, naming the known ones, or "(none)"', () => {
    expect(() => requireKnownService('db', ['api', 'web'], 'the test stack')).toThrow('There is no service "db" in the test stack; its services are: api, web');
    expect(() => requireKnownService('db', [], 'the test stack')).toThrow('its services are: (none)');
  });

  it('accepts 1 to 10 replicas only', () => {
    expect(() => requireReplicaCount(1)).not.toThrow();
    expect(() => requireReplicaCount(10)).not.toThrow();
    for (const count of [0, 11, -1, 2.5, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => requireReplicaCount(count)).toThrow(/from 1 to 10/);
  });

  it('accepts timeouts from 100 ms to 30 minutes, defaulting when none is given', () => {
    expect(requireTimeout(undefined, 60_000)).toBe(60_000);
    expect(requireTimeout(100, 60_000)).toBe(100);
    for (const timeout of [99, 30 * 60_000 + 1, Number.NaN, -5]) expect(() => requireTimeout(timeout, 60_000)).toThrow(/between 100 ms and 30 minutes/);
  });

  it('defaults logs to the last 100 lines and lower-cases the filter', () => {
    expect(normalizeLogsOptions()).toEqual({ tail: 100, since: undefined, grep: undefined });
    expect(normalizeLogsOptions({ grep: 'ViOlation' }).grep).toBe('violation');
  });

  it('refuses a filter longer than 200 characters', () => {
    expect(() => normalizeLogsOptions({ grep: 'x'.repeat(201) })).toThrow('grep must be plain text of 1 to 200 characters');
  });
});
