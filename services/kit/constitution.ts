/** The constitutional hash every service response and audit record carries (DESIGN.md §3). */
export const CONSTITUTIONAL_HASH = 'cdd01ef066bc6cf2' as const;

export const CONSTITUTIONAL_HASH_HEADER = 'x-constitutional-hash' as const;

/** Firm port contract (DESIGN.md §3); env `PORT` overrides for a single service. */
export const SERVICE_PORTS = {
  'sandbox-controller': 8001,
  'evolution-oversight': 8002,
  'audit-engine': 8003,
  'policy-engine': 8004,
} as const;

export type ServiceName = keyof typeof SERVICE_PORTS;

export const SERVICE_NAMES = Object.keys(SERVICE_PORTS) as ServiceName[];
