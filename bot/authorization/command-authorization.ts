/**
 * One call for the command path (Slack, the console, the CLI and `/acgs can`): resolve the
 * requester's roles, build the policy input, decide. Roles are asynchronous (Slack user groups);
 * the decision itself is the synchronous Authorizer.decide.
 */
import type { Authorizer } from './policy-authorizer.js';
import { buildAuthorizationInput, type AuthorizationDecision, type AuthorizationInput, type CommandRequest } from './input.js';
import type { RoleResolver } from './roles.js';

export interface CommandAuthorization {
  decision: AuthorizationDecision;
  /** What the policy saw, for the audit trail and for re-checking just before execution. */
  input: AuthorizationInput;
}

export type AuthorizeCommand = (request: Omit<CommandRequest, 'roles'>) => Promise<CommandAuthorization>;

export function createCommandAuthorization(authorizer: Authorizer, roles: RoleResolver): AuthorizeCommand {
  return async (request) => {
    const resolution = await roles.rolesOf(request.userId);
    const input = buildAuthorizationInput({ ...request, roles: resolution.roles });
    const decision = authorizer.decide(input);
    if (resolution.note) return { input, decision: { ...decision, reason: `${decision.reason} ${resolution.note}` } };
    return { input, decision };
  };
}
