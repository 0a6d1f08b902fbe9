/**
 * Finding and calling the local stack's supervisor from another process (the CLI): reads
 * `<state>/run/supervisor.json`, checks that the supervisor it names is alive and is ours (its
 * pid runs, and its channel answers the ping with our marker and that pid), then calls it with
 * the token. Anything less is a NOT_RUNNING StackError saying how to start the stack; nothing is
 * done then.
 */
import { readFile } from 'node:fs/promises';
import { localStatePaths, processArgv } from './local-state.js';
import { StackError } from '../stack.js';
import { CONTROL_MARKER, CONTROL_ROUTES, isSupervisorRecord, stackErrorFromAnswer, type PublishedService } from './local-control-protocol.js';

export interface ControlChannel {
  supervisorPid: number;
  url: string;
  services: PublishedService[];
  features: string[];
  /** Calls a route; a StackError answer is thrown as that StackError, any other refusal as a ControlCallError. */
  call<T>(method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs?: number): Promise<T>;
}

/** The supervisor answered with a refusal that is not a StackError (an extension's, a bad request). */
export class ControlCallError extends Error {
  override readonly name = 'ControlCallError';
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const START_HINT = 'Start it with npm start (or npm run start:stack for the services alone)';

/** NOT_RUNNING, with the bare reason kept for callers that word it their own way (the CLI's trail). */
export class LocalStackNotRunningError extends StackError {
  constructor(readonly why: string) {
    super('NOT_RUNNING', `The local stack is not running: ${why}. ${START_HINT}; nothing was done.`);
  }
}

function notRunning(why: string): StackError {
  return new LocalStackNotRunningError(why);
}

export async function connectLocalControl(stateDir: string, options: { pingTimeoutMs?: number } = {}): Promise<ControlChannel> {
  const file = localStatePaths(stateDir).supervisorFile;
  let record: unknown;
  try {
    record = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notRunning(`no supervisor has published ${file}`);
    if ((error as NodeJS.ErrnoException).code === 'EACCES') {
      throw notRunning(`${file} cannot be read by this user (only the user who runs npm start can read it); run the CLI as that user`);
    }
    throw notRunning(`${file} cannot be read (${(error as Error).message})`);
  }
  // Only loopback URLs are ever called: a forged file cannot send the token elsewhere.
  if (!isSupervisorRecord(record)) throw notRunning(`${file} is not a supervisor file of this stack`);
  const { pid, url, token } = record;
  if ((await processArgv(pid)) === undefined) {
    throw notRunning(`${file} names supervisor pid ${pid}, which is gone (left by a stack that did not stop cleanly)`);
  }

  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 10_000): Promise<T> {
    let response: Response;
    try {
      response = await fetch(new URL(path, url), {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      if (cause === 'TimeoutError') {
        throw new StackError('TIMEOUT', `The local stack's supervisor (pid ${pid}) did not answer ${path} within ${Math.round(timeoutMs / 1000)} s; the operation may still finish: \`status\` shows the state`);
      }
      throw notRunning(`its supervisor (pid ${pid}) does not answer at ${url} (${cause})`);
    }
    const answer = (await response.json().catch(() => ({}))) as { error?: { code?: unknown; message?: unknown } };
    if (response.ok) return answer as T;
    const error = answer.error ?? {};
    const stackError = stackErrorFromAnswer(error);
    if (stackError) throw stackError;
    throw new ControlCallError(String(error.code ?? 'UNKNOWN'), String(error.message ?? `status ${response.status}`), response.status);
  }

  // The pid could have been reused while the file stayed: only our supervisor answers the ping with its pid.
  const ping = await call<{ marker?: unknown; pid?: unknown }>('GET', CONTROL_ROUTES.ping, undefined, options.pingTimeoutMs ?? 3000).catch((error: unknown) => {
    if (error instanceof ControlCallError) throw notRunning(`whatever answers at ${url} is not its supervisor (${error.message})`);
    throw error;
  });
  if (ping.marker !== CONTROL_MARKER || ping.pid !== pid) throw notRunning(`whatever answers at ${url} is not the supervisor pid ${pid} named in ${file}`);
  return { supervisorPid: pid, url, services: record.services, features: record.features, call };
}
