/**
 * A paging service's webhook as a receiver would write one: a node HTTP server on 127.0.0.1 that
 * checks each page's signature with its secret (webhookSignatureProblem, the README's reference)
 * and answers 401 to one that does not verify. The test scripts the status of the next answers
 * (a 503, a redirect) and reads back what arrived.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, webhookSignatureProblem } from '../../bot/paging/webhook-signature.js';

export interface ReceivedPage {
  headers: IncomingHttpHeaders;
  body: string;
  /** Undefined when the signature verified. */
  signatureProblem: string | undefined;
  /** The status the receiver answered. */
  status: number;
}

export interface WebhookReceiver {
  /** http://127.0.0.1:<port>/hooks/acgs */
  url: string;
  received: ReceivedPage[];
  /** Pages that verified and were answered 2xx. */
  accepted(): Array<Record<string, unknown>>;
  /** The statuses of the next answers, in order; then 200 again. */
  answerNext(...statuses: number[]): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const received: ReceivedPage[] = [];
  const scripted: number[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = (name: string) => (typeof request.headers[name] === 'string' ? (request.headers[name] as string) : undefined);
      const signatureProblem = webhookSignatureProblem(secret, { timestamp: header(TIMESTAMP_HEADER), signature: header(SIGNATURE_HEADER) }, body, Date.now() / 1000);
      const status = signatureProblem ? 401 : (scripted.shift() ?? 200);
      received.push({ headers: request.headers, body, signatureProblem, status });
      if (status >= 300 && status < 400) response.setHeader('location', 'http://127.0.0.1:9/elsewhere');
      response.writeHead(status, { 'content-type': 'text/plain' });
      response.end(signatureProblem ? `bad signature: ${signatureProblem}` : status < 300 ? 'ok' : 'service unavailable, try later');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/acgs?routing_key=abc123`,
    received,
    accepted: () => received.filter((page) => !page.signatureProblem && page.status < 300).map((page) => JSON.parse(page.body) as Record<string, unknown>),
    answerNext: (...statuses) => scripted.push(...statuses),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
