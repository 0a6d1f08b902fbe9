import { ErrorCode, type WebAPIPlatformError } from '@slack/web-api';
import { expect } from 'vitest';

/** The `{ok: false, error, ...}` body of a Web API call that must fail the way Slack fails it. */
export async function platformError(call: Promise<unknown>): Promise<WebAPIPlatformError['data']> {
  const error = (await call.then(
    () => undefined,
    (caught: unknown) => caught,
  )) as WebAPIPlatformError | undefined;
  expect(error?.code, 'the call should have failed with a Slack platform error').toBe(ErrorCode.PlatformError);
  return error!.data;
}
