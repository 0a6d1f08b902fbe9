/**
 * Who may use the local console. The console acts as every person of its workspace (admins and
 * approvers included), so a request that reaches its API can do anything those people can. Any web
 * page the operator visits can send requests to 127.0.0.1, and a DNS-rebinding page can even read
 * the answers, so every request must prove it comes from the console's own page:
 *
 * - Host is the console's own loopback address and port (a rebinding page sends its own name);
 * - Origin, when the browser sends one, is the console's own origin; Sec-Fetch-Site, when sent,
 *   says same-origin (another port of 127.0.0.1 is "same-site" for cookies, but not same-origin);
 * - the API needs the per-process console token, which the page gets as a SameSite=Strict,
 *   HttpOnly cookie when the operator opens the URL `npm start` printed (`/?token=...`);
 * - POSTs are `application/json` only, which a cross-site form or a "simple" fetch cannot send.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The query parameter of the printed console URL that carries the token. */
export const CONSOLE_TOKEN_PARAM = 'token';

/** A fresh token for one process: 256 random bits, URL-safe. */
export function newConsoleToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Why a request was refused, in words the operator can act on. */
export interface AccessRefusal {
  reason: 'host' | 'origin' | 'fetch-site' | 'token' | 'content-type';
  message: string;
}

export interface ConsoleAccess {
  /** The cookie name: one per port, as cookies of 127.0.0.1 are shared by every port. */
  readonly cookieName: string;
  /** Host, Origin and Sec-Fetch-Site: checked on every console path, the page and its files too. */
  checkSource(req: IncomingMessage): AccessRefusal | undefined;
  /** The token cookie (API calls) and, for a POST, the JSON content type. */
  checkApiCall(req: IncomingMessage): AccessRefusal | undefined;
  /** Whether the request carries this process's token in its cookie. */
  hasTokenCookie(req: IncomingMessage): boolean;
  /** Whether a token from the URL is this process's token. */
  isToken(candidate: string): boolean;
  /** The Set-Cookie value that lets the page in. */
  cookie(): string;
}

const SAME_ORIGIN_FETCH_SITES = new Set(['same-origin', 'none']);

/** `ownUrl` is read per request: a stand-in mounted in the bot's server learns its port late. */
export function createConsoleAccess(options: { token: string; ownUrl: () => string }): ConsoleAccess {
  const tokenDigest = digest(options.token);
  const isToken = (candidate: string) => timingSafeEqual(digest(candidate), tokenDigest);
  const own = () => new URL(options.ownUrl());
  const cookieName = () => `acgs_console_${own().port || '80'}`;

  const tokenFromCookie = (req: IncomingMessage): string | undefined => {
    const name = cookieName();
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [key, ...value] = part.trim().split('=');
      if (key === name) return value.join('=');
    }
    return undefined;
  };
  const hasTokenCookie = (req: IncomingMessage) => {
    const token = tokenFromCookie(req);
    return token !== undefined && isToken(token);
  };

  return {
    get cookieName() {
      return cookieName();
    },
    checkSource(req) {
      const url = own();
      const allowedHosts = loopbackHostsFor(url.port);
      const host = (req.headers.host ?? '').toLowerCase();
      if (!allowedHosts.has(host)) {
        return { reason: 'host', message: `this console answers only at ${url.origin} (the request named host "${host.slice(0, 100)}"): open the URL npm start printed` };
      }
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `http://${host}`) {
        return { reason: 'origin', message: `requests from ${origin.slice(0, 100)} are refused: only the console's own page at ${url.origin} may use it` };
      }
      const site = req.headers['sec-fetch-site'];
      if (typeof site === 'string' && !SAME_ORIGIN_FETCH_SITES.has(site) && !isTopLevelNavigation(req)) {
        return { reason: 'fetch-site', message: `a ${site} request is refused: only the console's own page at ${url.origin} may use it` };
      }
      return undefined;
    },
    checkApiCall(req) {
      if (!hasTokenCookie(req)) {
        return { reason: 'token', message: 'the console token is missing or belongs to an earlier start: open the URL npm start printed (http://127.0.0.1:<port>/?token=...); it changes with every start' };
      }
      if (req.method === 'POST') {
        const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        if (type !== 'application/json') return { reason: 'content-type', message: `the console API takes Content-Type: application/json only (got "${type.slice(0, 100) || 'none'}")` };
      }
      return undefined;
    },
    hasTokenCookie,
    isToken,
    cookie() {
      // No Max-Age: the token dies with the process anyway, the cookie with the browser session.
      return `${cookieName()}=${options.token}; Path=/; HttpOnly; SameSite=Strict`;
    },
  };
}

/**
 * A person following a link to the console (from a chat, a terminal, a bookmark) is a top-level
 * GET navigation; it may land on the page, which then tells them how to get in. The API and the
 * files are never navigated to by the console's own page.
 */
function isTopLevelNavigation(req: IncomingMessage): boolean {
  return req.method === 'GET' && req.headers['sec-fetch-mode'] === 'navigate' && req.headers['sec-fetch-dest'] === 'document';
}

/** The names a browser on this machine may use for the console: never a DNS name it looked up. */
function loopbackHostsFor(port: string): Set<string> {
  const suffix = port === '' ? '' : `:${port}`;
  return new Set([`127.0.0.1${suffix}`, `localhost${suffix}`, `[::1]${suffix}`]);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
