/** A Web API method's answer as Slack shapes it: ok with fields, or ok:false with an error code. */
export type Answer = { ok: true; [key: string]: unknown } | { ok: false; error: string; [key: string]: unknown };

export const fail = (error: string, extra: Record<string, unknown> = {}): Answer => ({ ok: false, error, ...extra });

/** Slack's answer to a missing or malformed required argument. */
export const invalidArguments = (message: string): Answer => fail('invalid_arguments', { response_metadata: { messages: [`[ERROR] ${message}`] } });
