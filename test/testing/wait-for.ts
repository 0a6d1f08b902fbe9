/**
 * Polls until `probe` gives a value. A timeout's error ends with what `diagnose` says, so that a
 * failing test shows what the processes it watched did rather than only that time ran out.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  diagnose: () => string | Promise<string>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms; ${await diagnose()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
