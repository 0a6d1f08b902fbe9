/**
 * The bot's one pino logger. Secrets never reach it (DESIGN.md §6): a `redact` list drops the
 * values at paths we know carry them (tokens, headers, connection settings); every other field,
 * every message and every error's message and stack go through the audit trail's redaction
 * (bot/audit-trail/redaction.ts), so a token or password written into an error text by a library
 * or a bug is caught by the same rules that keep it out of the trail.
 */
import { pino, stdSerializers, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { REDACTED, isSecretKey, redactText, redactValue } from './audit-trail/redaction.js';

/**
 * Paths whose values are dropped whatever they look like: the bot's settings and tokens, HTTP
 * headers of a request or of a failed client call (Slack's WebClient errors carry them), and
 * connection options. `*` is one level of any object.
 */
export const BOT_LOG_REDACT_PATHS = [
  'botToken',
  'appToken',
  'signingSecret',
  'token',
  'password',
  '*.botToken',
  '*.appToken',
  '*.signingSecret',
  '*.token',
  '*.password',
  '*.secret',
  '*.headers.authorization',
  '*.headers.Authorization',
  '*.headers.cookie',
  '*.headers["x-admin-token"]',
  '*.headers["x-slack-signature"]',
  'headers.authorization',
  'headers.Authorization',
  'headers.cookie',
  'headers["x-admin-token"]',
  'headers["x-slack-signature"]',
  'err.config.headers.Authorization',
  'err.config.headers.authorization',
  'err.request.headers.authorization',
];

/** An error as pino shows it (type, message, stack, own fields, cause), with every text redacted. */
export function redactedErrorSerializer(error: unknown): unknown {
  if (!(error instanceof Error)) return redactValue(error);
  return redactValue(stdSerializers.err(error));
}

/** A log line's fields: secret-named keys lose their value, text is redacted; errors are left to the serializer. */
function redactFields(object: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    if (value instanceof Error) copy[key] = value;
    else copy[key] = isSecretKey(key) && value !== null && value !== undefined && value !== '' ? REDACTED : redactValue(value);
  }
  return copy;
}

export interface BotLoggerOptions {
  level?: string;
  name?: string;
}

export function botLoggerOptions(options: BotLoggerOptions = {}): LoggerOptions {
  return {
    ...(options.name ? { name: options.name } : {}),
    level: options.level ?? 'info',
    redact: { paths: BOT_LOG_REDACT_PATHS, censor: REDACTED },
    serializers: { err: redactedErrorSerializer, error: redactedErrorSerializer },
    formatters: { log: redactFields },
    hooks: {
      // The message itself: pino takes an error's message as the line's message when none is given,
      // so that case gets a redacted one here before pino can.
      logMethod(args, method) {
        const redacted: unknown[] = args.map((arg) => (typeof arg === 'string' ? redactText(arg) : arg));
        const first = redacted[0];
        const error = first instanceof Error ? first : (first as { err?: unknown } | undefined)?.err;
        if (error instanceof Error && typeof redacted[1] !== 'string') redacted.splice(1, 0, redactText(error.message));
        return method.apply(this, redacted as Parameters<typeof method>);
      },
    },
  };
}

/** The bot's logger (stdout unless a destination is given, as tests do to read the lines). */
export function createBotLogger(options: BotLoggerOptions = {}, destination?: DestinationStream): Logger {
  return destination ? pino(botLoggerOptions(options), destination) : pino(botLoggerOptions(options));
}
