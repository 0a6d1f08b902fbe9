/**
 * The slash command's reply path on a real loopback server: the message arrives as JSON on one
 * reused connection, and every failure (an HTTP refusal, a 429, a closed port, a server that
 * never answers) throws and is counted like any other failed Slack call.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RespondError } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unusedLoopbackPort } from '../../test/testing/loopback.js';
import { createBotMetrics } from './metrics.js';
import { responseUrlPoster } from './response-url.js';

interface Received {
  path: string;
  contentType: string | undefined;
  body: string;
}

const received: Received[] = [];
let connections = 0;
const server = http.createServer((request, response) => {
  let body = '';
  request.setEncoding('utf8');
  request.on('data', (chunk: string) => (body += chunk));
  request.on('end', () => {
    const path = request.url ?? '';
    received.push({ path, contentType: request.headers['content-type'], body });
    if (path === '/hang') return; // never answers
    if (path === '/gone') response.writeHead(404).end('expired_url');
    else if (path === '/busy') response.writeHead(429, { 'retry-after': '7' }).end();
    else response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
});
server.on('connection', () => (connections += 1));
let base = '';

beforeAll(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const errorsCounted = async (metrics: ReturnType<typeof createBotMetrics>, error: string) =>
  (await metrics.slackApiErrors.get()).values.find((value) => value.labels.method === 'response_url' && value.labels.error === error)?.value ?? 0;

describe('responseUrlPoster', () => {
  it('posts the message as JSON and keeps its connections alive for the next replies', async () => {
    const post = responseUrlPoster(createBotMetrics({ defaultMetrics: false }), 2000);
    const before = connections;
    await post(`${base}/response/1`, { response_type: 'ephemeral', text: 'first' });
    await post(`${base}/response/2`, { response_type: 'in_channel', text: 'second' });
    expect(received.filter((r) => r.path.startsWith('/response/')).map((r) => [r.path, r.contentType, JSON.parse(r.body)])).toEqual([
      ['/response/1', 'application/json', { response_type: 'ephemeral', text: 'first' }],
      ['/response/2', 'application/json', { response_type: 'in_channel', text: 'second' }],
    ]);
    // undici may open a second connection while the first is still being released; then no more.
    for (let n = 3; n <= 8; n += 1) await post(`${base}/response/${n}`, { text: String(n) });
    expect(connections - before).toBeLessThanOrEqual(2);
  });

  it('throws a RespondError for a refused reply and counts it by status', async () => {
    const metrics = createBotMetrics({ defaultMetrics: false });
    const post = responseUrlPoster(metrics, 2000);
    const error = await post(`${base}/gone`, { text: 'late' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RespondError);
    expect((error as RespondError).statusCode).toBe(404);
    expect(await errorsCounted(metrics, 'http_404')).toBe(1);
  });

  it("counts a 429 as a rate-limit wait with Slack's Retry-After and throws", async () => {
    const metrics = createBotMetrics({ defaultMetrics: false });
    await expect(responseUrlPoster(metrics, 2000)(`${base}/busy`, { text: 'x' })).rejects.toBeInstanceOf(RespondError);
    expect((await metrics.rateLimitWaits.get()).values[0]).toMatchObject({ labels: { method: 'response_url' }, value: 1 });
    expect((await metrics.rateLimitWaitSeconds.get()).values[0]).toMatchObject({ labels: { method: 'response_url' }, value: 7 });
  });

  it('says connection refused for a closed port and counts a network error', async () => {
    const metrics = createBotMetrics({ defaultMetrics: false });
    const port = await unusedLoopbackPort();
    await expect(responseUrlPoster(metrics, 2000)(`http://127.0.0.1:${port}/response/x`, { text: 'x' })).rejects.toThrow(
      'the reply to the response_url failed: connection refused',
    );
    expect(await errorsCounted(metrics, 'network')).toBe(1);
  });

  it('gives up on a reply that gets no answer within the timeout and counts a timeout', async () => {
    const metrics = createBotMetrics({ defaultMetrics: false });
    const started = performance.now();
    await expect(responseUrlPoster(metrics, 300)(`${base}/hang`, { text: 'x' })).rejects.toThrow('the reply to the response_url failed: timed out');
    expect(performance.now() - started).toBeLessThan(2000);
    expect(await errorsCounted(metrics, 'timeout')).toBe(1);
  });
});
