/**
 * `npm start` with e-mail settings that do not parse: the start stops before anything is started,
 * with a sentence naming the variable, and the SMTP password is never shown.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { refusedStarts } from '../testing/npm-start.js';

const { start, cleanup } = refusedStarts('acgs-smtp-refusal-');
afterAll(cleanup);

describe('npm start with e-mail notice settings', () => {
  it('refuses an SMTP_URL that does not parse, naming it, without the password, before starting anything', async () => {
    const result = await start({ SMTP_URL: 'smtp://notices:hunter2@mail example.com:587', ACGS_NOTICE_EMAIL_TO: 'oncall@example.com' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[acgs] could not start: SMTP_URL is not a URL: write it as smtp://user:password@host:587');
    expect(result.stderr + result.stdout).not.toContain('hunter2');
    expect(result.stdout).not.toContain('stack:');
  }, 60_000);

  it('refuses SMTP_URL without anyone to send to, naming ACGS_NOTICE_EMAIL_TO', async () => {
    const result = await start({ SMTP_URL: 'smtp://127.0.0.1:2525', ACGS_NOTICE_EMAIL_FROM: 'acgs@example.com' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[acgs] could not start: SMTP_URL is set but ACGS_NOTICE_EMAIL_TO names nobody');
  }, 60_000);
});
