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
