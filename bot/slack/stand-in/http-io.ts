/** Reading request bodies and writing answers for the stand-in's plain node:http handlers. */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Slack refuses Web API bodies far below this; it only keeps a broken client from filling memory. */
const MAX_BODY_BYTES = 5 * 1024 * 1024;

export class BodyTooLargeError extends Error {}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Parses a Web API style body: JSON, or form fields whose values may themselves be JSON (the Web
 * API client sends `blocks` as a JSON string inside a form). Unparseable JSON is reported, not thrown.
 */
export function parseApiBody(req: IncomingMessage, raw: Buffer): { args: Record<string, unknown>; error?: string } {
  const type = mediaType(req);
  const text = raw.toString('utf8');
  if (type === 'application/json') {
    if (text.trim() === '') return { args: {} };
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { args: {}, error: 'invalid_json' };
      return { args: parsed as Record<string, unknown> };
    } catch {
      return { args: {}, error: 'invalid_json' };
    }
  }
  return { args: Object.fromEntries(new URLSearchParams(text)) };
}
