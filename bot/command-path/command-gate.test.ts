import { afterEach, describe, expect, it } from 'vitest';
import { testGate } from '../../test/testing/command-access.js';
import { startPolicyEngine, type RunningPolicyEngine } from '../../test/testing/policy-engine.js';
import { createPolicyEngineClient } from '../../services/clients/policy-engine.js';
import { policyEngineModes, type CommandGate } from './command-gate.js';

const ONCALL = 'U0ONCALL';
const ROLES = { oncall: [ONCALL] };
const restart = { name: 'restart', level: 1 as const };

/** A Policy Engine whose modes answer until `down` is set. */
function engine(modes = { strict: false, lockdown: true }) {
  const state = { down: false, calls: 0 };
  const reading = policyEngineModes(
    async () => {
      state.calls += 1;
      if (state.down) throw new Error('connection refused');
      return modes;
    },
    { ttlMs: 0 },
  );
  return { state, reading };
}

async function gateWith(reading: ReturnType<typeof engine>['reading']): Promise<CommandGate> {
  return testGate({ roles: ROLES, modes: reading });
}

describe('the command gate when the Policy Engine stops answering', () => {
  it('keeps deciding with the modes the engine last reported, and says so', async () => {
    const { state, reading } = engine({ strict: false, lockdown: true });
    const gate = await gateWith(reading);
    const before = await gate.decide({ actor: { id: ONCALL }, command: restart, args: { service: 'audit-engine' } });
    expect(before.decision.allow).toBe(false); // lockdown: no restarts
    state.down = true;
    const after = await gate.decide({ actor: { id: ONCALL }, command: restart, args: { service: 'audit-engine' } });
    expect(after.modes).toMatchObject({ known: true, lockdown: true, stale: 'connection refused' });
    expect(after.decision.allow).toBe(false);
    expect(after.decision.reason).toContain('the modes it last reported were used');
    expect(state.calls).toBe(2);
  });

  it('refuses a restart of another service when the modes were never read', async () => {
    const { state, reading } = engine();
    state.down = true;
    const gate = await gateWith(reading);
    const { decision } = await gate.decide({ actor: { id: ONCALL }, command: restart, args: { service: 'audit-engine' } });
    expect(decision.allow).toBe(false);
    expect(decision.reason).toContain('could not be read from the Policy Engine (connection refused)');
  });

  it('allows on-call to restart the Policy Engine itself when the modes were never read: the step that brings them back', async () => {
    const { state, reading } = engine();
    state.down = true;
    const gate = await gateWith(reading);
    const { decision } = await gate.decide({ actor: { id: ONCALL }, command: restart, args: { service: 'policy-engine' } });
    expect(decision.allow).toBe(true);
    expect(decision.approvals_required).toBe(0);
    expect(decision.reason).toContain('restarting the Policy Engine is allowed as the step that brings them back');
  });

  it('allows what the policy allows in lockdown too (acknowledging an alert) when the modes were never read, and says why', async () => {
    const { state, reading } = engine();
    state.down = true;
    const gate = await gateWith(reading);
    const ack = await gate.decide({ actor: { id: ONCALL }, command: { name: 'alerts ack', level: 1 }, args: { id: 3 } });
    expect(ack.decision.allow).toBe(true);
    expect(ack.decision.reason).toContain('allowed in strict mode and lockdown alike');
    expect(ack.input.modes).toMatchObject({ lockdown: true });
    // Something lockdown forbids still fails closed.
    const restartAudit = await gate.decide({ actor: { id: ONCALL }, command: restart, args: { service: 'audit-engine' } });
    expect(restartAudit.decision).toMatchObject({ allow: false, code: 'policy_unavailable' });
  });

  it('still refuses that restart to someone without the role', async () => {
    const { state, reading } = engine();
    state.down = true;
    const gate = await gateWith(reading);
    const { decision } = await gate.decide({ actor: { id: 'U0STRANGER' }, command: restart, args: { service: 'policy-engine' } });
    expect(decision.allow).toBe(false);
  });
});

describe('the command gate with a real Policy Engine that is stopped', () => {
  let engine: RunningPolicyEngine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  /** A gate reading the modes of a real engine, on a clock the test moves instead of waiting. */
  async function gateOnRealEngine() {
    engine = await startPolicyEngine();
    const client = createPolicyEngineClient({ baseUrl: engine.url, timeoutMs: 2000 });
    const clock = { now: 1_000_000 };
    const reading = policyEngineModes(async () => (await client.metrics()).mode, { ttlMs: 0, clock: () => clock.now });
    return { clock, gate: await gateWith(reading) };
  }

  it('trusts the modes last read for 60 s, then refuses escalated commands and says why, while read-only commands and a restart of the Policy Engine still run', async () => {
    const { clock, gate } = await gateOnRealEngine();
    const restartAudit = { actor: { id: ONCALL }, command: restart, args: { service: 'audit-engine' } };
    expect((await gate.decide(restartAudit)).decision.allow).toBe(true);
    await engine!.app.close(); // the engine stops answering

    clock.now += 59_000;
    const recent = await gate.decide(restartAudit);
    expect(recent.modes).toMatchObject({ known: true, lockdown: false, stale: expect.stringMatching(/ECONNREFUSED|fetch failed|refused/i) });
    expect(recent.decision.allow).toBe(true);
    expect(recent.decision.reason).toContain('the modes it last reported were used');

    clock.now += 2000; // 61 s after the last answer
    const old = await gate.decide(restartAudit);
    expect(old.modes.known).toBe(false);
    expect(old.decision).toMatchObject({ allow: false, code: 'policy_unavailable' });
    expect(old.decision.reason).toContain('read 61 s ago, more than the 60 s they are trusted for');
    expect(old.decision.reason).toContain('Read-only commands still run');

    const health = await gate.decide({ actor: { id: ONCALL }, command: { name: 'health', level: 'read' }, args: {} });
    expect(health.decision.allow).toBe(true);
    const recover = await gate.decide({ actor: { id: ONCALL }, command: restart, args: { service: 'policy-engine' } });
    expect(recover.decision.allow).toBe(true);
    expect(recover.decision.reason).toContain('restarting the Policy Engine is allowed as the step that brings them back');
  });
});

describe('a run of a runbook at the gate', () => {
  const run = { name: 'run', level: 1 as const };
  const subject = (name: string, level: 0 | 1 | 2 | 3 | 4, dryRun = false) => ({ runbook: { name, level, dryRun } });

  it("puts the runbook into the policy's input and decides at its level", async () => {
    const gate = await gateWith(engine({ strict: false, lockdown: false }).reading);
    const gated = await gate.decide({ actor: { id: 'U0NOBODY' }, command: run, args: { runbook: 'health-check' }, subject: subject('health-check', 0) });
    expect(gated.input.runbook).toEqual({ name: 'health-check', level: 0, dry_run: false });
    expect(gated.decision).toMatchObject({ allow: true, level: 0, code: 'allowed' });
    const restore = await gate.decide({ actor: { id: ONCALL }, command: run, args: { runbook: 'restore' }, subject: subject('restore', 3) });
    expect(restore.decision).toMatchObject({ allow: true, level: 3, approvals_required: 2, code: 'approval_required' });
    const without = await gate.decide({ actor: { id: ONCALL }, command: run, args: { runbook: 'restore' } });
    expect(without.input.runbook).toBeUndefined();
    expect(without.decision).toMatchObject({ allow: true, level: 1, approvals_required: 0 });
  });

  it('still runs a Level 0 runbook and a dry run while the modes are unknown, and refuses an escalated one', async () => {
    const { state, reading } = engine();
    state.down = true;
    const gate = await gateWith(reading);
    expect((await gate.decide({ actor: { id: ONCALL }, command: run, args: {}, subject: subject('health-check', 0) })).decision.allow).toBe(true);
    expect((await gate.decide({ actor: { id: ONCALL }, command: run, args: {}, subject: subject('restore', 3, true) })).decision.allow).toBe(true);
    const refused = await gate.decide({ actor: { id: ONCALL }, command: run, args: {}, subject: subject('backup', 1) });
    expect(refused.decision).toMatchObject({ allow: false, code: 'policy_unavailable', level: 1 });
  });
});
