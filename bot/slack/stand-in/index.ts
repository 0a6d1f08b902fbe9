/** The Slack stand-in: what tests, the console and `npm start` use in place of Slack. */
export { createSlackStandIn, startSlackStandIn, SlackStandIn } from './stand-in.js';
export type { BotReply, ClickButtonInput, DeliveryOptions, MentionInput, MessagesQuery, ReactionInput, SlackStandInOptions, SlashCommandInput } from './stand-in.js';
export { SlackRefusal } from './stand-in.js';
export { BLOCK_KIT_LIMITS } from './block-kit-limits.js';
export { validateBlocks } from './block-kit.js';
export { slackSignature, signedHeaders } from './signing.js';
export { MAX_RESPONSE_URLS, RESPONSE_URL_LIFETIME_MS, RESPONSE_URL_MAX_USES } from './response-urls.js';
export type { ApiCall } from './web-api.js';
export { MAX_RECORDED_CALLS } from './web-api.js';
export { SLACK_RATE_LIMITS, SLACK_TIERS } from './rate-limits.js';
export type { RateAllowance, RateLimitOverrides, SlackRateLimits } from './rate-limits.js';
export { DEFAULT_CHANNELS, DEFAULT_USERS, MAX_MESSAGES_PER_CHANNEL } from './workspace.js';
export type { HomeView, StandInChannel, StandInFile, StandInFileRef, StandInMessage, StandInUser, WorkspaceSeed } from './workspace.js';
export { MAX_KEPT_FILES } from './workspace.js';
export { MAX_PENDING_UPLOADS } from './file-uploads.js';
