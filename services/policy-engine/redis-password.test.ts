/**
 * The Policy Engine against a Redis that requires a password, as the compose file's does: the
 * password travels in REDIS_URL, is never logged, and without it nobody writes the modes.
 */
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PasswordRedis, startPasswordRedis } from '../../test/testing/redis-server.js';
import type { Service } from '../kit/service.js';
import { buildApp } from './app.js';
import { eventually, tempDir, testConfig } from './testing/policy-fixtures.js';

const ADMIN = 'redis-password-test-admin-token-0123456789abcdef';

let redisServer: PasswordRedis;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  redisServer = await startPasswordRedis();
});
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await redisServer?.stop();
});

/** The real app on the given REDIS_URL, its log lines kept. */
async function engineOn(redisUrl: string): Promise<{ app: Service; logs: string[] }> {
  const logs: string[] = [];
  const state = tempDir('acgs-pe-redis-password');
  cleanups.push(() => state.remove());
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const app = await buildApp(testConfig({ ACGS_STATE_DIR: state.path, ACGS_ADMIN_TOKEN: ADMIN, REDIS_URL: redisUrl, MODE_SYNC_INTERVAL_MS: '50' }), {
    logger: { level: 'info', stream },
  });
  cleanups.push(() => app.close());
  return { app, logs };
}

async function redisHealth(app: Service): Promise<string> {
  return (await app.inject('/health')).json().redis;
}

describe('a Redis that requires a password', () => {
  it('is used with the password from REDIS_URL for the shared modes, and the password never reaches the log', async () => {
    const { app, logs } = await engineOn(redisServer.url);
    expect(await redisHealth(app)).toBe('ready');
    const response = await app.inject({ method: 'POST', url: '/admin/emergency-lockdown', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(response.statusCode).toBe(200);
    const reader = new Redis(redisServer.url);
    cleanups.push(() => reader.disconnect());
    expect(await reader.hgetall('acgs:policy-engine:modes')).toMatchObject({ lockdown: '1', lockdown_origin: 'explicit' });
    expect(logs.join('')).not.toContain(redisServer.password);
  });

  it('refuses everyone without the password, so they cannot write the modes, and the engine without it says Redis is unreachable', async () => {
    const stranger = new Redis(redisServer.urlWithoutPassword, { maxRetriesPerRequest: 0, enableReadyCheck: false, retryStrategy: () => null });
    stranger.on('error', () => undefined);
    cleanups.push(() => stranger.disconnect());
    await expect(stranger.hset('acgs:policy-engine:modes', { lockdown: '0', lockdown_origin: 'explicit' })).rejects.toThrow(/NOAUTH/);

    const { app, logs } = await engineOn(redisServer.urlWithoutPassword);
    await eventually(async () => expect(await redisHealth(app)).toBe('unreachable'));
    expect(logs.join('')).toContain('Redis is unreachable');
  });
});
