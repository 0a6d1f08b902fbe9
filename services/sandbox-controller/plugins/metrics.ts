import { Counter, Gauge, Histogram } from 'prom-client';
import fp from 'fastify-plugin';

export interface SandboxMetrics {
  executions: Counter<'runtime' | 'termination_reason'>;
  duration: Histogram<'runtime'>;
  failures: Counter<'reason'>;
}

declare module 'fastify' {
  interface FastifyInstance {
    sandboxMetrics: SandboxMetrics;
  }
}

/** Prometheus series of the sandbox, on the kit's registry (needs the engine plugin first). */
export const metricsPlugin = fp(async (app) => {
  const registers = [app.metricsRegistry];
  const slots = app.sandboxSlots;
  new Gauge({
    name: 'sandbox_active',
    help: 'Executions in progress in this controller',
    registers,
    collect() {
      this.set(slots.size);
    },
  });
  const failures = new Counter({
    name: 'sandbox_failures_total',
    help: 'Executions that failed the sandbox rather than the code: timeout, oom, or error (the controller could not run it)',
    labelNames: ['reason'] as const,
    registers,
  });
  // At 0 from the start, so increase() counts the first failure instead of starting a new series at it.
  for (const reason of ['timeout', 'oom', 'error'] as const) failures.inc({ reason }, 0);
  app.decorate('sandboxMetrics', {
    executions: new Counter({
      name: 'sandbox_executions_total',
      help: 'Finished executions by runtime and termination reason (policy denials have runtime "none")',
      labelNames: ['runtime', 'termination_reason'] as const,
      registers,
    }),
    duration: new Histogram({
      name: 'sandbox_execution_duration_seconds',
      help: 'Wall-clock run time of sandboxed code, from container start to exit',
      labelNames: ['runtime'] as const,
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    }),
    failures,
  });
});
