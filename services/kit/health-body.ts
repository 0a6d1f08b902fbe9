/**
 * The shape of every service's `GET /health` answer, apart from the Fastify kit that serves it, so
 * that the clients, `health` and the CLI read it without loading a web server and its metrics.
 */
import { z } from 'zod';

export const HealthStatus = z.enum(['healthy', 'degraded', 'unhealthy']);
export type HealthStatus = z.infer<typeof HealthStatus>;

/** What a service reports about itself; the kit adds the common fields. */
export interface HealthReport {
  status: HealthStatus;
  [key: string]: unknown;
}

/** The common part of every `GET /health` answer; services add their own fields. */
export const HealthBody = z
  .object({
    status: HealthStatus,
    service: z.string(),
    version: z.string(),
    constitutional_hash: z.string(),
    uptime_seconds: z.number(),
  })
  .passthrough();
export type HealthBody = z.infer<typeof HealthBody>;

