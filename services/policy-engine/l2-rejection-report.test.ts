import { describe, expect, it } from 'vitest';
import { type L2RejectionAuditEvent, createL2RejectionReporter } from './l2-rejection-report.js';

function reporter(rememberedKeys = 100, audit?: (event: L2RejectionAuditEvent) => void) {
  let now = 1_000_000;
  const warnings: object[] = [];
  const errors: object[] = [];
  const audited: L2RejectionAuditEvent[] = [];
  const report = createL2RejectionReporter({
    log: { warn: (obj) => warnings.push(obj), error: (obj) => errors.push(obj) },
    audit: audit ?? ((event) => audited.push(event)),
    replica: 'host:8004',
    auditIntervalMs: 60_000,
    rememberedKeys,
    clock: () => now,
  });
  return { report, warnings, errors, audited, advance: (ms: number) => (now += ms) };
}

describe('reports of refused L2 entries', () => {
  it('log a warning once per cache key, however often it is refused', () => {
    const { report, warnings } = reporter();
    report('k1', 'unsigned');
    report('k1', 'unsigned');
    report('k2', 'wrong MAC');
    report('k1', 'wrong MAC');
    expect(warnings).toEqual([
      { cache_key: 'k1', problem: 'unsigned' },
      { cache_key: 'k2', problem: 'wrong MAC' },
    ]);
  });

  it('send at most one audit event a minute, the next counting what was refused meanwhile', () => {
    const { report, audited, advance } = reporter();
    report('k1', 'unsigned');
    for (let i = 0; i < 1000; i++) report(`flood-${i}`, 'wrong MAC');
    expect(audited).toEqual([
      {
        event_type: 'policy_cache_entry_rejected',
        severity: 'critical',
        data: { cache_key: 'k1', problem: 'unsigned', refused_since_last_event: 1, replica: 'host:8004' },
      },
    ]);
    advance(59_999);
    report('k2', 'unsigned');
    expect(audited).toHaveLength(1);
    advance(1);
    report('k3', 'wrong MAC');
    expect(audited).toHaveLength(2);
    expect(audited[1]!.data).toEqual({ cache_key: 'k3', problem: 'wrong MAC', refused_since_last_event: 1002, replica: 'host:8004' });
  });

  it('remember a bounded number of keys, so a flood of poisoned keys cannot exhaust memory', () => {
    const { report, warnings } = reporter(2);
    report('a', 'unsigned');
    report('b', 'unsigned');
    report('c', 'unsigned');
    report('a', 'unsigned');
    expect(warnings.map((warning) => (warning as { cache_key: string }).cache_key)).toEqual(['a', 'b', 'c', 'a']);
  });

  it('log an audit outbox that cannot take the event instead of failing the request, and count the refusal for the next event', () => {
    let full = true;
    const audited: L2RejectionAuditEvent[] = [];
    const { report, errors, advance } = reporter(100, (event) => {
      if (full) throw new Error('ENOSPC: no space left on device');
      audited.push(event);
    });
    expect(() => report('k1', 'unsigned')).not.toThrow();
    expect(errors).toHaveLength(1);
    full = false;
    advance(60_000);
    report('k2', 'wrong MAC');
    expect(audited.map((event) => event.data.refused_since_last_event)).toEqual([2]);
  });
});
