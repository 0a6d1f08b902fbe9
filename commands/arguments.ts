/**
 * Argument schemas whose messages a person can act on: they say what is allowed and echo what was
 * typed (cut short), instead of zod's "expected number, received NaN".
 */
import { distance } from 'fastest-levenshtein';
import { z } from 'zod';
import { clip } from './format.js';

const shown = (input: unknown) => (typeof input === 'string' ? ` (got \`${clip(input, 24)}\`)` : '');

/** A count typed as decimal digits, within bounds: `5` yes; `-1`, `1e3`, `0x10`, `ten`, `5.5` no. */
export function wholeNumberArgument(min: number, max: number) {
  const message = `must be a whole number from ${min} to ${max}`;
  return z
    .string({ error: message })
    .refine((value) => /^[0-9]{1,9}$/.test(value) && Number(value) >= min && Number(value) <= max, {
      error: (issue) => `${message}${shown(issue.input)}`,
    })
    .transform(Number);
}

/**
 * One of a fixed set of words, case-insensitive; an unknown one is answered with the closest
 * known word and the whole list.
 */
export function choiceArgument<const T extends string>(values: readonly [T, ...T[]], what: string) {
  const known = new Set<string>(values);
  return z.string({ error: `must be ${what}: ${values.join(', ')}` }).transform((value, context): T => {
    const normal = value.trim().toLowerCase();
    if (known.has(normal)) return normal as T;
    const guess = closestChoice(normal, values);
    context.addIssue({
      code: 'custom',
      input: value,
      message: `\`${clip(value, 40)}\` is not ${what}${guess ? `; did you mean \`${guess}\`?` : '.'} Known: ${values.join(', ')}`,
    });
    return z.NEVER;
  });
}

/**
 * The known word a typo most likely meant: one it begins, else the nearest by edit distance to the
 * word or its first part (`polcy` -> `policy-engine`); undefined when nothing is close.
 */
export function closestChoice(typed: string, values: readonly string[]): string | undefined {
  const word = typed.slice(0, 40);
  if (word.length === 0) return undefined;
  const prefixed = values.find((value) => value.startsWith(word));
  if (prefixed) return prefixed;
  let best: { value: string; score: number } | undefined;
  for (const value of values) {
    const score = Math.min(distance(word, value), distance(word, value.split(/[-_ ]/)[0] ?? value));
    if (!best || score < best.score) best = { value, score };
  }
  return best && best.score <= Math.max(2, Math.floor(word.length / 3)) ? best.value : undefined;
}
