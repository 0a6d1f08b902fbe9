import { z } from 'zod';

/**
 * Identifiers of agents and people (agent ids, Slack user IDs, service accounts, e-mail style
 * names), shared by every service. A narrow alphabet so quotes, spaces, control characters and
 * markup never reach a query, a container label, a log line or an audit record; one definition
 * so that what one service accepts, the Audit Engine can always store.
 */
export const Identifier = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@/-]*$/, 'must start with a letter or digit and use only letters, digits and . _ : @ / -');

/** A compose service name as docker-compose accepts it (at most 63 characters), anchored. */
export const SERVICE_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/** What a refused service name is told. */
export const SERVICE_NAME_RULE = "must be a service name such as policy-engine (letters, digits, '.', '_' and '-'; at most 63)";

/**
 * A compose service name: what the Stack drivers, the local log folder and the commands' service
 * argument all accept, so one refuses nothing another would take.
 */
export const ServiceNameSchema = z.string().regex(SERVICE_NAME_PATTERN, SERVICE_NAME_RULE);
