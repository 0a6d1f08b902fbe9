/**
 * What the four troubleshooting runbooks share: the ports their steps cannot run without (with a
 * sentence when one is missing), the shape of a step's output (a sentence first, then the
 * evidence: the run message shows the output as JSON in the step's thread reply, so `summary`
 * comes first and the rest stays small), a remedy that is skipped with its reason, and the
 * escalation a Level 1 runbook names but never runs.
 */
import { callServiceClient, SERVICE_LABELS } from '../../commands/service-errors.js';
import type { CommandDependencies } from '../../commands/dependencies.js';
import type { ServiceName } from '../../services/kit/service-ports.js';
import type { StepPorts } from '../engine/ports.js';

/** Why a port is needed, in the words of the sentence a step fails with when it is missing. */
const PORT_WORDS: Partial<Record<keyof CommandDependencies, string>> = {
  endpoints: 'service addresses',
  policyEngine: 'Policy Engine client',
  sandboxController: 'Sandbox Controller client',
  stack: 'Stack driver (Docker or local processes)',
};

/**
 * The command dependencies a step needs, or an error naming the first one missing: a step never
 * runs half its checks on a process that was started without what they read.
 */
export function commandPorts<K extends keyof CommandDependencies>(ports: StepPorts, needed: readonly K[]): Required<Pick<CommandDependencies, K | 'endpoints'>> & Partial<CommandDependencies> {
  const commands = ports.commands;
  for (const key of ['endpoints', ...needed] as const) {
    if (commands?.[key] === undefined) {
      const problem = key === 'stack' && commands?.stackProblem ? ` (${commands.stackProblem.replace(/\.$/, '')})` : '';
      throw new Error(`this process has no ${PORT_WORDS[key] ?? key}${problem}, so the step cannot check anything; the bot hands it to the runbook engine (bot/main.ts)`);
    }
  }
  return commands as Required<Pick<CommandDependencies, K | 'endpoints'>> & Partial<CommandDependencies>;
}

/** One call of a service client; an outage becomes the same sentence the command would answer with. */
export function callService<T>(service: ServiceName, commands: Pick<CommandDependencies, 'endpoints'>, call: () => Promise<T>): Promise<T> {
  return callServiceClient(service, commands as CommandDependencies, call);
}

export const serviceLabel = (service: ServiceName) => SERVICE_LABELS[service];

/** A remedy above what the runbook runs by itself: the exact command a person types, its level and why. */
export interface NextStep {
  command: string;
  level: 0 | 1 | 2 | 3 | 4 | 'manual';
  why: string;
}

const LEVEL_TEXT: Record<string, string> = {
  0: 'read-only',
  1: 'Level 1, on-call',
  2: 'Level 2: one approval',
  3: 'Level 3: two approvals',
  4: 'Level 4: two approvals',
  manual: 'by hand: no /acgs command does it',
};

/** A command's level as `next` names it; the commands' own definitions are where the levels live. */
export function commandLevel(level: 'read' | 1 | 2 | 3 | 4): NextStep['level'] {
  return level === 'read' ? 0 : level;
}

export function nextStep(command: string, level: NextStep['level'], why: string): NextStep {
  return { command: level === 'manual' ? command : `/acgs ${command}`, level, why };
}

/** "Next: `/acgs restart policy-engine` (Level 1, on-call): it uses 93 % of its memory limit." */
export function nextStepsSentence(steps: readonly NextStep[]): string {
  if (steps.length === 0) return '';
  return ` Next: ${steps.map((step) => `\`${step.command}\` (${LEVEL_TEXT[String(step.level)]}) ${step.why}`).join('; ')}.`;
}

/**
 * What every step returns: the sentence, then what it was read from. The run's thread shows the
 * output as JSON after PostgreSQL (jsonb) has ordered its keys, shortest first: `summary` is the
 * shortest key here, so the sentence comes first and the evidence follows.
 */
export interface Finding<Evidence> {
  summary: string;
  evidence: Evidence;
}

/** What a remedy step returns when the check found nothing for it to fix: done, and saying why nothing ran. */
export function skipped(reason: string): Finding<{ remedyRan: false }> {
  return { summary: `Skipped: ${reason}`, evidence: { remedyRan: false } };
}

/** The evidence of an earlier step, which a later one reads (stored with the run, so it survives a takeover). */
export function evidenceOf<T>(outputs: Readonly<Record<string, unknown>>, stepId: string): T {
  const output = outputs[stepId] as { evidence?: unknown } | undefined | null;
  if (!output?.evidence) throw new Error(`the output of step "${stepId}" is missing, so this step cannot compare against it`);
  return output.evidence as T;
}

/** The evidence of an earlier step that may have been skipped by a person's decision. */
export function optionalEvidenceOf<T>(outputs: Readonly<Record<string, unknown>>, stepId: string): T | undefined {
  return (outputs[stepId] as { evidence?: T } | undefined | null)?.evidence;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
