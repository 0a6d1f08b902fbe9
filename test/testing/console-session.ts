import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The local console's API as a person's browser uses it: open the link `npm start` printed (or
 * `standIn.consoleUrl`), keep the cookie it sets, and send it with every call, as the page does.
 */
export interface ConsoleSession {
  /** The console's origin, `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** The `Cookie` header the page's requests carry. */
  readonly cookie: string;
  get<T = unknown>(path: string): Promise<T>;
  /** A JSON POST from the console's own page; answers the status and the parsed body. */
  post<T = { ok: boolean; error?: string }>(path: string, body: unknown): Promise<{ status: number; json: T }>;
}

export async function openConsoleSession(consoleUrl: string): Promise<ConsoleSession> {
  const opened = await fetch(consoleUrl);
  if (opened.status !== 200) throw new Error(`opening the console link answered ${opened.status}`);
  const setCookie = opened.headers.get('set-cookie');
  if (!setCookie) throw new Error('opening the console link set no cookie');
  await opened.arrayBuffer();
  const cookie = setCookie.split(';')[0]!;
  const origin = new URL(consoleUrl).origin;
  const api = (path: string) => `${origin}/console/api/${path}`;
  return {
    origin,
    cookie,
    async get<T>(path: string) {
      const response = await fetch(api(path), { headers: { cookie } });
      if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}: ${await response.text()}`);
      return (await response.json()) as T;
    },
    async post<T>(path: string, body: unknown) {
      const response = await fetch(api(path), {
        method: 'POST',
        headers: { cookie, origin, 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: response.status, json: (await response.json()) as T };
    },
  };
}

/** A server in place of the bot that records every body the console delivers to it. */
export interface DeliveryRecorder {
  /** Where the stand-in delivers: `http://127.0.0.1:<port>/slack/events`. */
  readonly eventsUrl: string;
  /** Each delivered body, in order of arrival. */
  readonly delivered: string[];
  close(): Promise<void>;
}

export async function startDeliveryRecorder(): Promise<DeliveryRecorder> {
  const delivered: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      delivered.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    eventsUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`,
    delivered,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
