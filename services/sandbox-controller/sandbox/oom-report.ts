import type Docker from 'dockerode';

/** How long after a SIGKILL we did not send the engine may still report it as an OOM kill. */
export const OOM_REPORT_WINDOW_MS = 3000;

/**
 * Whether the engine reported an OOM kill of the container since `sinceMs`, waiting up to
 * `windowMs` for a report still on its way.
 *
 * The container's inspected `OOMKilled` is not enough: containerd sends the OOM and the exit as two
 * events, and when the exit reaches the engine first (seen under load with runsc) the engine
 * never sets `OOMKilled`, yet still emits its `oom` event. The event log is read from the run's
 * start, so a report that arrived before this call is found as well as one that comes after.
 */
export async function engineReportedOom(docker: Docker, containerId: string, sinceMs: number, windowMs = OOM_REPORT_WINDOW_MS): Promise<boolean> {
  const until = Date.now() + windowMs;
  let stream: (NodeJS.ReadableStream & { destroy(): void }) | undefined;
  try {
    stream = (await docker.getEvents({
      since: Math.floor(sinceMs / 1000) - 1,
      // The engine closes the stream at `until` (whole seconds); the timer below ends it on time.
      until: Math.ceil(until / 1000),
      filters: { type: ['container'], container: [containerId], event: ['oom'] },
    })) as NodeJS.ReadableStream & { destroy(): void };
  } catch {
    return false; // no event log: the inspected state is all there is
  }
  const events = stream;
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => finish(false), Math.max(0, until - Date.now()));
    function finish(reported: boolean) {
      clearTimeout(timer);
      events.destroy();
      resolve(reported);
    }
    events.once('data', () => finish(true));
    events.once('end', () => finish(false));
    events.once('error', () => finish(false));
  });
}
