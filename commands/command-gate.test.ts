import { describe, expect, it } from 'vitest';
import { testGate } from '../test/kit/command-access.js';
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

  it('still refuses that restart to someone without the role', async () => {
    const { state, reading } = engine();
    state.down = true;
    const gate = await gateWith(reading);
    const { decision } = await gate.decide({ actor: { id: 'U0STRANGER' }, command: restart, args: { service: 'policy-engine' } });
    expect(decision.allow).toBe(false);
  });
});
