import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { HttpUrl, Port, WholeNumber, parseEnv } from './env.js';
import { DatabaseUrl } from './postgres.js';

const Schema = z.object({
  PORT: Port.default(8080),
  WORKERS: WholeNumber(1, 16).default(4),
  UPSTREAM_URL: HttpUrl.default('http://127.0.0.1:8004'),
  DATABASE_URL: DatabaseUrl.optional(),
  ACGS_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  SLACK_SIGNING_SECRET: z.string().regex(/^[0-9a-f]+$/, 'must be hexadecimal').optional(),
  REGION: z.string().min(1),
});

const parse = (env: Record<string, string | undefined>) => parseEnv(Schema, 'demo-service', env);

function failure(env: Record<string, string | undefined>): string {
  try {
    parse(env);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('parseEnv', () => {
  it('applies defaults and converts numbers', () => {
    expect(parse({ REGION: 'eu', WORKERS: '8' })).toEqual({ PORT: 8080, WORKERS: 8, UPSTREAM_URL: 'http://127.0.0.1:8004', REGION: 'eu' });
  });

  it('treats empty variables as unset', () => {
    expect(parse({ REGION: 'eu', PORT: '', UPSTREAM_URL: '' })).toMatchObject({ PORT: 8080, UPSTREAM_URL: 'http://127.0.0.1:8004' });
  });

  it('ignores variables the schema does not know, as the environment holds many', () => {
    expect(parse({ REGION: 'eu', HOME: '/root', PATH: '/bin' })).not.toHaveProperty('HOME');
  });

  it('lists every bad variable by name in one error, with the value it got', () => {
    const message = failure({ REGION: 'eu', PORT: 'http', WORKERS: '99', UPSTREAM_URL: 'ftp://files' });
    expect(message).toMatch(/^Invalid demo-service configuration: /);
    expect(message).toContain('PORT: must be a whole number from 0 to 65535 (got "http")');
    expect(message).toContain('WORKERS: must be a whole number from 1 to 16 (got "99")');
    expect(message).toContain('UPSTREAM_URL: must be an http(s) URL');
    expect(message.split('; ')).toHaveLength(3);
  });

  it('names a required variable that is missing', () => {
    expect(failure({})).toBe('Invalid demo-service configuration: REGION: is required');
  });

  it('never repeats a secret, a URL password or an overlong value', () => {
    const message = failure({
      REGION: 'eu',
      ACGS_ADMIN_TOKEN: 'short-s3cret',
      SLACK_SIGNING_SECRET: 'not-hex-hunter2',
      // A port out of range makes the URL unparseable; the password must still be masked.
      DATABASE_URL: 'mysql://root:hunter2@db:99999/audit',
      UPSTREAM_URL: `http://${'x'.repeat(500)}`,
    });
    expect(message).toContain('ACGS_ADMIN_TOKEN: must be at least 16 characters (value hidden)');
    expect(message).toContain('SLACK_SIGNING_SECRET: must be hexadecimal (value hidden)');
    expect(message).toContain('DATABASE_URL: must be a postgres:// URL');
    expect(message).toContain('mysql://root:***@db:99999/audit');
    expect(message).not.toMatch(/s3cret|hunter2/);
    expect(message.length).toBeLessThan(800);
  });
});

describe('shared schemas', () => {
  it.each(['0', '8003', '65535'])('Port accepts %s', (value) => {
    expect(Port.parse(value)).toBe(Number(value));
  });

  it.each(['65536', '-1', '80a', '1e3', ' 80', '0x1F', '8.5'])('Port refuses %j', (value) => {
    expect(Port.safeParse(value).success).toBe(false);
  });

  it('DatabaseUrl takes postgres:// and postgresql:// URLs only', () => {
    expect(DatabaseUrl.safeParse('postgres://u@db:5432/acgs').success).toBe(true);
    expect(DatabaseUrl.safeParse('postgresql://u@db/acgs').success).toBe(true);
    expect(DatabaseUrl.safeParse('mysql://u@db/acgs').success).toBe(false);
    expect(DatabaseUrl.safeParse('postgres://').success).toBe(false);
  });
});
