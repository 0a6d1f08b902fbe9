import { describe, expect, it } from 'vitest';
import { REDACTED, redactText, redactValue } from './redaction.js';
import { TrailInputError, prepareRecord } from './trail-record.js';

describe('redacting text', () => {
  it.each([
    ['a Slack bot token', 'using xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp now', 'using [redacted] now'],
    ['a Slack user token', 'xoxp-11-22-33-abcdef', REDACTED],
    ['a rotating Slack token', 'refresh xoxe.xoxp-1-Mi0yLTEyMw', `refresh ${REDACTED}`],
    ['a Slack app-level token', 'SLACK_APP_TOKEN is xapp-1-A0B1C2D3-1234-abcdef0123', `SLACK_APP_TOKEN is ${REDACTED}`],
    ['a bearer token', 'curl -H "Authorization: Bearer abc.def-123"', 'curl -H "Authorization: [redacted] [redacted]"'],
    ['a bare bearer token', 'sent Bearer eyXYZ0123456789', `sent Bearer ${REDACTED}`],
    ['basic credentials', 'Basic dXNlcjpwYXNzd29yZDEyMw==', `Basic ${REDACTED}`],
    ['a JWT', 'jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl', `jwt ${REDACTED}`],
    ['a GitHub token', 'ghp_0123456789abcdefghijABCDEFGHIJ', REDACTED],
    ['an AWS access key id', 'key AKIAIOSFODNN7EXAMPLE here', `key ${REDACTED} here`],
    ['a connection string password', 'postgres://acgs:s3cr3t!@db.internal:5432/acgs', `postgres://acgs:${REDACTED}@db.internal:5432/acgs`],
    ['a redis URL password', 'redis://:hunter2@127.0.0.1:6379/0', `redis://:${REDACTED}@127.0.0.1:6379/0`],
    ['a --token flag', 'deploy --token abc123 --force', `deploy --token ${REDACTED} --force`],
    ['a --db-password= flag', 'restore --db-password=hunter2', `restore --db-password=${REDACTED}`],
    ['key=value pairs', 'SLACK_SIGNING_SECRET=abc123 PORT=3000', `SLACK_SIGNING_SECRET=${REDACTED} PORT=3000`],
    ['a quoted value', 'password: "correct horse battery"', `password: ${REDACTED}`],
    ['a query-string token', 'GET /hook?api_key=XYZ&user=bob', `GET /hook?api_key=${REDACTED}&user=bob`],
    ['a private key block', 'k=-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----', `k=${REDACTED}`],
  ])('removes %s', (_, input, expected) => {
    expect(redactText(input)).toBe(expected);
  });

  it.each([
    'scale policy-engine 3',
    'lockdown lift',
    'cache clear --reason "stale decisions after deploy"',
    'Basic health check passed',
    'postgres://acgs@127.0.0.1:5432/acgs',
    'U0123ABCD approved request 42',
  ])('leaves ordinary text alone: %s', (text) => {
    expect(redactText(text)).toBe(text);
  });

  it('changes nothing when run twice', () => {
    const once = redactText('token=abc postgres://u:p@h/db xoxb-1-2-3 Bearer zzz');
    expect(redactText(once)).toBe(once);
  });
});

describe('redacting values', () => {
  it('drops the whole value of a key that names a secret, at any depth', () => {
    const value = {
      service: 'policy-engine',
      slackBotToken: 'anything at all',
      nested: { DB_PASSWORD: 'hunter2', headers: { Authorization: 'Basic Zm9vOmJhcg==' }, list: [{ client_secret: { deep: 'x' } }] },
      apiKey: 12345,
      cookie: ['a', 'b'],
    };
    expect(redactValue(value)).toEqual({
      service: 'policy-engine',
      slackBotToken: REDACTED,
      nested: { DB_PASSWORD: REDACTED, headers: { Authorization: REDACTED }, list: [{ client_secret: REDACTED }] },
      apiKey: REDACTED,
      cookie: REDACTED,
    });
  });

  it('searches text under ordinary keys and in arrays', () => {
    expect(redactValue({ line: 'connect postgres://a:b@h/d', notes: ['xoxb-9-9-9'] })).toEqual({
      line: `connect postgres://a:${REDACTED}@h/d`,
      notes: [REDACTED],
    });
  });

  it('keeps numbers, booleans and null as they are', () => {
    expect(redactValue({ replicas: 3, force: true, reason: null })).toEqual({ replicas: 3, force: true, reason: null });
  });
});

describe('preparing a record', () => {
  const now = new Date('2025-03-01T12:00:00.123Z');

  it('redacts every field that can hold text before anything is hashed or spooled', () => {
    const record = prepareRecord(
      {
        kind: 'command',
        actor: 'U0123ABCD',
        origin: 'slash',
        channel: 'C0123',
        command: 'deploy',
        args: { version: 'v1.2', token: 'xoxb-1-2-3' },
        decision: 'allow',
        level: 2,
        outcome: 'failed: postgres://acgs:pw@db/acgs refused',
        details: { line: 'deploy --token abc', env: { SLACK_APP_TOKEN: 'xapp-1-x' } },
      },
      now,
    );
    expect(record).toMatchObject({
      kind: 'command',
      at: '2025-03-01T12:00:00.123Z',
      arguments: { version: 'v1.2', token: REDACTED },
      level: 2,
      outcome: `failed: postgres://acgs:${REDACTED}@db/acgs refused`,
      details: { line: `deploy --token ${REDACTED}`, env: { SLACK_APP_TOKEN: REDACTED } },
    });
    expect(JSON.stringify(record)).not.toMatch(/xoxb-1|xapp-1|:pw@|--token abc/);
  });

  it('gives each record its own idempotency key unless the caller names one', () => {
    const a = prepareRecord({ kind: 'vote' }, now);
    const b = prepareRecord({ kind: 'vote' }, now);
    expect(a.idempotency_key).not.toBe(b.idempotency_key);
    expect(prepareRecord({ kind: 'vote', key: 'vote:42:U1' }, now).idempotency_key).toBe('vote:42:U1');
  });

  it('stores read-only as level 0 and leaves an absent level empty', () => {
    expect(prepareRecord({ kind: 'decision', level: 'read' }, now).level).toBe(0);
    expect(prepareRecord({ kind: 'decision' }, now).level).toBeNull();
  });

  it('turns text PostgreSQL cannot store into replacement characters and cuts very long text', () => {
    const record = prepareRecord({ kind: 'command', command: 'a\u0000b', details: { text: `x\uD800y`, long: 'z'.repeat(5000) } }, now);
    expect(record.command).toBe('a\uFFFDb');
    expect(record.details?.text).toBe('x\uFFFDy');
    expect(String(record.details?.long)).toMatch(/^z{4000}… \[1000 more characters cut\]$/);
  });

  it('keeps what JSON can hold: dates as text, big integers as text, undefined left out', () => {
    const record = prepareRecord({ kind: 'result', details: { when: new Date(0), big: 10n, gone: undefined, nan: Number.NaN } }, now);
    expect(record.details).toEqual({ when: '1970-01-01T00:00:00.000Z', big: '10', nan: null });
  });

  it.each([
    [{ kind: 'launch' }, /kind must be one of command, decision/],
    [{ kind: 'decision', level: 7 }, /level must be "read" or 1 to 4/],
    [{ kind: 'result', details: ['not', 'an', 'object'] }, /details must be a JSON object/],
    [{ kind: 'result', at: 'yesterday' }, /at must be a Date or an ISO 8601 time/],
    [{ kind: 'result', key: '' }, /key must not be empty/],
    [{ kind: 'result', actor: 42 }, /actor must be text/],
  ])('refuses a malformed record with a message that says what to fix: %j', (input, message) => {
    expect(() => prepareRecord(input as never, now)).toThrow(TrailInputError);
    expect(() => prepareRecord(input as never, now)).toThrow(message);
  });
});
