/**
 * The failover test of one service: stop it through the Stack port, time how long until its health
 * check fails (detection), then until it is healthy again (recovery: the alerts' Level 1
 * auto-resolution when it is on and brings it back in time, else the runbook starts it itself).
 * Every poll also reads the other services: one that goes down means the stack is not coping, so
 * the service is started again at once and the test stops there (FailoverAborted). A neighbour
 * that merely answers late is given LATE_IN_A_ROW polls: one slow /health is no outage.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceName } from '../../services/kit/service-ports.js';
import { SERVICE_NAMES } from '../../services/kit/service-ports.js';
import type { Stack } from '../../services/stack/stack.js';
import type { StepPorts } from '../engine/ports.js';
import { describeReadings, readServices, type ServiceReading } from './service-readings.js';

export interface FailoverTimings {
  /** How often health is read while waiting. */
  pollMs: number;
  /** How long a stopped service may go unnoticed before the test calls detection failed. */
  detectWithinMs: number;
  /** With Level 1 auto-resolution on: how long it gets to bring the service back before the runbook starts it. */
  levelOneWaitMs: number;
  /** How long a started service (and its degraded neighbours) may take to be healthy again. */
  recoverWithinMs: number;
}

export const DEFAULT_FAILOVER_TIMINGS: FailoverTimings = { pollMs: 250, detectWithinMs: 60_000, levelOneWaitMs: 120_000, recoverWithinMs: 120_000 };

export interface ServiceFailover {
  service: ServiceName;
  /** From the stop to the first failing health check; null when it was never seen failing. */
  detectionMs: number | null;
  /** From the stop to healthy again. */
  recoveryMs: number;
  recoveredBy: 'level-1' | 'runbook';
  /** Neighbours seen degraded while it was stopped (dependencies, not failures). */
  degradedMeanwhile: string[];
}

/** How many late answers in a row make a neighbour count as down. */
export const LATE_IN_A_ROW = 3;

/**
 * What became of the tested service when its failover was aborted: never stopped (the stack was
 * unwell before its stop), started again, or not startable (`problem`: the Stack's own sentence).
 */
export type AbortedService = { state: 'not-stopped' } | { state: 'started' } | { state: 'start-failed'; problem: string };

/** Another service went down during the test: the stopped one is started again, the test ends. */
export class FailoverAborted extends Error {
  override readonly name = 'FailoverAborted';
  constructor(
    message: string,
    readonly tested: AbortedService = { state: 'not-stopped' },
  ) {
    super(message);
  }
}

export function stackOf(ports: StepPorts): Stack {
  const stack = ports.commands?.stack;
  if (!stack) throw new Error(`this process has no Stack to stop and start services with${ports.commands?.stackProblem ? ` (${ports.commands.stackProblem})` : ''}`);
  return stack;
}

interface Watch {
  ports: StepPorts;
  service: ServiceName;
  signal: AbortSignal;
  timings: FailoverTimings;
  degraded: Set<string>;
  /** Late answers in a row, per neighbour. */
  late: Map<string, number>;
}

/** The tested service's reading; throws FailoverAborted when a neighbour is down. */
async function poll(watch: Watch): Promise<ServiceReading> {
  const others = SERVICE_NAMES.filter((name) => name !== watch.service);
  const [own, ...neighbours] = await readServices(watch.ports, watch.signal, [watch.service, ...others]);
  for (const reading of neighbours) watch.late.set(reading.service, reading.condition === 'late' ? (watch.late.get(reading.service) ?? 0) + 1 : 0);
  const down = neighbours.filter((reading) => reading.condition === 'down' || (watch.late.get(reading.service) ?? 0) >= LATE_IN_A_ROW);
  if (down.length > 0) throw new FailoverAborted(`${describeReadings(down)} while ${watch.service} was stopped`);
  for (const reading of neighbours) if (reading.condition === 'degraded') watch.degraded.add(reading.service);
  return own!;
}

/** Polls until `done(reading)` or `withinMs` passes; returns the elapsed time since `since`, or null on time out. */
async function until(watch: Watch, since: number, withinMs: number, done: (reading: ServiceReading) => boolean): Promise<number | null> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const reading = await poll(watch);
    if (done(reading)) return Date.now() - since;
    if (Date.now() >= deadline) return null;
    await sleep(watch.timings.pollMs, undefined, { signal: watch.signal });
  }
}

/** Reads every service until all are healthy or `withinMs` passes; returns the ones still unwell. */
async function everyServiceHealthy(ports: StepPorts, signal: AbortSignal, timings: FailoverTimings, withinMs: number): Promise<ServiceReading[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const readings = await readServices(ports, signal);
    const unwell = readings.filter((reading) => reading.condition !== 'healthy');
    if (unwell.length === 0 || Date.now() >= deadline) return unwell;
    await sleep(timings.pollMs, undefined, { signal });
  }
}

export interface FailoverInput {
  ports: StepPorts;
  service: ServiceName;
  signal: AbortSignal;
  timings: FailoverTimings;
  levelOne: boolean;
}

export async function failOver({ ports, service, signal, timings, levelOne }: FailoverInput): Promise<ServiceFailover> {
  const stack = stackOf(ports);
  // A few polls, not one: a single late answer is no reason to call the stack unwell.
  const unwell = await everyServiceHealthy(ports, signal, timings, timings.pollMs * LATE_IN_A_ROW);
  if (unwell.length > 0) throw new FailoverAborted(`${describeReadings(unwell)} before ${service} was stopped`);
  const watch: Watch = { ports, service, signal, timings, degraded: new Set(), late: new Map() };
  const stoppedAt = Date.now();
  await stack.stop(service);
  let recoveredBy: ServiceFailover['recoveredBy'] = 'runbook';
  try {
    const detectionMs = await until(watch, stoppedAt, timings.detectWithinMs, (reading) => reading.condition === 'down' || reading.condition === 'late');
    let recoveryMs = levelOne ? await until(watch, stoppedAt, timings.levelOneWaitMs, (reading) => reading.condition === 'healthy') : null;
    if (recoveryMs !== null) recoveredBy = 'level-1';
    else {
      await stack.start(service, { timeoutMs: timings.recoverWithinMs });
      recoveryMs = await until(watch, stoppedAt, timings.recoverWithinMs, (reading) => reading.condition === 'healthy');
      if (recoveryMs === null) throw new Error(`${service} was started again but is not healthy after ${Math.round(timings.recoverWithinMs / 1000)} s`);
    }
    const still = await everyServiceHealthy(ports, signal, timings, timings.recoverWithinMs);
    if (still.length > 0) throw new FailoverAborted(`${describeReadings(still)} after ${service} came back`);
    return { service, detectionMs, recoveryMs, recoveredBy, degradedMeanwhile: [...watch.degraded].sort() };
  } catch (error) {
    // Whatever stopped the test, the service it stopped runs again (a no-op when it already does);
    // whether it does is part of what the abort says.
    const tested: AbortedService = await stack.start(service, { timeoutMs: timings.recoverWithinMs }).then(
      () => ({ state: 'started' as const }),
      (startError: unknown) => ({ state: 'start-failed' as const, problem: startError instanceof Error ? startError.message : String(startError) }),
    );
    if (error instanceof FailoverAborted) throw new FailoverAborted(error.message, tested);
    throw error;
  }
}
