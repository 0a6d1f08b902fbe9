/**
 * `silence <rule> <duration> <reason...>`: a rule's alerts notify nobody for a while (at most 7
 * days); they are still stored and listed, marked silenced. Recorded with who and why, and it
 * expires by itself. `silences`: the ones in force.
 */
import { z } from 'zod';
import { closestChoice } from './arguments.js';
import { alertRefused, requireAlerts } from './alert-access.js';
import { silenceDocument, silencesDocument } from './alert-documents.js';
import { silenceDurationArgument } from './alert-times.js';
import { CommandError, defineCommand } from './command.js';
import { clip } from './format.js';
import { tokenize } from './registry.js';

const MAX_REASON = 500;

/** The words after `silence`: a rule, a duration, and the rest as the reason (quotes kept as words). */
const silenceArguments = z.object({ line: z.string() }).transform(({ line }, context) => {
  const words = tokenize(line);
  const [rule, duration, ...reasonWords] = words;
  const reason = reasonWords.join(' ').trim();
  const problem = !rule
    ? 'name the rule to silence, how long and why'
    : !duration
      ? 'say how long, as 30m, 4h or 2d (at most 7d), and why'
      : reason === ''
        ? 'say why: whoever finds the rule quiet reads the reason'
        : reason.length > MAX_REASON
          ? `the reason may be at most ${MAX_REASON} characters`
          : undefined;
  if (problem) {
    context.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  }
  const parsed = silenceDurationArgument.safeParse(duration);
  if (!parsed.success) {
    context.addIssue({ code: 'custom', message: parsed.error.issues.map((issue) => issue.message).join('; ') });
    return z.NEVER;
  }
  return { rule: rule!, durationMs: parsed.data, reason };
});

export const silence = defineCommand({
  name: 'silence',
  summary: "Silence an alert rule for a while (at most 7 days), with a reason: its alerts are stored but notify nobody until it ends",
  usage: '<rule> <duration> <reason...>',
  examples: ['silence HighCpu 2h load test of the sandbox, ticket 4711', 'silence LowCacheHitRate 30m cache rebuilt after the redis flush'],
  level: 1,
  rawArguments: true,
  args: silenceArguments,
  async run(context, { rule, durationMs, reason }) {
    const port = requireAlerts(context);
    const known = port.rules.map((entry) => entry.name);
    // The rule as the runbook names it, whatever the case it was typed in.
    const named = known.find((name) => name.toLowerCase() === rule.toLowerCase()) ?? rule;
    const silenced = await port
      .silence({ rule: named, until: new Date(Date.now() + durationMs), reason, by: context.actor.id })
      .catch((error: unknown) => {
        const guess = closestChoice(rule.toLowerCase(), known.map((name) => name.toLowerCase()));
        const match = guess ? known.find((name) => name.toLowerCase() === guess) : undefined;
        if (match && (error as { code?: string }).code === 'unknown-rule') {
          throw new CommandError(`There is no alert rule \`${clip(rule, 60)}\`; did you mean \`${match}\`? The runbook's rules are ${known.join(', ')}.`, undefined, 'refused');
        }
        return alertRefused(error);
      });
    return silenceDocument(silenced, durationMs, port.timezone);
  },
});

export const silences = defineCommand({
  name: 'silences',
  summary: 'Show the alert rules silenced now: until when, by whom and why',
  examples: ['silences'],
  level: 'read',
  args: z.object({}).strict(),
  async run(context) {
    const port = requireAlerts(context);
    return silencesDocument(await port.silences(), port.timezone);
  },
});
