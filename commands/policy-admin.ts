/**
 * What the governance commands (strict mode, lockdown, cache clear) share: the Policy Engine's
 * admin token is required, and their approvals are bound to the engine's modes at request time.
 */
import type { EngineModes } from '../services/policy-engine/contract.js';
import { CommandError, type CommandContext } from './command.js';
import { callServiceClient } from './service-errors.js';

const onOff = (on: boolean) => (on ? 'on' : 'off');

/** "strict off · lockdown on": readable, because the approval request shows it as the state when requested. */
export function modesFingerprint(modes: EngineModes): string {
  return `strict mode ${onOff(modes.strict)} · lockdown ${onOff(modes.lockdown)}`;
}

/** Refuses before anything is asked or changed: without the token the engine answers 401 to every admin call. */
export function requireAdminToken(context: CommandContext, command: string): void {
  if (!context.services.policyEngine.hasAdminToken) {
    throw new CommandError(
      `\`${command}\` needs the Policy Engine's admin token, and this process has none; nothing was changed.`,
      "Set ACGS_ADMIN_TOKEN to the stack's admin token; `npm start` writes it to .acgs/admin-token.",
      'unavailable',
    );
  }
}

export async function currentModes(context: CommandContext): Promise<EngineModes> {
  return (await callServiceClient('policy-engine', context.services, () => context.services.policyEngine.metrics())).mode;
}

export function modesFields(modes: EngineModes): { label: string; value: string }[] {
  return [
    { label: 'Strict mode', value: onOff(modes.strict) },
    { label: 'Lockdown', value: onOff(modes.lockdown) },
  ];
}
