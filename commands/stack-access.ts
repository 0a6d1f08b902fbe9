/**
 * How commands reach the Stack port: the stack itself (or a clear refusal without one), service
 * names checked against the stack before anything is done to it, and StackErrors turned into
 * documents that say what happened, what was done, what was not and what to try next.
 */
import { z } from 'zod';
import { SERVICE_NAME_RULE, ServiceNameSchema } from '../services/kit/identifiers.js';
import { StackError, type ServiceHealthStatus, type Stack, type StackErrorCode } from '../services/stack/stack.js';
import { closestChoice } from './arguments.js';
import { CommandError, type CommandContext } from './command.js';
import { clip } from './format.js';
import type { CheckLine, ResultAction, ResultDocument, Tone } from './result.js';

/** A compose service name, checked before the stack is asked anything (the stack checks membership). */
export const serviceArgument = z
  .string({ error: 'must be a service name such as policy-engine' })
  .refine((value) => ServiceNameSchema.safeParse(value).success, {
    error: (issue) => `${SERVICE_NAME_RULE}${typeof issue.input === 'string' ? ` (got \`${clip(issue.input, 24)}\`)` : ''}`,
  });

/** A service's health as a verdict: starting and degraded want a look, unhealthy and down are failures. */
export const SERVICE_HEALTH_TONES: Record<ServiceHealthStatus, Tone> = { healthy: 'ok', starting: 'warn', degraded: 'warn', unhealthy: 'fail', down: 'fail' };

/** The stack, or a refusal saying why there is none. */
export function requireStack(context: CommandContext): Stack {
  const { stack, stackProblem } = context.services;
  if (stack) return stack;
  throw new CommandError(
    stackProblem ?? 'This bot controls no stack: it was started without a Stack driver.',
    'The bot gets one from `npm start` (local processes, or the Docker stack when one runs); the CLI chooses by itself (ACGS_STACK=local|docker forces one).',
    'unavailable',
  );
}

/** Where the stack runs, in words for a person: "the Docker stack (…)" or "the local stack (…)". */
export function stackLabel(stack: Pick<Stack, 'kind' | 'description'>): string {
  return `the ${stack.kind === 'docker' ? 'Docker' : 'local'} stack (${stack.description})`;
}

/**
 * Refuses a service the stack does not have, with the closest name and the list, before any
 * operation is asked of it. A stack that cannot even be listed throws its StackError.
 */
export async function requireStackService(stack: Stack, service: string): Promise<void> {
  const known = await stack.services();
  if (known.includes(service)) return;
  const guess = closestChoice(service.toLowerCase(), known);
  throw new CommandError(
    `There is no service \`${clip(service, 63)}\` in ${stackLabel(stack)}${guess ? `; did you mean \`${guess}\`?` : '.'}`,
    known.length > 0 ? `Its services: ${known.join(', ')}. Nothing was done.` : 'It has no services at all; `status` shows what runs. Nothing was done.',
  );
}

const FAILURE_TITLES: Record<StackErrorCode, string> = {
  ENGINE_DOWN: 'the Docker Engine does not answer',
  SERVICE_UNKNOWN: 'no such service',
  CONTAINER_MISSING: 'a container is missing',
  IMAGE_MISSING: 'an image is missing',
  TIMEOUT: 'not healthy in time',
  UNHEALTHY: 'not healthy',
  NOT_SUPPORTED: 'not possible on this stack',
  PARTIAL: 'partly done',
  INVALID_ARGUMENT: 'refused',
  BUSY: 'already in progress',
  NOT_RUNNING: 'the local stack is not running',
};

/** Failures where nothing happened: only the person who asked needs to see them. */
const NOTHING_HAPPENED: ReadonlySet<StackErrorCode> = new Set(['SERVICE_UNKNOWN', 'NOT_SUPPORTED', 'INVALID_ARGUMENT', 'BUSY', 'NOT_RUNNING']);

function nextStep(code: StackErrorCode, service: string | undefined): string | undefined {
  const target = service ? ` ${service}` : '';
  switch (code) {
    case 'ENGINE_DOWN':
      return 'Once the engine answers, `status` shows the stack again.';
    case 'CONTAINER_MISSING':
      return `\`status${target}\` shows what runs now; \`docker-compose -p acgs up -d${target}\` creates a missing container again.`;
    case 'IMAGE_MISSING':
      return 'Build or load the image on the engine (no registry is used here), then try again.';
    case 'TIMEOUT':
    case 'UNHEALTHY':
    case 'PARTIAL':
      return service ? `Read \`logs ${service} --tail 50\` for the cause; \`status ${service}\` shows its state now.` : '`status` shows the state now.';
    case 'BUSY':
      return `Wait for it to finish; \`status${target}\` shows the state meanwhile.`;
    case 'NOT_RUNNING':
      return 'Start it with `npm start` (or `npm run start:stack` for the services alone), then try again. Nothing was done.';
    default:
      return undefined;
  }
}

/** The StackError's own words without the done / not done lists, which the document shows as lines. */
export function stackErrorReason(error: StackError): string {
  const reason = (error as { reason?: unknown }).reason;
  return typeof reason === 'string' ? reason : error.message;
}

/** A StackError as a document a person can act on: what went wrong, what was done and not done, what next. */
export function stackFailureDocument(commandName: string, error: StackError, service?: string): ResultDocument {
  const items: CheckLine[] = [
    ...error.done.map((step): CheckLine => ({ name: 'Done', tone: 'ok', text: step })),
    ...error.notDone.map((step): CheckLine => ({ name: 'Not done', tone: 'fail', text: step })),
  ];
  const next = nextStep(error.code, service);
  const actions: ResultAction[] =
    service && ['TIMEOUT', 'UNHEALTHY', 'PARTIAL', 'CONTAINER_MISSING'].includes(error.code)
      ? [
          { label: `Logs of ${service}`, command: `logs ${service} --tail 50` },
          { label: `Status of ${service}`, command: `status ${service}` },
        ]
      : [];
  return {
    title: `${commandName}: ${FAILURE_TITLES[error.code]}`,
    tone: 'fail',
    summary: stackErrorReason(error),
    blocks: items.length > 0 ? [{ type: 'checks', items }] : [],
    ...(actions.length > 0 ? { actions } : {}),
    ...(next ? { footer: next } : {}),
    ...(NOTHING_HAPPENED.has(error.code) ? { ephemeral: true } : {}),
    data: {
      error: { code: error.code, message: stackErrorReason(error), done: error.done, not_done: error.notDone },
      ...(service ? { service } : {}),
    },
  };
}

/** Runs stack work; a StackError becomes its document, anything else propagates. */
export async function onStack(commandName: string, service: string | undefined, work: () => Promise<ResultDocument>): Promise<ResultDocument> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof StackError) return stackFailureDocument(commandName, error, service);
    throw error;
  }
}

/**
 * A stack command's work: the stack (or a refusal without one), the named service checked against
 * it before anything is asked of it, and a StackError turned into its document.
 */
export async function onStackService(
  context: CommandContext,
  commandName: string,
  service: string | undefined,
  work: (stack: Stack) => Promise<ResultDocument>,
): Promise<ResultDocument> {
  const stack = requireStack(context);
  return onStack(commandName, service, async () => {
    if (service !== undefined) await requireStackService(stack, service);
    return work(stack);
  });
}
