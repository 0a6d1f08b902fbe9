/**
 * The control channel of the local stack's supervisor: a small HTTP server on 127.0.0.1 (an
 * ephemeral port) run by the process that owns the supervised children (`npm start`, or
 * `npm run start:stack`), so that another process (the CLI) can have the SUPERVISOR restart a
 * service: it owns the children, restarts them with the same environment, waits for health and
 * reports the new pid and the time taken. The CLI never signals a pid itself.
 *
 * It is found through `<state>/run/supervisor.json` (mode 0600, written atomically, removed on a
 * clean stop): the supervisor's pid, the channel's URL, a token generated for this run, and the
 * services with their argv, pid file and log file. Every request must carry the token
 * (`Authorization: Bearer`); whoever can read the state directory may control the stack, the
 * same boundary as the admin token beside it.
 *
 * Routes: GET /v1/ping, GET /v1/stack (list), POST /v1/stack/health {service},
 * POST /v1/stack/restart {service, timeoutMs, execution}, and the owner's extensions
 * (POST /v1/<name>), which is how `npm start` lends its audit trail to the CLI
 * (bot/audit-trail/trail-relay.ts).
 *
 * A restart is an escalated action, so the token alone is not enough: the request names the
 * committed `execution` record the CLI's command path wrote (after the policy allowed it), and the
 * owner's `restartGuard` checks it against its trail (bot/audit-trail/restart-execution-check.ts).
 * Without a guard (`npm run start:stack`, no trail to check against) every restart is refused.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, rmSync } from 'node:fs';
import { localStatePaths, writeFileAtomic } from './local-state.js';
import type { SupervisedProcess } from './local-supervisor.js';
import { requireServiceName } from '../stack-checks.js';
import { StackError, type Stack } from '../stack.js';
import { connectLocalControl, type ControlChannel } from './local-control-client.js';
import {
  CONTROL_MARKER,
  CONTROL_ROUTES,
  EXTENSION_PREFIX,
  stackErrorAnswer,
  type ErrorAnswer,
  type ListAnswer,
  type PingAnswer,
  type SupervisorRecord,
} from './local-control-protocol.js';

/** A refusal from an extension, sent back as `{ error: { code, message } }` with its status. */
export class ControlError extends Error {
  override readonly name = 'ControlError';
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export type ControlExtension = (body: Record<string, unknown>) => Promise<unknown>;

export interface LocalControlOptions {
  stateDir: string;
  /** The in-process driver over the very processes below: restarts are its restarts. */
  stack: Stack;
  processes: readonly SupervisedProcess[];
  /** Extra routes, `POST /v1/<name>`; names may contain `/`. */
  extensions?: Record<string, ControlExtension>;
  /** Feature names announced in the supervisor file. */
  features?: string[];
  /**
   * Decides whether a restart may run under the execution record it names: undefined to allow,
   * a sentence saying why not to refuse. Without it every restart is refused.
   */
  restartGuard?: RestartGuard;
  /**
   * The same for a deploy (POST /v1/stack/deploy): undefined to allow the deploy the execution
   * record names, a sentence to refuse. Without it every deploy over the channel is refused.
   */
  deployGuard?: DeployGuard;
}

export type DeployGuard = (request: { service: string; directory: string; execution: string }) => Promise<string | undefined>;

export type RestartGuard = (request: { service: string; execution: string }) => Promise<string | undefined>;

/** Refusals of a restart the channel was asked for: nothing was restarted. */
function restartRefused(service: string, why: string): StackError {
  return new StackError('INVALID_ARGUMENT', `The supervisor refused to restart ${service}: ${why}. Nothing was restarted.`);
}

export interface LocalControl {
  url: string;
  supervisorFile: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ControlError('TOO_LARGE', `the request body is over ${MAX_BODY_BYTES} bytes`, 413));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (size === 0) return resolve({});
      try {
        const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
        resolve(value as Record<string, unknown>);
      } catch {
        reject(new ControlError('BAD_REQUEST', 'the request body must be a JSON object'));
      }
    });
    request.on('error', reject);
  });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/.exec(header ?? '')?.[1] ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A live supervisor of another process answering on the channel its file names: it owns this state directory. */
async function liveSupervisor(stateDir: string): Promise<ControlChannel | undefined> {
  try {
    const channel = await connectLocalControl(stateDir, { pingTimeoutMs: 2000 });
    return channel.supervisorPid === process.pid ? undefined : channel;
  } catch {
    // No file, a file left by a stack that is gone, or something else on its port: ours to take.
    return undefined;
  }
}

export async function startLocalControl(options: LocalControlOptions): Promise<LocalControl> {
  const paths = localStatePaths(options.stateDir);
  const other = await liveSupervisor(options.stateDir);
  if (other) {
    throw new Error(`another local stack supervisor (pid ${other.supervisorPid}, ${other.url}) already runs with the state directory ${options.stateDir}; stop it first`);
  }
  const token = randomBytes(24).toString('hex');
  const extensions = options.extensions ?? {};
  const stack = options.stack;

  /** The restart's proof: an execution record the owner's trail holds for this very restart. */
  async function requireRestartExecution(service: string, execution: unknown): Promise<void> {
    if (!options.restartGuard) {
      throw restartRefused(service, 'this stack runs without the bot (npm run start:stack), so there is no audit trail to check the restart against; run npm start and restart through it');
    }
    if (typeof execution !== 'string' || execution === '') {
      throw restartRefused(service, 'the request names no execution record; a restart runs only under the committed execution record of an allowed restart command (npx acgs restart writes it)');
    }
    if (execution.length > 200) throw restartRefused(service, 'the execution record id is over 200 characters');
    requireServiceName(service);
    const refusal = await options.restartGuard({ service, execution });
    if (refusal !== undefined) throw restartRefused(service, refusal);
  }

  /** A deploy's proof, as for a restart: an execution record the owner's trail holds for this very deploy. */
  async function requireDeployExecution(service: string, artifact: unknown, execution: unknown): Promise<string> {
    const refused = (why: string) => new StackError('INVALID_ARGUMENT', `The supervisor refused to deploy ${service}: ${why}. Nothing was deployed.`);
    if (!options.deployGuard) throw refused('this supervisor checks no deploys (it has no audit trail to check them against); deploy through the bot that runs npm start');
    const directory = (artifact as { kind?: unknown; directory?: unknown } | null)?.kind === 'directory' ? (artifact as { directory: unknown }).directory : undefined;
    if (typeof directory !== 'string') throw refused('the request names no release directory ({ kind: "directory", directory })');
    if (typeof execution !== 'string' || execution === '') throw refused('the request names no execution record; a deploy runs only under the committed execution record of an allowed deploy');
    if (execution.length > 200) throw refused('the execution record id is over 200 characters');
    requireServiceName(service);
    const refusal = await options.deployGuard({ service, directory, execution });
    if (refusal !== undefined) throw refused(refusal);
    return directory;
  }

  async function route(request: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const path = new URL(request.url ?? '/', 'http://control').pathname;
    if (request.method === 'GET' && path === CONTROL_ROUTES.ping) return { status: 200, body: { marker: CONTROL_MARKER, pid: process.pid } satisfies PingAnswer };
    if (request.method === 'GET' && path === CONTROL_ROUTES.list) return { status: 200, body: { services: await stack.list() } satisfies ListAnswer };
    if (request.method !== 'POST') return { status: 404, body: { error: { code: 'NOT_FOUND', message: `no route ${request.method} ${path}` } } satisfies ErrorAnswer };
    const body = await readBody(request);
    const service = typeof body.service === 'string' ? body.service : '';
    if (path === CONTROL_ROUTES.health) return { status: 200, body: await stack.health(service) };
    if (path === CONTROL_ROUTES.restart) {
      const timeoutMs = typeof body.timeoutMs === 'number' ? body.timeoutMs : undefined;
      await requireRestartExecution(service, body.execution);
      return { status: 200, body: await stack.restart(service, timeoutMs === undefined ? {} : { timeoutMs }) };
    }
    if (path === CONTROL_ROUTES.running) return { status: 200, body: await stack.running(service) };
    if (path === CONTROL_ROUTES.deploy) {
      const timeoutMs = typeof body.timeoutMs === 'number' ? body.timeoutMs : undefined;
      const directory = await requireDeployExecution(service, body.artifact, body.execution);
      return { status: 200, body: await stack.deploy(service, { kind: 'directory', directory }, timeoutMs === undefined ? {} : { timeoutMs }) };
    }
    // Own names only: `/v1/constructor` must not reach Object.prototype's members.
    const name = path.startsWith(EXTENSION_PREFIX) ? path.slice(EXTENSION_PREFIX.length) : undefined;
    const extension = name !== undefined && Object.hasOwn(extensions, name) ? extensions[name] : undefined;
    if (extension) return { status: 200, body: (await extension(body)) ?? {} };
    return { status: 404, body: { error: { code: 'NOT_FOUND', message: `no route POST ${path}` } } satisfies ErrorAnswer };
  }

  const server = createServer((request, response) => {
    if (!tokenMatches(request.headers.authorization, token)) {
      request.resume();
      send(response, 401, { error: { code: 'UNAUTHORIZED', message: `the control channel needs the token in ${paths.supervisorFile}` } });
      return;
    }
    route(request).then(
      ({ status, body }) => send(response, status, body),
      (error: unknown) => {
        if (error instanceof StackError) {
          send(response, 422, stackErrorAnswer(error));
        } else if (error instanceof ControlError) {
          send(response, error.status, { error: { code: error.code, message: error.message } });
        } else {
          process.stderr.write(`[control] internal error: ${(error as Error)?.stack ?? String(error)}\n`);
          send(response, 500, { error: { code: 'INTERNAL', message: 'the supervisor failed to answer; its output says why' } });
        }
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const startedAt = new Date().toISOString();
  let closing = false;
  // Written again whenever a deploy changes a service's argv: the CLI trusts a pid file only when its argv is the one published here.
  const publish = () => {
    if (closing) return;
    const record: SupervisorRecord = {
      marker: CONTROL_MARKER,
      pid: process.pid,
      url,
      token,
      startedAt,
      services: options.processes.map((supervised) => ({
        name: supervised.name,
        argv: supervised.argv,
        pidFile: paths.pidFile(supervised.name),
        logFile: paths.logFile(supervised.name),
        healthUrl: supervised.healthUrl,
      })),
      features: options.features ?? [],
    };
    writeFileAtomic(paths.supervisorFile, `${JSON.stringify(record, null, 2)}\n`, 0o600);
  };
  publish();
  for (const supervised of options.processes) supervised.onLaunchChanged(publish);

  let closed: Promise<void> | undefined;
  return {
    url,
    supervisorFile: paths.supervisorFile,
    close: () =>
      (closed ??= (async () => {
        closing = true;
        // Only our own file: a newer supervisor may have taken the directory over.
        try {
          if ((JSON.parse(readFileSync(paths.supervisorFile, 'utf8')) as SupervisorRecord).token === token) rmSync(paths.supervisorFile, { force: true });
        } catch {
          // already gone
        }
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })()),
  };
}
