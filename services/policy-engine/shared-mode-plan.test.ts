import { describe, expect, it } from 'vitest';
import { signModeChange } from './mode-signature.js';
import { explicitEntry, type LocalMode, mergedEntry, planMode, readEntry } from './shared-mode-plan.js';

const KEY = 'shared-mode-plan-test-admin-token-0123456789';
const signed = (value: boolean, at: number, replica = 'replica-1') => signModeChange(KEY, 'lockdown', { value, at, replica });
const local = (value: boolean, known?: ReturnType<typeof signed>, pending = false): LocalMode => ({ value, known, pending });

describe('planning one mode against its shared entry', () => {
  it('settles a tie at the same millisecond on the more restrictive value', () => {
    const lift = signed(false, 5000, 'replica-1');
    const lock = signed(true, 5000, 'replica-2');
    expect(planMode('lockdown', explicitEntry(lock), local(false, lift), KEY)).toEqual({ adopt: { value: true, origin: 'explicit', change: lock } });
    expect(planMode('lockdown', explicitEntry(lift), local(true, lock), KEY)).toMatchObject({ write: explicitEntry(lock), reject: expect.stringMatching(/older/) });
  });

  it('shares a change made during an outage unless a newer signed change was made meanwhile', () => {
    const mine = signed(true, 5000);
    expect(planMode('lockdown', explicitEntry(signed(false, 4000)), local(true, mine, true), KEY)).toEqual({ write: explicitEntry(mine) });
    const newer = signed(false, 6000, 'replica-2');
    expect(planMode('lockdown', explicitEntry(newer), local(true, mine, true), KEY)).toEqual({ adopt: { value: false, origin: 'explicit', change: newer } });
  });

  it('counts an unsigned explicit lockdown as a merged value: it adds the restriction, refused as an explicit change', () => {
    const plan = planMode('lockdown', readEntry({ lockdown: '1', lockdown_origin: 'explicit' }, 'lockdown'), local(false), KEY);
    expect(plan).toMatchObject({ adopt: { value: true, origin: 'merged' }, write: mergedEntry(true), reject: expect.stringMatching(/without a complete signature/) });
  });

  it.each([
    ['a value that is not 0 or 1', { lockdown: 'no' }],
    ['a time that is not a number', { lockdown_at: '-1' }],
    ['no replica', { lockdown_by: '' }],
    ['a signature that is not hex', { lockdown_sig: 'z'.repeat(64) }],
  ])('refuses an explicit entry with %s, keeping the lockdown and writing it back', (_name, damage) => {
    const lock = signed(true, 5000);
    const entry = readEntry({ ...Object.fromEntries(Object.entries(explicitEntry(lock)).map(([suffix, value]) => [`lockdown${suffix}`, value])), ...damage }, 'lockdown');
    expect(planMode('lockdown', entry, local(true, lock), KEY)).toEqual({ write: explicitEntry(lock), reject: 'an explicit change without a complete signature' });
  });

  it('does not take back a lockdown merged in after the signed lift it knows, when that lift is written back', () => {
    const lift = signed(false, 5000);
    const plan = planMode('lockdown', explicitEntry(lift), local(true, lift), KEY);
    expect(plan).toEqual({ write: mergedEntry(true), reject: expect.stringMatching(/superseded/) });
  });

  it('leaves a merged entry that already says what this replica holds untouched', () => {
    expect(planMode('lockdown', mergedEntry(true), local(true), KEY)).toEqual({});
    expect(planMode('lockdown', mergedEntry(true), local(false), KEY)).toEqual({ adopt: { value: true, origin: 'merged' } });
  });
});
