/** The bot's authorization: the acgs.chatops policy in wasm, its rules as data, and roles. */
export { Authorizer, AUTHORIZATION_ENTRYPOINT, AUTHORIZATION_WASM_PATH, fallbackDecision } from './policy-authorizer.js';
export type { AuthorizerOptions, AuthorizerStatus } from './policy-authorizer.js';
export { createCommandAuthorization } from './command-authorization.js';
export type { AuthorizeCommand, CommandAuthorization } from './command-authorization.js';
export { AuthorizationData, AuthorizationOverrides, authorizationDataFor, defaultAuthorizationData, mergeAuthorizationData } from './data.js';
export { authorizationLevelOf, buildAuthorizationInput, DECISION_CODES } from './input.js';
export type { AuthorizationDecision, AuthorizationInput, AuthorizationLevel, CommandRequest, DecisionCode } from './input.js';
export { DEFAULT_ROLE_CACHE_TTL_MS, RoleResolver, slackUserGroupDirectory } from './roles.js';
export type { RoleResolution, RoleResolverOptions, UserGroupDirectory, UserGroupsClient } from './roles.js';
