import { describe, expect, it } from 'vitest';
import { consoleHostRefusal, consoleStackRefusal, CONSOLE_WITH_REAL_STACK, isLoopbackHost } from './console-exposure.js';

describe('where the local console may listen', () => {
  it.each(['127.0.0.1', '127.0.0.2', 'localhost', 'LOCALHOST', '::1', '[::1]', '::ffff:127.0.0.1'])('takes %s for loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
    expect(consoleHostRefusal(host)).toBeUndefined();
  });

  it.each(['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.test', 'localhost.example.test', '128.0.0.1', '::ffff:10.0.0.1', ''])('refuses %s, naming BOT_HOST and saying why', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
    expect(consoleHostRefusal(host)).toMatch(/^the local Slack console listens on loopback only and will not serve on .*: the console lets one person act as every user of its workspace, approvers and admins included, so its two-person approvals are one person’s, and anyone who can reach it could use it; unset BOT_HOST/);
  });
});

describe('which stack the local console may run against', () => {
  it('runs against the local stack with the embedded database', () => {
    expect(consoleStackRefusal({ env: {} })).toBeUndefined();
    expect(consoleStackRefusal({ env: { ACGS_STACK: 'local', DATABASE_URL: '' }, stackKind: 'local' })).toBeUndefined();
  });

  it.each([
    ['a DATABASE_URL', { env: { DATABASE_URL: 'postgres://bot@db.example/acgs' } }, 'DATABASE_URL is set'],
    ['ACGS_STACK=docker, before the stack is chosen', { env: { ACGS_STACK: 'docker' } }, 'ACGS_STACK=docker'],
    ['a Docker stack found by itself', { env: {}, stackKind: 'docker' }, 'the bot controls a Docker stack'],
    ['both', { env: { DATABASE_URL: 'postgres://x' }, stackKind: 'docker' }, 'DATABASE_URL is set; the bot controls a Docker stack'],
  ])('refuses %s, naming the opt-in and why', (_name, input, reason) => {
    const refusal = consoleStackRefusal(input);
    expect(refusal).toBe(
      `the local Slack console will not run against a real stack (${reason}): the console lets one person act as every user of its workspace, approvers and admins included, so its two-person approvals are one person’s; configure Slack instead (SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET or SLACK_APP_TOKEN), or set ${CONSOLE_WITH_REAL_STACK}=1 to run it anyway`,
    );
  });

  it(`runs against a real stack when ${CONSOLE_WITH_REAL_STACK}=1`, () => {
    expect(consoleStackRefusal({ env: { DATABASE_URL: 'postgres://x', [CONSOLE_WITH_REAL_STACK]: '1' }, stackKind: 'docker' })).toBeUndefined();
  });

  it(`says so when ${CONSOLE_WITH_REAL_STACK} has another value than 1`, () => {
    expect(consoleStackRefusal({ env: { DATABASE_URL: 'postgres://x', [CONSOLE_WITH_REAL_STACK]: 'yes' } })).toMatch(new RegExp(`run it anyway \\(${CONSOLE_WITH_REAL_STACK} is "yes", not 1\\)$`));
  });
});
