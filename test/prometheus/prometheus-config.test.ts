/**
 * The shipped Prometheus and Alertmanager configuration (prometheus/): the rules are the
 * runbook's rules of bot/alerts/alert-rules.ts, and the real tools accept the files.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ALERT_RULE_NAMES, ALERT_RULES, BOT_ONLY_RULE_NAMES } from '../../bot/alerts/alert-rules.js';
import { durationSeconds, PROMETHEUS_DIR, readShippedRules, type ShippedRule } from '../testing/prometheus-shipped-rules.js';
import { missingPrometheusTools } from '../testing/prometheus-tools.js';

const run = promisify(execFile);
const missing = await missingPrometheusTools();
/** The rules Prometheus judges too: all but those only the bot can see (its monitor's crash counts, the scheduler's records). */
const PROMETHEUS_RULE_NAMES = ALERT_RULE_NAMES.filter((name) => !BOT_ONLY_RULE_NAMES.includes(name));

async function shippedRules(): Promise<ShippedRule[]> {
  return (await readShippedRules()).groups.flatMap((group) => group.rules);
}

describe('prometheus/alert-rules.yml', () => {
  it('has exactly the rules of ALERT_RULES but the bot-only ones, each once', async () => {
    const names = (await shippedRules()).map((rule) => rule.alert);
    expect([...names].sort()).toEqual([...PROMETHEUS_RULE_NAMES].sort());
    expect(BOT_ONLY_RULE_NAMES.length).toBeGreaterThan(0);
  });

  it("uses each rule's `for` and compares with its threshold at the end of the expression", async () => {
    for (const rule of await shippedRules()) {
      const expected = ALERT_RULES[rule.alert as keyof typeof ALERT_RULES];
      expect(durationSeconds(rule.for), rule.alert).toBe(expected.forSeconds);
      expect(rule.annotations.threshold, rule.alert).toBe(String(expected.threshold));
      const comparison = rule.expr.trim().match(/(>=|<=|>|<)\s*([0-9.]+)$/);
      expect(comparison, `${rule.alert}: ${rule.expr}`).not.toBeNull();
      expect(Number(comparison![2]), rule.alert).toBe(expected.threshold);
      expect(rule.annotations.summary, rule.alert).toBe(expected.summary);
      expect(rule.annotations.value, rule.alert).toBe('{{ $value }}');
    }
  });
});

describe.skipIf(missing.length > 0)(`the real tools${missing.length > 0 ? ` (skipped: ${missing.join(', ')} not on PATH; scripts/provision.sh installs them)` : ''}`, () => {
  it('promtool accepts prometheus.yml and the rules file it names', async () => {
    const { stdout } = await run('promtool', ['check', 'config', 'prometheus.yml'], { cwd: PROMETHEUS_DIR });
    expect(stdout).toContain(`SUCCESS: ${PROMETHEUS_RULE_NAMES.length} rules found`);
  });

  it('promtool accepts alert-rules.yml', async () => {
    const { stdout } = await run('promtool', ['check', 'rules', 'alert-rules.yml'], { cwd: PROMETHEUS_DIR });
    expect(stdout).toContain(`SUCCESS: ${PROMETHEUS_RULE_NAMES.length} rules found`);
  });

  it('amtool accepts alertmanager.yml, whose one receiver is the bot webhook with a bearer token from a file', async () => {
    const { stdout } = await run('amtool', ['check-config', 'alertmanager.yml'], { cwd: PROMETHEUS_DIR });
    expect(stdout).toMatch(/SUCCESS/);
    expect(stdout).toContain(' - 1 receivers');
  });
});
