/**
 * The Policy Engine's runtime modes from Slack: `strict-mode on|off` (Level 2), `lockdown
 * [reason...]` (Level 4, the runbook's emergency lockdown: every decision is denied afterwards) and
 * `lockdown lift` (Level 3). Each approval is bound to the modes it was requested under, so a mode
 * changed in between asks again.
 */
import { z } from 'zod';
import type { ModeAction } from '../services/clients/policy-engine.js';
import type { ModeChangeResponse } from '../services/policy-engine/contract.js';
import { defineCommand, type CommandContext } from './command.js';
import { clip } from './format.js';
import { currentModes, modesFields, modesFingerprint, requireAdminToken } from './policy-admin.js';
import type { ResultDocument } from './result.js';
import { callServiceClient } from './service-errors.js';

/** The engine's limit on a mode change's reason (ModeChangeRequest). */
export const MAX_REASON_LENGTH = 500;

interface ModeChange {
  /** What the change is, for titles: "Strict mode on". */
  what: string;
  /** What it means for decisions, for the summary. */
  effect: string;
  level: 2 | 3 | 4;
  runbook: string;
  action: ModeAction;
  reason?: string;
}

export function modeChangeDocument(change: ModeChange, response: z.infer<typeof ModeChangeResponse>): ResultDocument {
  return {
    title: response.changed ? change.what : `${change.what} already`,
    tone: 'ok',
    summary: response.changed ? `${change.effect}.` : 'Nothing changed: the Policy Engine was already in that mode.',
    blocks: [
      {
        type: 'fields',
        fields: [
          ...modesFields(response.modes),
          { label: 'Policy version', value: response.policy_version },
          ...(change.reason ? [{ label: 'Reason', value: change.reason }] : []),
        ],
      },
    ],
    actions: [{ label: 'Metrics', command: 'metrics' }],
    footer: `Level ${change.level} (runbook: ${change.runbook}) · POST /admin/${change.action}`,
    data: { action: change.action, changed: response.changed, modes: response.modes, policy_version: response.policy_version, ...(change.reason ? { reason: change.reason } : {}) },
  };
}

async function changeMode(context: CommandContext, command: string, change: ModeChange): Promise<ResultDocument> {
  requireAdminToken(context, command);
  const response = await callServiceClient('policy-engine', context.services, () => context.services.policyEngine.setMode(change.action, change.reason));
  return modeChangeDocument(change, response);
}

async function modePlan(context: CommandContext, command: string, summary: string) {
  requireAdminToken(context, command);
  const modes = await currentModes(context);
  return { summary: `${summary} (now: ${modesFingerprint(modes)})`, target: 'policy-engine', fingerprint: modesFingerprint(modes) };
}

const strictChange = (on: boolean): ModeChange =>
  on
    ? { what: 'Strict mode on', effect: 'The Policy Engine now applies its strict rules to every decision', level: 2, runbook: 'strict mode', action: 'enable-strict-mode' }
    : { what: 'Strict mode off', effect: 'The Policy Engine applies its normal rules again', level: 2, runbook: 'strict mode', action: 'disable-strict-mode' };

export const strictMode = defineCommand({
  name: 'strict-mode',
  summary: "Turn the Policy Engine's strict mode on or off (Level 2: needs an approval)",
  usage: 'on|off',
  examples: ['strict-mode on', 'strict-mode off'],
  level: 2,
  positionals: ['state'],
  args: z.object({ state: z.enum(['on', 'off'], { message: 'say `on` or `off`' }) }),
  run: (context, { state }) => changeMode(context, 'strict-mode', strictChange(state === 'on')),
  plan: (context, { state }) => modePlan(context, 'strict-mode', `Turn the Policy Engine's strict mode ${state}`),
});

/** The rest of the line is the reason; the policy does not require one, the engine takes up to 500 characters. */
const reasonArgument = z.object({
  line: z
    .string()
    .transform((line) => line.replace(/^(["'])(.*)\1$/s, '$2').trim())
    .pipe(z.string().max(MAX_REASON_LENGTH, `the reason may be at most ${MAX_REASON_LENGTH} characters`)),
});

export const lockdown = defineCommand({
  name: 'lockdown',
  summary: "Emergency lockdown of the Policy Engine: every decision is denied until it is lifted (Level 4: two approvals)",
  usage: '[reason...]',
  examples: ['lockdown suspected policy compromise, incident 42', 'lockdown'],
  level: 4,
  rawArguments: true,
  args: reasonArgument,
  run: (context, { line }) =>
    changeMode(context, 'lockdown', {
      what: 'Emergency lockdown on',
      effect: 'The Policy Engine now denies every decision until `lockdown lift` is approved',
      level: 4,
      runbook: 'emergency lockdown',
      action: 'emergency-lockdown',
      ...(line ? { reason: line } : {}),
    }),
  plan: (context, { line }) => modePlan(context, 'lockdown', `Put the Policy Engine in emergency lockdown${line ? ` because: ${clip(line, 200)}` : ''}; every decision is denied afterwards`),
});

export const lockdownLift = defineCommand({
  name: 'lockdown lift',
  summary: "Lift the Policy Engine's emergency lockdown: decisions are evaluated again (Level 3: two approvals)",
  examples: ['lockdown lift'],
  level: 3,
  args: z.object({}),
  run: (context) =>
    changeMode(context, 'lockdown lift', {
      what: 'Lockdown lifted',
      effect: 'The Policy Engine evaluates decisions again',
      level: 3,
      runbook: 'lifting a lockdown',
      action: 'lift-lockdown',
    }),
  plan: (context) => modePlan(context, 'lockdown lift', "Lift the Policy Engine's emergency lockdown; decisions are evaluated again"),
});
