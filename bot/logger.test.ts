import { describe, expect, it } from 'vitest';
import { createBotLogger } from './logger.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createBotLogger({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines, text: () => JSON.stringify(lines) };
}

describe('the bot log', () => {
  it('redacts a password and a Slack token in an error message and its stack, keeping the rest of the cause', () => {
    const { logger, lines, text } = capture();
    logger.error({ err: new Error('login to redis://:hunter2@127.0.0.1:6379 with xoxb-1234-5678-abcdef failed') }, 'Slack listener failed');
    expect(text()).not.toContain('hunter2');
    expect(text()).not.toContain('xoxb-1234');
    expect((lines[0]!.err as { message: string }).message).toBe('login to redis://:[redacted]@127.0.0.1:6379 with [redacted] failed');
    expect((lines[0]!.err as { stack: string }).stack).toContain('logger.test.ts');
  });

  it('redacts the message pino takes from an error logged without one', () => {
    const { logger, lines } = capture();
    logger.warn(new Error('Authorization: Bearer abc.def.ghi refused'));
    expect(lines[0]!.msg).toMatch(/^Authorization: \[redacted\].* refused$/);
    expect(lines[0]!.msg).not.toContain('abc.def.ghi');
    logger.warn({ err: new Error('password=hunter2 rejected') });
    expect(lines[1]!.msg).toBe('password=[redacted] rejected');
  });

  it('drops secret-named fields, token headers and settings, and redacts credentials in free text', () => {
    const { logger, text } = capture();
    logger.info({ settings: { botToken: 'xoxb-1-2-3', signingSecret: 's3cr3t-value', port: 3000 }, headers: { 'x-admin-token': 'admintoken123' }, DB_PASSWORD: 'pw-in-env' }, 'started');
    logger.info('connect postgres://bot:pw-in-url@db/acgs now');
    logger.child({ component: 'slack' }).debug('token=child-token-value');
    const all = text();
    for (const secret of ['xoxb-1-2-3', 's3cr3t-value', 'admintoken123', 'pw-in-env', 'pw-in-url', 'child-token-value']) expect(all).not.toContain(secret);
    expect(all).toContain('"port":3000');
    expect(all).toContain('postgres://bot:[redacted]@db/acgs');
  });
});
