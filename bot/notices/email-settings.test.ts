import { describe, expect, it } from 'vitest';
import { emailSettingsFromEnv, EmailSettingsError } from './email-settings.js';

const TO = 'oncall@example.com, release-managers@example.com';

function refusal(env: NodeJS.ProcessEnv): string {
  try {
    emailSettingsFromEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(EmailSettingsError);
    return (error as Error).message;
  }
  throw new Error('the settings were accepted');
}

describe('e-mail notice settings', () => {
  it('are off without SMTP_URL, or with an empty one', () => {
    expect(emailSettingsFromEnv({})).toBeUndefined();
    expect(emailSettingsFromEnv({ SMTP_URL: '  ', ACGS_NOTICE_EMAIL_TO: TO })).toBeUndefined();
  });

  it('read user, percent-encoded password, host and port from smtp://, and the addresses, each once', () => {
    const settings = emailSettingsFromEnv({ SMTP_URL: 'smtp://notices:p%40ss%2Fw0rd@mail.example.com:587', ACGS_NOTICE_EMAIL_FROM: 'acgs@example.com', ACGS_NOTICE_EMAIL_TO: `${TO},oncall@example.com,` });
    expect(settings).toEqual({
      transport: { host: 'mail.example.com', port: 587, secure: false, auth: { user: 'notices', pass: 'p@ss/w0rd' } },
      from: 'acgs@example.com',
      to: ['oncall@example.com', 'release-managers@example.com'],
      server: 'smtp://mail.example.com:587',
    });
  });

  it('use TLS from the start with smtps://, and the SMTP user as sender when it is an address', () => {
    const settings = emailSettingsFromEnv({ SMTP_URL: 'smtps://acgs%40example.com:secret@mail.example.com', ACGS_NOTICE_EMAIL_TO: TO });
    expect(settings?.transport).toEqual({ host: 'mail.example.com', secure: true, auth: { user: 'acgs@example.com', pass: 'secret' } });
    expect(settings?.from).toBe('acgs@example.com');
  });

  it('refuse an SMTP_URL that does not parse, naming the variable and never the password', () => {
    const message = refusal({ SMTP_URL: 'smtp://notices:hunter2@mail example.com:587', ACGS_NOTICE_EMAIL_TO: TO });
    expect(message).toContain('SMTP_URL is not a URL');
    expect(message).not.toContain('hunter2');
  });

  it('refuse another scheme, a missing host and a path', () => {
    expect(refusal({ SMTP_URL: 'https://user:hunter2@mail.example.com', ACGS_NOTICE_EMAIL_TO: TO })).toBe('SMTP_URL must start with smtp:// or smtps:// (it starts with https://)');
    expect(refusal({ SMTP_URL: 'smtp://', ACGS_NOTICE_EMAIL_TO: TO })).toMatch(/^SMTP_URL (is not a URL|names no host)/);
    expect(refusal({ SMTP_URL: 'smtp://user:hunter2@mail.example.com/inbox', ACGS_NOTICE_EMAIL_TO: TO })).toContain('without a path or query');
  });

  it('refuse SMTP_URL without recipients, or with an address that is not one', () => {
    expect(refusal({ SMTP_URL: 'smtp://mail.example.com', ACGS_NOTICE_EMAIL_FROM: 'acgs@example.com' })).toContain('ACGS_NOTICE_EMAIL_TO names nobody');
    expect(refusal({ SMTP_URL: 'smtp://mail.example.com', ACGS_NOTICE_EMAIL_FROM: 'acgs@example.com', ACGS_NOTICE_EMAIL_TO: 'oncall@example.com, release managers' })).toBe(
      'ACGS_NOTICE_EMAIL_TO: not an e-mail address: "release managers"',
    );
  });

  it('refuse a missing or malformed sender', () => {
    expect(refusal({ SMTP_URL: 'smtp://notices:x@mail.example.com', ACGS_NOTICE_EMAIL_TO: TO })).toContain('ACGS_NOTICE_EMAIL_FROM is not');
    expect(refusal({ SMTP_URL: 'smtp://mail.example.com', ACGS_NOTICE_EMAIL_FROM: 'acgs bot', ACGS_NOTICE_EMAIL_TO: TO })).toContain('ACGS_NOTICE_EMAIL_FROM must be an e-mail address');
  });
});
