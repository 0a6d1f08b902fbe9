/**
 * The webhook sender's answers a person can act on, against servers on 127.0.0.1: one that never
 * answers (the timeout), one that answers with a long body (cut), and the signature a receiver
 * checks. The full paths (retries, the ledger) are alert-paging.test.ts's.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveContacts } from './contacts.js';
import { DELIVERY_HEADER, PageDeliveryError, sendWebhookPage } from './webhook-pages.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, webhookSignatureProblem } from './webhook-signature.js';

const SECRET = 'fedcba9876543210fedcba9876543210';
let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=routing-key-123`;
}

const targetOf = (url: string) => resolveContacts({ pager: { webhook: { url, secret: SECRET } } }, {}).get('pager')!.webhook!;

describe('sending a page to a webhook', () => {
  it('posts the JSON body signed over the timestamp and the body as sent', async () => {
    let seen: { headers: Record<string, unknown>; body: string } | undefined;
    const url = await listen((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        seen = { headers: request.headers, body };
        response.writeHead(202).end();
      });
    });
    await sendWebhookPage(targetOf(url), { deliveryId: 'alert-1/x/level-2/pager', payload: { type: 'acgs.alert.escalated', n: 1 } });
    expect(seen!.headers['content-type']).toBe('application/json');
    expect(seen!.headers[DELIVERY_HEADER]).toBe('alert-1/x/level-2/pager');
    expect(JSON.parse(seen!.body)).toEqual({ type: 'acgs.alert.escalated', n: 1 });
    const headers = { timestamp: seen!.headers[TIMESTAMP_HEADER] as string, signature: seen!.headers[SIGNATURE_HEADER] as string };
    expect(webhookSignatureProblem(SECRET, headers, seen!.body, Date.now() / 1000)).toBeUndefined();
    // A receiver refuses the same request replayed ten minutes later, and one with another body.
    expect(webhookSignatureProblem(SECRET, headers, seen!.body, Date.now() / 1000 + 600)).toBe('signed more than 300 s from now');
    expect(webhookSignatureProblem(SECRET, headers, `${seen!.body} `, Date.now() / 1000)).toBe('the signature does not match');
    expect(webhookSignatureProblem(SECRET, { timestamp: undefined, signature: headers.signature }, seen!.body, Date.now() / 1000)).toBe('no x-acgs-request-timestamp header of unix seconds');
  });

  it('gives up on a webhook that does not answer within its timeout, saying so without the path or query', async () => {
    const url = await listen(() => undefined);
    const sent = sendWebhookPage(targetOf(url), { deliveryId: 'd', payload: {} }, { timeoutMs: 300 });
    await expect(sent).rejects.toThrow(PageDeliveryError);
    await expect(sent).rejects.toThrow(/^the webhook at http:\/\/127\.0\.0\.1:\d+ could not be reached: no answer within 0\.3 s$/);
  });

  it("cuts a long error answer to a line people can read", async () => {
    const url = await listen((_request, response) => response.writeHead(400).end(`bad\n\n${'x'.repeat(1000)}`));
    const error = (await sendWebhookPage(targetOf(url), { deliveryId: 'd', payload: {} }).then(
      () => new Error('it was taken'),
      (caught: unknown) => caught as Error,
    ));
    expect(error.message).toMatch(/^the webhook at http:\/\/127\.0\.0\.1:\d+ answered HTTP 400: bad x+$/);
    expect(error.message.length).toBeLessThan(300);
    expect(error.message).not.toContain('routing-key-123');
  });
});
