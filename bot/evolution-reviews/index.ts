/**
 * Evolution review cards: proposals in `human_review` posted once to the approvals channel, kept
 * up to date until decided. Slack-free; see README.md beside this file.
 */
export * from './card-store.js';
export * from './poster.js';
