/**
 * Sends a page to a paging service's webhook: a JSON POST signed as webhook-signature.ts says,
 * with a delivery id that stays the same over retries. Only a 2xx answer is a delivery. Redirects
 * are not followed: the signed page would go somewhere nobody configured. What went wrong is a
 * sentence without the URL's path or query, which may hold the service's routing key.
 */
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from './webhook-signature.js';
import type { WebhookTarget } from './contacts.js';

export const DELIVERY_HEADER = 'x-acgs-delivery';
const TIMEOUT_MS = 10_000;

/** A page that was not delivered; the message is safe to show in the alert's thread. */
export class PageDeliveryError extends Error {
  override readonly name = 'PageDeliveryError';
}

/** Where a webhook is, as people and the ledger may see it: no path, no query. */
export function webhookOrigin(url: URL): string {
  return url.origin;
}

export async function sendWebhookPage(target: WebhookTarget, page: { deliveryId: string; payload: Record<string, unknown> }, options: { now?: () => Date; timeoutMs?: number } = {}): Promise<void> {
  const body = JSON.stringify(page.payload);
  const { timestamp, signature } = target.sign((options.now ?? (() => new Date()))().getTime() / 1000, body);
  const where = webhookOrigin(target.url);
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
  let response: Response;
  try {
    response = await fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'acgs-chatops-pager', [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: signature, [DELIVERY_HEADER]: page.deliveryId },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new PageDeliveryError(`the webhook at ${where} could not be reached: ${reasonOf(error, timeoutMs)}`);
  }
  // The body is not needed, but an unread one keeps the connection busy.
  const text = await response.text().catch(() => '');
  if (response.status >= 200 && response.status < 300) return;
  if (response.status >= 300 && response.status < 400) throw new PageDeliveryError(`the webhook at ${where} answered HTTP ${response.status} (a redirect, which is not followed: configure the URL it points to)`);
  const said = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  throw new PageDeliveryError(`the webhook at ${where} answered HTTP ${response.status}${said ? `: ${said}` : ''}`);
}

function reasonOf(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
