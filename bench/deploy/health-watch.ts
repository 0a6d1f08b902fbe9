/**
 * The bench's own view of availability, independent of what the Docker driver reports: each
 * service's GET /health asked every INTERVAL_MS over a new connection (as a fresh client would),
 * every answer kept with the time it arrived and the version the service said it runs.
 */
import { get } from 'node:http';
import { firstServing, type HealthSample } from './outage.js';

export interface HealthWatch {
  samples(service: string): readonly HealthSample[];
  /** Resolves once every service has answered 200 with `version` at or after `since`, or rejects after `timeoutMs`. */
  servingEverywhere(version: string, since: number, timeoutMs: number): Promise<number>;
  stop(): Promise<void>;
}

const INTERVAL_MS = 50;
/** A /health that takes longer than this counts as no answer. */
const ANSWER_MS = 1000;

function askHealth(port: number): Promise<Omit<HealthSample, 'at'>> {
  return new Promise((resolve) => {
    const request = get({ host: '127.0.0.1', port, path: '/health', agent: false, timeout: ANSWER_MS }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        let version: string | undefined;
        try {
          version = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { version?: string }).version;
        } catch {
          version = undefined;
        }
        resolve({ ok: response.statusCode === 200, ...(version ? { version } : {}) });
      });
      response.on('error', () => resolve({ ok: false }));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', () => resolve({ ok: false }));
  });
}

export function watchHealth(ports: Record<string, number>): HealthWatch {
  const recorded = new Map<string, HealthSample[]>(Object.keys(ports).map((service) => [service, []]));
  let running = true;
  const loops = Object.entries(ports).map(async ([service, port]) => {
    const samples = recorded.get(service)!;
    while (running) {
      const asked = Date.now();
      samples.push({ at: 0, ...(await askHealth(port)) });
      samples[samples.length - 1]!.at = Date.now();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, INTERVAL_MS - (Date.now() - asked))));
    }
  });

  return {
    samples: (service) => recorded.get(service) ?? [],
    async servingEverywhere(version, since, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const times = Object.keys(ports).map((service) => firstServing(recorded.get(service)!, version, since));
        if (times.every((time) => time !== undefined)) return Math.max(...(times as number[]));
        if (Date.now() > deadline) {
          const missing = Object.keys(ports).filter((service, index) => times[index] === undefined);
          throw new Error(`${missing.join(', ')} did not answer /health 200 with version ${version} within ${timeoutMs / 1000} s`);
        }
        await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
      }
    },
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}
