/**
 * How the bot reaches Slack, read once from the environment. Exactly one transport: Socket Mode
 * when SLACK_APP_TOKEN is set, HTTP when SLACK_SIGNING_SECRET is set. Both, neither, or a token of
 * the wrong kind stop the start with one message naming every problem and never echoing a secret.
 */
import { z } from 'zod';
import { HttpUrl, parseEnv, Port } from '../../services/kit/env.js';

export const DEFAULT_BOT_PORT = 3000;

const SlackEnv = z.object({
  SLACK_BOT_TOKEN: z.string().regex(/^xoxb-[A-Za-z0-9-]{4,250}$/, 'must be a bot token (xoxb-…) from the app’s OAuth & Permissions page'),
  SLACK_APP_TOKEN: z
    .string()
    .regex(/^xapp-[A-Za-z0-9-]{4,250}$/, 'must be an app-level token (xapp-…) with the connections:write scope')
    .optional(),
  SLACK_SIGNING_SECRET: z
    .string()
    .regex(/^[A-Za-z0-9]{16,128}$/, 'must be the signing secret from the app’s Basic Information page (letters and digits)')
    .optional(),
  SLACK_API_URL: HttpUrl.optional(),
  PORT: Port.optional(),
});

interface CommonSettings {
  botToken: string;
  /** Base URL of the Web API, ending in `/`; Slack's own unless SLACK_API_URL says otherwise. */
  apiUrl: string;
  /** Where our HTTP server listens: /slack/events (HTTP mode), /health and /metrics (both). */
  port: number;
}

export type SlackSettings =
  | (CommonSettings & { mode: 'socket'; appToken: string })
  | (CommonSettings & { mode: 'http'; signingSecret: string });

export const SLACK_API_DEFAULT = 'https://slack.com/api/';

type Env = Record<string, string | undefined>;

const present = (env: Env, name: string) => (env[name] ?? '') !== '';

/** True when the environment asks for real Slack at all; without it `npm start` opens the console. */
export function slackRequested(env: Env = process.env): boolean {
  return ['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET'].some((name) => present(env, name));
}

export function parseSlackSettings(env: Env = process.env): SlackSettings {
  const socket = present(env, 'SLACK_APP_TOKEN');
  const http = present(env, 'SLACK_SIGNING_SECRET');
  const modeProblem =
    socket && http
      ? 'SLACK_APP_TOKEN and SLACK_SIGNING_SECRET are both set: set SLACK_APP_TOKEN for Socket Mode or SLACK_SIGNING_SECRET for HTTP mode, not both'
      : !socket && !http
        ? 'set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode, POST /slack/events)'
        : undefined;

  let parsed: z.output<typeof SlackEnv>;
  try {
    parsed = parseEnv(SlackEnv, 'Slack', env);
  } catch (error) {
    throw new Error(modeProblem ? `${(error as Error).message}; ${modeProblem}` : (error as Error).message);
  }
  if (modeProblem) throw new Error(`Invalid Slack configuration: ${modeProblem}`);

  const apiUrl = (parsed.SLACK_API_URL ?? SLACK_API_DEFAULT).replace(/\/?$/, '/');
  const common: CommonSettings = { botToken: parsed.SLACK_BOT_TOKEN, apiUrl, port: parsed.PORT ?? DEFAULT_BOT_PORT };
  return parsed.SLACK_APP_TOKEN
    ? { ...common, mode: 'socket', appToken: parsed.SLACK_APP_TOKEN }
    : { ...common, mode: 'http', signingSecret: parsed.SLACK_SIGNING_SECRET! };
}
