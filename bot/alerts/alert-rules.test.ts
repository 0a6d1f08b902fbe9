import { describe, expect, it } from 'vitest';
import { createCommandRegistry } from '../../commands/index.js';
import { ALERT_RULE_NAMES, ALERT_RULES, alertResponse } from './alert-rules.js';

describe('alert responses', () => {
  const registry = createCommandRegistry();

  it('gives every runbook rule a response whose command line the registry accepts', () => {
    for (const rule of ALERT_RULE_NAMES) {
      const response = alertResponse(rule, { alertname: rule, service: 'policy-engine' });
      expect(response, rule).toBeDefined();
      const resolution = registry.resolve(response!.command);
      expect(resolution.ok, `${rule}: ${response!.command}`).toBe(true);
    }
  });

  it('restarts the service the alert names, and offers nothing for a service label that is not a service name', () => {
    expect(alertResponse('ServiceDown', { service: 'audit-engine' })).toEqual({ label: 'Run: service down', command: 'restart audit-engine' });
    expect(alertResponse('ServiceDown', {})).toBeUndefined();
    expect(alertResponse('ServiceDown', { service: 'audit-engine --force' })).toBeUndefined();
    expect(alertResponse('ServiceDown', { service: 'Audit"Engine' })).toBeUndefined();
    expect(alertResponse('SomeoneElsesRule', { service: 'audit-engine' })).toBeUndefined();
    expect(alertResponse('ServiceRestarted', { service: 'audit-engine' })).toEqual({ label: 'Show: logs', command: 'logs audit-engine --since 15m' });
    expect(alertResponse('ServiceCrashLooping', { service: 'audit-engine; rm' })).toBeUndefined();
  });
});

describe('the crash rules', () => {
  it('give a healed crash no Level 1 and no escalation, and a crash loop no Level 1', () => {
    expect(ALERT_RULES.ServiceRestarted).toMatchObject({ informational: true, forSeconds: 0 });
    expect(ALERT_RULES.ServiceRestarted.levelOne).toBeUndefined();
    expect(ALERT_RULES.ServiceCrashLooping).toMatchObject({ level: 2, threshold: 3 });
    expect(ALERT_RULES.ServiceCrashLooping.levelOne).toBeUndefined();
    expect(ALERT_RULES.ServiceCrashLooping.informational).toBeUndefined();
  });
});
