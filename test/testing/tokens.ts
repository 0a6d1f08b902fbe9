/**
 * Tokens for the services tests start. The services refuse tokens shorter than 32 characters
 * (services/kit/env.ts), so the kits generate 48-character ones rather than spell out short words.
 */
import { randomBytes } from 'node:crypto';

/** A fresh random token of 48 hex characters. */
export function testToken(): string {
  return randomBytes(24).toString('hex');
}

/**
 * The service token shared by every service the kits start in this test process (the Audit
 * Engine and its stand-in require it; the Policy Engine, Evolution Oversight and the Sandbox
 * Controller require it and send it), so that they talk to each other as a real stack does.
 */
export const TEST_SERVICE_TOKEN = testToken();

/** The header a test's own write call carries: `headers: SERVICE_AUTH` on an inject or fetch. */
export const SERVICE_AUTH: Readonly<Record<string, string>> = { authorization: `Bearer ${TEST_SERVICE_TOKEN}` };
