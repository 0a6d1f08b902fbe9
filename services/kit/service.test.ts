import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CONSTITUTIONAL_HASH } from './constitution.js';
import { ServiceError } from './errors.js';
import { createService, type Service } from './service.js';
import { requireAdminToken } from './admin-auth.js';

let app: Service;
let healthy = true;

beforeAll(async () => {
  app = createService({ name: 'kit-test', bodyLimit: 1024, health: () => ({ status: healthy ? 'healthy' : 'unhealthy' }) });
  app.post('/echo', { schema: { body: z.object({ n: z.number().int().max(10) }).strict() } }, async (request) => ({
    n: request.body.n,
  }));
  app.get('/boom', async () => {
    throw new Error('secret detail that must not leak');
  });
  app.get('/missing', async () => {
    throw new ServiceError('NOT_FOUND', { detail: 'no such thing' });
  });
  app.post('/admin', { preHandler: requireAdminToken('s3cret') }, async () => ({ ok: true }));
  await app.ready();
});
afterAll(() => app.close());

describe('service kit', () => {
  it('puts the constitutional hash header on success, error and not-found responses', async () => {
    for (const [method, url] of [['GET', '/health'], ['GET', '/boom'], ['GET', '/nope']] as const) {
      const response = await app.inject({ method, url });
      expect(response.headers['x-constitutional-hash']).toBe(CONSTITUTIONAL_HASH);
    }
  });

  it('answers health with the common fields and 503 when unhealthy', async () => {
    const ok = await app.inject('/health');
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'healthy', service: 'kit-test', constitutional_hash: CONSTITUTIONAL_HASH });
    healthy = false;
    const bad = await app.inject('/health');
    healthy = true;
    expect(bad.statusCode).toBe(503);
  });

  it('exposes Prometheus metrics including request durations', async () => {
    await app.inject('/health');
    const response = await app.inject('/metrics');
    expect(response.headers['content-type']).toContain('text/plain');
    expect(response.body).toContain('http_request_duration_seconds_bucket');
    expect(response.body).toContain('service="kit-test"');
  });

  it('shows the health check as service_healthy, 1 while healthy and 0 while unhealthy', async () => {
    const series = async () => (await app.inject('/metrics')).body.match(/^service_healthy\{service="kit-test"\} (\d+)$/m)?.[1];
    expect(await series()).toBe('1');
    healthy = false;
    const unhealthy = await series();
    healthy = true;
    expect(unhealthy).toBe('0');
  });

  it('shows the memory limit beside the resident memory, for the memory share the alert rules compare', async () => {
    const body = (await app.inject('/metrics')).body;
    const limit = Number(body.match(/^service_memory_limit_bytes\{service="kit-test"\} (\d+)$/m)?.[1]);
    const resident = Number(body.match(/^process_resident_memory_bytes\{service="kit-test"\} (\d+)$/m)?.[1]);
    expect(resident).toBeGreaterThan(0);
    expect(limit).toBeGreaterThan(resident);
  });

  it('rejects schema violations with 400 naming the field', async () => {
    const response = await app.inject({ method: 'POST', url: '/echo', payload: { n: 'x' } });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('INVALID_REQUEST');
    expect(response.json().error.message).toContain('n');
  });

  it('rejects unknown query parameters on health and metrics', async () => {
    for (const url of ['/health?x=1', "/metrics?name=' OR 1=1 --"]) {
      const response = await app.inject(url);
      expect(response.statusCode).toBe(400);
      expect(response.json().error.code).toBe('INVALID_REQUEST');
    }
  });

  it('rejects unknown fields', async () => {
    const response = await app.inject({ method: 'POST', url: '/echo', payload: { n: 1, extra: true } });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toMatch(/extra|unrecognized/i);
  });

  it('rejects malformed JSON with 400, oversized bodies with 413, other content types with 415', async () => {
    const malformed = await app.inject({ method: 'POST', url: '/echo', payload: '{"n":', headers: { 'content-type': 'application/json' } });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe('INVALID_JSON');
    const big = await app.inject({ method: 'POST', url: '/echo', payload: JSON.stringify({ n: 1, pad: 'x'.repeat(2000) }), headers: { 'content-type': 'application/json' } });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    const text = await app.inject({ method: 'POST', url: '/echo', payload: 'n=1', headers: { 'content-type': 'text/plain' } });
    expect(text.statusCode).toBe(415);
    expect(text.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('hides internal errors behind a reference', async () => {
    const response = await app.inject('/boom');
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('secret detail');
    expect(response.json().error.message).toMatch(/^Internal error, reference [0-9a-f-]{36}$/);
  });

  it('passes user-facing service errors through with their status', async () => {
    const response = await app.inject('/missing');
    expect(response.statusCode).toBe(404);
    expect(response.json().error).toEqual({ code: 'NOT_FOUND', message: 'no such thing' });
  });

  it('guards admin endpoints with the admin token', async () => {
    expect((await app.inject({ method: 'POST', url: '/admin' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/admin', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/admin', headers: { authorization: 'Bearer s3cret' } })).statusCode).toBe(200);
  });
});
