import { describe, expect, it } from 'vitest';
import { parseSlackSettings, slackRequested } from './settings.js';

const BOT = 'xoxb-1111-2222-abcdEFGH';
const APP = 'xapp-1-A0123-4567-deadbeef';
const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';

function problem(env: Record<string, string | undefined>): string {
  try {
    parseSlackSettings(env);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the settings to be refused');
}

describe('Slack settings', () => {
  it('choose Socket Mode when SLACK_APP_TOKEN is set, on port 3000 and Slack’s own API by default', () => {
    expect(parseSlackSettings({ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP })).toEqual({
      mode: 'socket',
      botToken: BOT,
      appToken: APP,
      apiUrl: 'https://slack.com/api/',
      port: 3000,
    });
  });

  it('choose HTTP mode when SLACK_SIGNING_SECRET is set, with SLACK_API_URL and PORT honoured', () => {
    expect(parseSlackSettings({ SLACK_BOT_TOKEN: BOT, SLACK_SIGNING_SECRET: SECRET, SLACK_API_URL: 'http://127.0.0.1:3000/api', PORT: '0' })).toEqual({
      mode: 'http',
      botToken: BOT,
      signingSecret: SECRET,
      apiUrl: 'http://127.0.0.1:3000/api/',
      port: 0,
    });
  });

  it('refuse both transports at once with one message that says to pick one', () => {
    expect(problem({ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, SLACK_SIGNING_SECRET: SECRET })).toBe(
      'Invalid Slack configuration: SLACK_APP_TOKEN and SLACK_SIGNING_SECRET are both set: set SLACK_APP_TOKEN for Socket Mode or SLACK_SIGNING_SECRET for HTTP mode, not both',
    );
  });

  it('refuse neither transport, saying which variable chooses which mode', () => {
    expect(problem({ SLACK_BOT_TOKEN: BOT })).toBe(
      'Invalid Slack configuration: set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode, POST /slack/events)',
    );
  });

  it('count empty variables as unset', () => {
    expect(parseSlackSettings({ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, SLACK_SIGNING_SECRET: '' }).mode).toBe('socket');
  });

  it('name every problem at once when the bot token is missing as well as the transport', () => {
    expect(problem({})).toBe(
      'Invalid Slack configuration: SLACK_BOT_TOKEN: is required; set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode, POST /slack/events)',
    );
  });

  it('refuse a bot token in the app token’s place without repeating it', () => {
    const message = problem({ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: BOT });
    expect(message).toBe('Invalid Slack configuration: SLACK_APP_TOKEN: must be an app-level token (xapp-…) with the connections:write scope (value hidden)');
    expect(message).not.toContain('1111');
  });

  it('refuse a malformed bot token, signing secret or API URL, naming each variable', () => {
    const message = problem({ SLACK_BOT_TOKEN: 'xoxp-user-token', SLACK_SIGNING_SECRET: 'short!', SLACK_API_URL: 'ftp://slack.example', PORT: '70000' });
    expect(message).toContain('SLACK_BOT_TOKEN: must be a bot token (xoxb-…)');
    expect(message).toContain('SLACK_SIGNING_SECRET: must be the signing secret');
    expect(message).toContain('SLACK_API_URL: must be an http(s) URL');
    expect(message).toContain('PORT: must be a whole number from 0 to 65535');
    expect(message).not.toContain('xoxp-user-token');
    expect(message).not.toContain('short!');
  });

  it('tell whether the environment asks for real Slack at all', () => {
    expect(slackRequested({})).toBe(false);
    expect(slackRequested({ SLACK_BOT_TOKEN: '' })).toBe(false);
    expect(slackRequested({ SLACK_SIGNING_SECRET: SECRET })).toBe(true);
  });
});
