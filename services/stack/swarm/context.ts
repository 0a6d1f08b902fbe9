/**
 * What every operation of the Swarm driver works from: the manager's engine client, the stack it
 * controls, its waiting times and the guard against two changing operations at once.
 */
import type Docker from 'dockerode';
import { DEFAULT_COMPOSE_PROJECT } from '../docker/compose-labels.js';
import { callEngine } from '../docker/context.js';
import { DEFAULT_DOCKER_HOST, dockerClient } from '../docker/engine-connection.js';
import { createOperationGuard, type OperationGuard } from '../operation-guard.js';

export interface SwarmStackOptions {
  /** A swarm manager's engine address; default DOCKER_HOST, else the default socket. */
  dockerHost?: string;
  /** The stack (`docker stack deploy ... <stack>`); default `acgs`, as the compose project. */
  stack?: string;
  /** How often the service and its tasks are read while waiting; default 250 ms. */
  pollIntervalMs?: number;
}

export interface SwarmContext {
  readonly docker: Docker;
  readonly host: string;
  readonly stack: string;
  readonly pollMs: number;
  /** The stack and engine, for refusals that name the services there are. */
  readonly where: string;
  readonly guard: OperationGuard;
}

export function createSwarmContext(options: SwarmStackOptions = {}): SwarmContext {
  const host = options.dockerHost || process.env.DOCKER_HOST || DEFAULT_DOCKER_HOST;
  const stack = options.stack ?? DEFAULT_COMPOSE_PROJECT;
  return {
    docker: dockerClient(host),
    host,
    stack,
    pollMs: options.pollIntervalMs ?? 250,
    where: `Swarm stack "${stack}" on ${host}`,
    guard: createOperationGuard(),
  };
}

/** Runs an engine call; an unreachable engine becomes ENGINE_DOWN, saying what was not done (the Docker driver's own). */
export const callSwarm: <T>(context: Pick<SwarmContext, 'host'>, call: () => Promise<T>, notDone?: string[]) => Promise<T> = callEngine;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
