/** The bot's authorization: the acgs.chatops policy in wasm, its rules as data, and roles. */
export { Authorizer, AUTHORIZATION_ENTRYPOINT, AUTHORIZATION_WASM_PATH, fallbackDecision } from './authorizer.js';
export type { AuthorizerOptions, AuthorizerStatus } from './authorizer.js';
export { createCommandAuthorization } from './authorize.js';
export type { AuthorizeCommand, CommandAuthorization } from './authorize.js';
export { AuthorizationData, AuthorizationOverrides, authorizationDataFor, defaultAuthorizationData, mergeAuthorizationData } from './data.js';
export { authorizationLevelOf, buildAuthorizationInput, DECISION_CODES } from './input.js';
export type { AuthorizationDecision, AuthorizationInput, AuthorizationLevel, CommandRequest, DecisionCode } from './input.js';
export { DEFAULT_ROLE_CACHE_TTL_MS, RoleResolver, slackUserGroupDirectory } from './roles.js';
export type { RoleResolution, RoleResolverOptions, UserGroupDirectory, UserGroupsClient } from './roles.js';
