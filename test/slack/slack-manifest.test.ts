/**
 * manifest.yml against Slack's published app-manifest schema (../shared/slack/), and against what
 * the bot actually handles: the slash command it listens to, the events it subscribes to, and no
 * scope it does not use.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_SLASH_COMMAND } from '../../bot/slack/listeners.js';

const MANIFEST = fileURLToPath(new URL('../../manifest.yml', import.meta.url));
const SCHEMA = process.env.SLACK_MANIFEST_SCHEMA ?? fileURLToPath(new URL('../../../shared/slack/manifest.schema.1.0.0.json', import.meta.url));

interface Manifest {
  features: {
    bot_user: { display_name: string };
    app_home: { home_tab_enabled: boolean };
    slash_commands: Array<{ command: string; description: string; usage_hint?: string; should_escape?: boolean }>;
  };
  oauth_config: { scopes: { bot: string[]; user?: string[] } };
  settings: { event_subscriptions: { bot_events: string[]; user_events?: string[] }; interactivity: { is_enabled: boolean }; socket_mode_enabled: boolean };
}

const manifest = parseYaml(readFileSync(MANIFEST, 'utf8')) as Manifest;

function schemaValidator() {
  // The schema is draft-07 with two keywords of Slack's own: `regex`, enforced here as a pattern,
  // and `_note`, a comment.
  const ajv = new Ajv({ allErrors: true });
  ajv.addKeyword({ keyword: '_note', schemaType: 'string' });
  ajv.addKeyword({ keyword: 'regex', type: 'string', schemaType: 'string', validate: (pattern: string, value: string) => new RegExp(pattern).test(value) });
  ajv.addFormat('uri', (value: string) => URL.canParse(value));
  return ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')) as object);
}

describe("manifest.yml against Slack's schema", () => {
  if (!existsSync(SCHEMA)) {
    console.warn(`NOTICE: ${SCHEMA} is absent, so manifest.yml is not validated against Slack's schema (set SLACK_MANIFEST_SCHEMA to its path).`);
    it.skip(`validates manifest.yml against ${SCHEMA} (schema file absent)`, () => undefined);
    return;
  }

  it('is a valid Slack app manifest', () => {
    const validate = schemaValidator();
    const valid = validate(manifest);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('is refused by the schema when it has a key Slack does not know or lacks the display name', () => {
    const validate = schemaValidator();
    expect(validate({ ...manifest, features: { ...manifest.features, bot_users: {} } })).toBe(false);
    expect(validate({ ...manifest, display_information: {} })).toBe(false);
    expect(validate({ ...manifest, display_information: { name: 'x', background_color: 'blue' } })).toBe(false);
  });
});

describe('manifest.yml and the bot agree', () => {
  it('declares the slash command the bot listens to, with a description and a usage hint', () => {
    expect(manifest.features.slash_commands).toHaveLength(1);
    const [command] = manifest.features.slash_commands;
    expect(command!.command).toBe(DEFAULT_SLASH_COMMAND);
    expect(command!.description.length).toBeGreaterThan(10);
    expect(command!.usage_hint).toContain('help');
  });

  it('asks for exactly the bot scopes the bot uses and no user scopes', () => {
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual(['app_mentions:read', 'channels:history', 'channels:manage', 'chat:write', 'commands', 'files:write', 'groups:history', 'groups:write', 'im:write', 'reactions:read', 'usergroups:read', 'users:read']);
    expect(manifest.oauth_config.scopes.user).toBeUndefined();
  });

  it('subscribes to the three events the bot handles, with interactivity, Socket Mode and the home tab on', () => {
    expect([...manifest.settings.event_subscriptions.bot_events].sort()).toEqual(['app_home_opened', 'app_mention', 'reaction_added']);
    expect(manifest.settings.event_subscriptions.user_events).toBeUndefined();
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.settings.socket_mode_enabled).toBe(true);
    expect(manifest.features.app_home.home_tab_enabled).toBe(true);
    expect(manifest.features.bot_user.display_name).toBe('acgs');
  });
});
