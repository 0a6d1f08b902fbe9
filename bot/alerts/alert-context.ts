/**
 * What the first reply under a new alert tells (issue 14: "last log lines, restart count, recent
 * deploys"), read through what the commands read: the Stack port's `logs` and `list`, and the
 * deployment records when the bot has them. Each reading is bounded in time and may fail on its
 * own; what could not be read is said in words, never as an error in the channel.
 */
import type { Deployments } from '../../commands/ports.js';
import type { LogLine, Stack } from '../../services/stack/stack.js';
import type { AlertRecord } from './alert-store.js';

export interface AlertContext {
  service?: string;
  /** The service's last log lines, oldest first. */
  logLines?: readonly LogLine[];
  /** Restarts the engine or the supervisor made on its own, over the service's replicas. */
  restarts?: number;
  /** Recent deployments of the service, newest first. */
  deploys?: ReadonlyArray<{ version: string; at: string; requestedBy: string; outcome: string }>;
  /** What could not be read, in words (a stopped engine, a service the stack does not have). */
  unavailable?: readonly string[];
}

export interface AlertContextSources {
  stack?: Pick<Stack, 'logs' | 'list'>;
  deployments?: Pick<Deployments, 'history'>;
  /** Log lines in the reply (default 10). */
  logLines?: number;
  /** Each reading's limit (default 5 s): a hung engine must not hold the reply forever. */
  timeoutMs?: number;
}

const within = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms).unref())]);

const reason = (error: unknown) => ((error as Error)?.message ?? String(error)).split('\n')[0]!.slice(0, 200);

/** The alert's context; undefined when the alert names no service (nothing to read about). */
export async function readAlertContext(alert: Pick<AlertRecord, 'labels'>, sources: AlertContextSources): Promise<AlertContext | undefined> {
  const service = alert.labels.service;
  if (!service || !/^[a-z][a-z0-9-]{0,62}$/.test(service)) return undefined;
  const timeoutMs = sources.timeoutMs ?? 5000;
  const unavailable: string[] = [];
  const context: AlertContext = { service };
  const [logs, list, history] = await Promise.allSettled([
    sources.stack ? within(sources.stack.logs(service, { tail: sources.logLines ?? 10 }), timeoutMs) : Promise.resolve(undefined),
    sources.stack ? within(sources.stack.list(), timeoutMs) : Promise.resolve(undefined),
    sources.deployments ? within(sources.deployments.history(service, 3), timeoutMs) : Promise.resolve(undefined),
  ]);
  if (logs.status === 'fulfilled' && logs.value) context.logLines = logs.value.lines;
  else if (logs.status === 'rejected') unavailable.push(`Log lines could not be read: ${reason(logs.reason)}`);
  if (list.status === 'fulfilled' && list.value) {
    const status = list.value.find((entry) => entry.name === service);
    if (status) context.restarts = status.replicas.reduce((total, replica) => total + replica.restarts, 0);
    else unavailable.push(`The stack has no service ${service}`);
  } else if (list.status === 'rejected') unavailable.push(`The restart count could not be read: ${reason(list.reason)}`);
  if (history.status === 'fulfilled' && history.value) {
    context.deploys = history.value.map((record) => ({ version: record.version, at: record.at, requestedBy: record.requestedBy, outcome: record.outcome }));
  } else if (history.status === 'rejected') unavailable.push(`Recent deploys could not be read: ${reason(history.reason)}`);
  if (unavailable.length > 0) context.unavailable = unavailable;
  return context;
}
