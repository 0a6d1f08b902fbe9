import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireAdminToken, requireServiceToken } from './admin-auth.js';
import { createService, serviceLoggerOptions, type Service } from './service.js';
import { testToken } from '../../test/testing/tokens.js';

const ADMIN = testToken();
const SERVICE = testToken();
const COOKIE_SECRET = testToken();
const SIGNATURE = `v0=${testToken()}`;
const SECRETS = [ADMIN, SERVICE, COOKIE_SECRET, SIGNATURE];

let app: Service;
const lines: string[] = [];

beforeAll(async () => {
  // The services' production logger (LOG_LEVEL debug), writing into memory instead of stdout.
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  app = createService({ name: 'redaction-test', logger: { ...serviceLoggerOptions('debug'), stream }, health: () => ({ status: 'healthy' }) });
  // A handler logging the request's headers, as one debugging a refused call might.
  app.post('/write', { onRequest: requireServiceToken(SERVICE) }, async (request) => {
    request.log.info({ headers: request.headers }, 'write accepted');
    request.log.info({ req: { headers: request.headers }, res: { headers: { 'set-cookie': [`session=${COOKIE_SECRET}`] } } }, 'as a serializer would');
    request.log.info({ err: { config: { headers: request.headers } } }, 'as an HTTP client error carries them');
    return { ok: true };
  });
  app.post('/admin/thing', { onRequest: requireAdminToken(ADMIN) }, async (request) => {
    request.log.warn({ headers: request.headers }, 'admin call');
    return { ok: true };
  });
  await app.ready();
});
afterAll(() => app.close());

describe('the services’ log', () => {
  it('never holds the admin token, the service token, cookies or a signature, wherever the headers are logged', async () => {
    const common = { cookie: `session=${COOKIE_SECRET}`, 'x-slack-signature': SIGNATURE };
    const calls = [
      app.inject({ method: 'POST', url: '/write', payload: {}, headers: { ...common, authorization: `Bearer ${SERVICE}` } }),
      app.inject({ method: 'POST', url: '/write', payload: {}, headers: { ...common, 'x-service-token': SERVICE } }),
      app.inject({ method: 'POST', url: '/admin/thing', payload: {}, headers: { ...common, 'x-admin-token': ADMIN } }),
      app.inject({ method: 'POST', url: '/admin/thing', payload: {}, headers: { ...common, authorization: `Bearer ${ADMIN}` } }),
      // Refused calls are logged too (at info, with their code): the token they carried must not be.
      app.inject({ method: 'POST', url: '/write', payload: {}, headers: { ...common, 'x-admin-token': ADMIN, 'x-service-token': `${SERVICE}x` } }),
    ];
    const statuses = (await Promise.all(calls)).map((response) => response.statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 401]);
    const log = lines.join('');
    expect(log).toContain('write accepted');
    expect(log).toContain('[Redacted]');
    for (const secret of SECRETS) expect(log).not.toContain(secret);
  });

  it('keeps the harmless headers, so the log still says who called', async () => {
    await app.inject({ method: 'POST', url: '/write', payload: {}, headers: { authorization: `Bearer ${SERVICE}`, 'user-agent': 'acgs-test-agent' } });
    expect(lines.join('')).toContain('acgs-test-agent');
  });
});
