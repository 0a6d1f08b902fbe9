import { describe, expect, it } from 'vitest';
import { parseBotConfig } from '../config.js';
import { contactsWithEmail, resolveContacts } from './contacts.js';
import { webhookSignatureProblem } from './webhook-signature.js';

const SECRET = '0123456789abcdef0123456789abcdef';
const refused = (contacts: unknown, more: Record<string, unknown> = {}) => () => parseBotConfig({ contacts, ...more });

describe('the config\'s contacts', () => {
  it('takes contacts with Slack, e-mail and a webhook, and lets the escalation matrix name them', () => {
    const config = parseBotConfig({
      roles: { oncall: ['U0ONCALL'] },
      contacts: {
        'security-team': { slack: { mention: ['S0SECURITY'], dm: ['U0SECLEAD'] }, email: ['security@example.com'] },
        pager: { webhook: { url: 'https://paging.example.com/hooks/acgs?routing_key=abc', secret: SECRET } },
      },
      escalation: { levels: { '2': { notify: ['primary', 'pager'] } }, issue_types: { security: { primary: ['security-team'] } } },
    });
    const contacts = resolveContacts(config.contacts, {});
    expect([...contacts.keys()]).toEqual(['security-team', 'pager']);
    expect(contacts.get('security-team')).toMatchObject({ slack: { mention: ['S0SECURITY'], dm: ['U0SECLEAD'] }, email: ['security@example.com'], channels: ['email'] });
    expect(contacts.get('pager')!.webhook!.url.href).toBe('https://paging.example.com/hooks/acgs?routing_key=abc');
    expect(contacts.get('pager')!.channels).toEqual(['webhook']);
    expect(contactsWithEmail(contacts)).toEqual(['security-team']);
    // The secret signs, and is nowhere in the resolved contact's fields.
    const signed = contacts.get('pager')!.webhook!.sign(1_800_000_000, '{"a":1}');
    expect(webhookSignatureProblem(SECRET, signed, '{"a":1}', 1_800_000_000)).toBeUndefined();
    expect(webhookSignatureProblem(SECRET, signed, '{"a":2}', 1_800_000_000)).toBe('the signature does not match');
    expect(JSON.stringify([...contacts.values()])).not.toContain(SECRET);
  });

  it('reads a webhook secret from the environment variable secret_env names', () => {
    const config = parseBotConfig({ contacts: { pager: { webhook: { url: 'http://127.0.0.1:9000/page', secret_env: 'ACGS_PAGER_SECRET' } } } });
    const pager = resolveContacts(config.contacts, { ACGS_PAGER_SECRET: SECRET }).get('pager')!;
    expect(webhookSignatureProblem(SECRET, pager.webhook!.sign(1_800_000_000, 'x'), 'x', 1_800_000_100)).toBeUndefined();
    expect(() => resolveContacts(config.contacts, {})).toThrow('contacts.pager.webhook.secret_env: the environment variable ACGS_PAGER_SECRET is not set');
    expect(() => resolveContacts(config.contacts, { ACGS_PAGER_SECRET: 'short' })).toThrow('contacts.pager.webhook.secret_env: the secret in ACGS_PAGER_SECRET is 5 characters long; it must be at least 32');
  });

  it('names a contact the matrix names but the config does not have', () => {
    expect(refused({ pager: { webhook: { url: 'https://paging.example.com/a', secret: SECRET } } }, { escalation: { levels: { '3': { notify: ['primary', 'pagr'] } } } })).toThrow(
      'config: escalation.levels.3.notify[1]: "pagr" is not a role or contact of the config (nor a Slack user or user group ID); use one of primary, secondary, escalation, oncall, approvers, admins, stakeholders, pager',
    );
  });

  it('names a bad webhook: not a URL, not http(s), credentials in it, a short or missing secret', () => {
    expect(refused({ pager: { webhook: { url: 'paging.example.com/hooks', secret: SECRET } } })).toThrow('config: contacts.pager.webhook.url: must be a URL such as https://paging.example.com/hooks/acgs');
    expect(refused({ pager: { webhook: { url: 'ftp://paging.example.com/hooks', secret: SECRET } } })).toThrow('contacts.pager.webhook.url: must start with https:// or http:// (it starts with ftp://)');
    expect(refused({ pager: { webhook: { url: 'https://user:pw@paging.example.com/hooks', secret: SECRET } } })).toThrow('contacts.pager.webhook.url: must not carry a user or password');
    expect(refused({ pager: { webhook: { url: 'https://paging.example.com/hooks', secret: 'too-short' } } })).toThrow('contacts.pager.webhook.secret: must be at least 32 characters long');
    expect(refused({ pager: { webhook: { url: 'https://paging.example.com/hooks' } } })).toThrow('contacts.pager.webhook.secret: give the signing secret as either secret or secret_env');
    expect(refused({ pager: { webhook: { url: 'https://paging.example.com/hooks', secret: SECRET, secret_env: 'X' } } })).toThrow('contacts.pager.webhook.secret: give the signing secret as either secret or secret_env');
    expect(refused({ pager: { webhook: { url: 'https://paging.example.com/hooks', secret_env: 'not a name' } } })).toThrow('contacts.pager.webhook.secret_env: must be the name of an environment variable');
    expect(refused({ pager: { webhook: { url: 'https://paging.example.com/hooks', secret: SECRET, retries: 3 } } })).toThrow('unknown key contacts.pager.webhook.retries');
  });

  it('names bad Slack IDs, e-mail addresses, names, and a contact that reaches nobody', () => {
    expect(refused({ team: { slack: { mention: ['#security'] } } })).toThrow('contacts.team.slack.mention[0]: must be a Slack user ID such as U012ABCDEF or a user group ID');
    expect(refused({ team: { slack: { dm: ['S0SECURITY'] } } })).toThrow('contacts.team.slack.dm[0]: must be a Slack user ID such as U012ABCDEF (a user group cannot get a DM: mention it instead)');
    expect(refused({ team: { email: ['security@'] } })).toThrow('contacts.team.email[0]: must be an e-mail address such as oncall@example.com');
    expect(refused({ team: { email: 'security@example.com' } })).toThrow('contacts.team.email: must be a list of e-mail addresses');
    expect(refused({ team: { email: [] } })).toThrow('contacts.team.email: must list at least one address');
    expect(refused({ team: {} })).toThrow('contacts.team: reaches nobody: give it slack (mention or dm), email or webhook');
    expect(refused({ team: { sms: ['+15555550100'] } })).toThrow('unknown key contacts.team.sms');
    expect(refused({ 'Security Team': { email: ['security@example.com'] } })).toThrow('contacts.Security Team: not a valid key: contact names are lowercase words such as security-team');
  });

  it('refuses a contact named like a role or a column of the matrix, which the matrix could not tell apart', () => {
    expect(refused({ oncall: { email: ['oncall@example.com'] } })).toThrow('contacts.oncall: "oncall" is a role\'s name too: give the contact another name');
    expect(refused({ 'sec-team': { email: ['sec@example.com'] } }, { roles: { 'sec-team': ['S0SECURITY'] } })).toThrow('contacts.sec-team: "sec-team" is a role\'s name too');
    expect(refused({ primary: { email: ['first@example.com'] } })).toThrow('contacts.primary: "primary" is a column of the escalation matrix');
  });
});
