/**
 * The four services and their firm ports (DESIGN.md §3): the one list the services' configs, their
 * clients, the local stack and the commands read. Env `PORT` overrides the port of a single service.
 */
export const SERVICE_PORTS = {
  'sandbox-controller': 8001,
  'evolution-oversight': 8002,
  'audit-engine': 8003,
  'policy-engine': 8004,
} as const;

export type ServiceName = keyof typeof SERVICE_PORTS;

export const SERVICE_NAMES = Object.keys(SERVICE_PORTS) as ServiceName[];
