/**
 * What a person reads about an authorization decision: a refusal and `/acgs can`'s explanation
 * (a command that waits for approvals becomes a request: bot/command-path/approval-flow.ts). The
 * policy's reason may quote configured text (a freeze's reason): it stays plain text here and
 * every renderer escapes it.
 */
import type { PolicyDecision } from './ports.js';
import type { ResultDocument } from './result.js';

const LEVEL_WORDS: Record<number, string> = {
  0: 'read-only',
  1: 'Level 1 (automatic resolution)',
  2: 'Level 2 (human decision)',
  3: 'Level 3 (critical)',
  4: 'Level 4 (emergency)',
};

export function levelWords(level: number): string {
  return LEVEL_WORDS[level] ?? `Level ${level}`;
}

export function rolesWords(roles: readonly string[]): string {
  if (roles.length === 0) return 'nobody (no approver role is configured)';
  const named = roles.map((role) => `\`${role}\``);
  return named.length === 1 ? `${named[0]}` : `${named.slice(0, -1).join(', ')} or ${named.at(-1)}`;
}

/** "2 approvals from different people holding `approvers` or `admins` (not you)" */
export function approvalsWords(decision: Pick<PolicyDecision, 'approvals_required' | 'approver_roles' | 'distinct_approvers'>): string {
  const count = `${decision.approvals_required} approval${decision.approvals_required === 1 ? '' : 's'}`;
  const who = decision.distinct_approvers && decision.approvals_required > 1 ? 'different people' : 'someone';
  return `${count} from ${who} holding ${rolesWords(decision.approver_roles)} (not you)`;
}

function decisionFacts(decision: PolicyDecision): { label: string; value: string }[] {
  return [
    { label: 'Level', value: levelWords(decision.level) },
    { label: 'Decision', value: decision.code.replace(/_/g, ' ') },
  ];
}

/** The policy said no: nothing ran. */
export function refusalDocument(commandName: string, decision: PolicyDecision): ResultDocument {
  return {
    title: `${commandName}: refused`,
    tone: 'fail',
    summary: decision.reason,
    blocks: [{ type: 'fields', fields: decisionFacts(decision) }],
    footer: `Nothing was done. \`/acgs can ${commandName}\` explains who may run it.`,
    ephemeral: true,
    data: { error: { kind: 'refused', message: decision.reason }, decision },
  };
}

/** `/acgs can <command ...>`: the decision for the caller, nothing run. */
export function canDocument(line: string, decision: PolicyDecision): ResultDocument {
  const facts = { type: 'fields' as const, fields: decisionFacts(decision) };
  const data = { line, decision };
  if (!decision.allow) {
    return { title: `No: ${line}`, tone: 'fail', summary: decision.reason, blocks: [facts], footer: 'Nothing was run; this only explains the decision.', ephemeral: true, data };
  }
  if (decision.approvals_required > 0) {
    return {
      title: `After approval: ${line}`,
      tone: 'warn',
      summary: `You may request it; it runs after ${approvalsWords(decision)}.`,
      blocks: [facts, { type: 'text', text: decision.reason }],
      footer: 'Nothing was run; this only explains the decision.',
      ephemeral: true,
      data,
    };
  }
  return {
    title: `Yes: ${line}`,
    tone: 'ok',
    summary: decision.break_glass ? `You may run it at once, as a break-glass action. ${decision.reason}` : `You may run it at once. ${decision.reason}`,
    blocks: [facts],
    footer: 'Nothing was run; this only explains the decision.',
    ephemeral: true,
    data,
  };
}
