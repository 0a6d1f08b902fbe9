/**
 * When a replica first answers its own GET /health, asked by the driver itself: the end of a
 * handover's gap. The engine's health check says so only at its next interval (15 s in
 * docker-compose.yml), which would count seconds the new replica was already serving.
 */
import type Docker from 'dockerode';

/** Every ACGS service answers GET /health on $PORT (the firm contract); the address is where the engine's host reaches it. */
export function healthUrlOf(info: Pick<Docker.ContainerInspectInfo, 'Config' | 'HostConfig'>): string | undefined {
  const port = info.Config.Env?.find((entry) => entry.startsWith('PORT='))?.slice('PORT='.length);
  if (!port || !/^\d{1,5}$/.test(port)) return undefined;
  if (info.HostConfig?.NetworkMode === 'host') return `http://127.0.0.1:${port}/health`;
  const binding = info.HostConfig?.PortBindings?.[`${port}/tcp`]?.[0] as { HostIp?: string; HostPort?: string } | undefined;
  if (!binding?.HostPort || !/^\d{1,5}$/.test(binding.HostPort)) return undefined;
  // Published on every address (no HostIp, 0.0.0.0 or ::): loopback reaches it too.
  const ip = binding.HostIp ?? '';
  if (ip === '' || ip === '0.0.0.0') return `http://127.0.0.1:${binding.HostPort}/health`;
  if (ip === '::') return `http://[::1]:${binding.HostPort}/health`;
  return `http://${ip.includes(':') ? `[${ip}]` : ip}:${binding.HostPort}/health`;
}

export interface ServedProbe {
  /** When /health first answered 200; undefined while it has not (or there is no address to ask). */
  firstServedAt(): number | undefined;
  stop(): void;
}

const PROBE_TIMEOUT_MS = 1000;

/** Asks `url` every `everyMs` until the first 200 or stop(). Without a url it never answers. */
export function probeUntilServed(url: string | undefined, everyMs: number): ServedProbe {
  let servedAt: number | undefined;
  const stopped = new AbortController();
  if (url) {
    void (async () => {
      while (!stopped.signal.aborted) {
        try {
          const response = await fetch(url, { signal: AbortSignal.any([stopped.signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]) });
          await response.body?.cancel();
          if (response.status === 200) {
            servedAt = Date.now();
            return;
          }
        } catch {
          // not answering yet
        }
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
    })();
  }
  return { firstServedAt: () => servedAt, stop: () => stopped.abort() };
}
