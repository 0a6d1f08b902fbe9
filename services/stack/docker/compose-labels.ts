/** The labels docker-compose puts on the containers it creates; the Docker driver finds and numbers replicas by them. */
export const COMPOSE_LABELS = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  number: 'com.docker.compose.container-number',
  oneoff: 'com.docker.compose.oneoff',
} as const;

export const DEFAULT_COMPOSE_PROJECT = 'acgs';

/** The replica number from the compose label; 1 when absent or malformed (a container started by hand). */
export function replicaNumber(labels: Record<string, string> | undefined): number {
  const value = Number(labels?.[COMPOSE_LABELS.number]);
  return Number.isInteger(value) && value > 0 ? value : 1;
}

/**
 * The name of replica `number`: compose v1 names replicas `<project>_<service>_<n>`, v2
 * `<project>-<service>-<n>`; follow what the service already uses so listings stay uniform.
 */
export function replicaName(project: string, service: string, number: number, existingNames: readonly string[]): string {
  const underscored = existingNames.some((name) => name.startsWith(`${project}_${service}_`));
  return underscored ? `${project}_${service}_${number}` : `${project}-${service}-${number}`;
}
