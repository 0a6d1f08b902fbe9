import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyServerOptions,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  isResponseSerializationError,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { z } from 'zod';
import { CONSTITUTIONAL_HASH, CONSTITUTIONAL_HASH_HEADER } from './constitution.js';
import { type ErrorBody, type ErrorCode, ServiceError, isServiceError } from './errors.js';
import { memoryLimitBytes } from './memory-limit.js';
import type { HealthBody, HealthReport } from './health-body.js';
import { type AuthRefusals, type RefusedToken, createAuthRefusals } from './auth-refusals.js';

export const SERVICE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export { HealthBody, HealthStatus, type HealthReport } from './health-body.js';

export interface ServiceOptions {
  name: string;
  /** Largest accepted request body in bytes; larger bodies get 413. */
  bodyLimit?: number;
  logger?: FastifyServerOptions['logger'];
  health: () => Promise<HealthReport> | HealthReport;
}

export type Service = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

declare module 'fastify' {
  interface FastifyInstance {
    metricsRegistry: Registry;
    /** The refused service and admin tokens, counted; a service's audit plugin says where they are recorded. */
    authRefusals: AuthRefusals;
    serviceName: string;
    startedAt: number;
  }
}

/** The errors the token guards (admin-auth.ts) throw, and the token each one lacked. */
const REFUSED_TOKEN: Partial<Record<ErrorCode, RefusedToken>> = { UNAUTHORIZED: 'admin', SERVICE_UNAUTHORIZED: 'service' };

const FASTIFY_CODE_TO_OURS: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
};

/** Request and response headers that carry a secret: the admin and service tokens, cookies, signatures. */
const SECRET_HEADERS = ['authorization', 'x-admin-token', 'x-service-token', 'cookie', 'set-cookie', 'x-slack-signature'];

/**
 * Where headers turn up in a log line: a request or response serialized whole, or headers logged
 * on their own (`{headers}`, `{res: {headers}}`, an error's `err.config.headers`).
 */
const HEADER_HOLDERS = ['req.headers', 'res.headers', 'headers', '*.headers', '*.*.headers'];

/** pino's redact list of the services: every secret header wherever headers are logged. */
export const SECRET_LOG_PATHS: readonly string[] = HEADER_HOLDERS.flatMap((holder) =>
  SECRET_HEADERS.map((header) => `${holder}[${JSON.stringify(header)}]`),
);

/** The services' production logger: JSON lines at LOG_LEVEL, secret headers replaced by "[Redacted]". */
export function serviceLoggerOptions(level = process.env.LOG_LEVEL ?? 'info') {
  return { level, redact: [...SECRET_LOG_PATHS] };
}

function defaultLogger(): FastifyServerOptions['logger'] {
  if (process.env.NODE_ENV === 'test' || process.env.VITEST) return false;
  return serviceLoggerOptions();
}

function describeIssues(issues: ReadonlyArray<{ instancePath?: string; message?: string; params?: unknown }>) {
  return issues.map((issue) => {
    const path = (issue.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    return path ? `${path}: ${issue.message}` : String(issue.message);
  });
}

/**
 * A fastify app with the kit's conventions: zod-typed routes, `X-Constitutional-Hash` on every
 * response, one error boundary that turns everything into `{error: {code, message}}`,
 * `GET /health`, and Prometheus `GET /metrics`.
 */
export function createService(options: ServiceOptions): Service {
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const app = Fastify({
    logger: options.logger ?? defaultLogger(),
    bodyLimit,
    genReqId: () => randomUUID(),
    // Per-request lines would dominate the log at thousands of decisions per second.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true },
  }).withTypeProvider<ZodTypeProvider>();

  // Our APIs speak JSON only; anything else is 415 rather than a confusing schema error.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const registry = new Registry();
  registry.setDefaultLabels({ service: options.name });
  collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Server-side duration of HTTP requests',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  // With process_resident_memory_bytes, the memory share the HighMemory rule compares with 85 %.
  new Gauge({
    name: 'service_memory_limit_bytes',
    help: "Memory this process may use: its cgroup's limit, else the machine's memory",
    registers: [registry],
    collect() {
      this.set(memoryLimitBytes());
    },
  });
  // The health check as a series, so Prometheus alerts on a service that answers but is unhealthy.
  new Gauge({
    name: 'service_healthy',
    help: 'Whether GET /health would answer 200 now (1) or not (0)',
    registers: [registry],
    async collect() {
      try {
        this.set((await options.health()).status === 'unhealthy' ? 0 : 1);
      } catch {
        this.set(0);
      }
    },
  });
  app.decorate('metricsRegistry', registry);
  const authRefusals = createAuthRefusals({ service: options.name, registry, log: app.log });
  app.decorate('authRefusals', authRefusals);
  app.addHook('onClose', () => authRefusals.close());
  app.decorate('serviceName', options.name);
  app.decorate('startedAt', Date.now());

  app.addHook('onRequest', async (_request, reply) => {
    reply.header(CONSTITUTIONAL_HASH_HEADER, CONSTITUTIONAL_HASH);
  });
  app.addHook('onResponse', async (request, reply) => {
    httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    let serviceError: ServiceError;
    if (isServiceError(error)) {
      serviceError = error;
    } else if (hasZodFastifySchemaValidationErrors(error)) {
      const issues = describeIssues(error.validation);
      const where = (error as { validationContext?: string }).validationContext ?? 'body';
      serviceError = new ServiceError('INVALID_REQUEST', { detail: `${where}: ${issues.join('; ')}` }, { issues });
    } else if (isResponseSerializationError(error)) {
      serviceError = new ServiceError('INTERNAL', { reference: request.id });
      request.log.error({ err: error }, 'response did not match its schema');
    } else if (error.code && FASTIFY_CODE_TO_OURS[error.code]) {
      const code = FASTIFY_CODE_TO_OURS[error.code]!;
      serviceError = new ServiceError(code, {
        detail: error.message,
        limit: bodyLimit,
        contentType: request.headers['content-type'] ?? 'none',
      });
    } else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      serviceError = new ServiceError('INVALID_REQUEST', { detail: error.message });
    } else {
      serviceError = new ServiceError('INTERNAL', { reference: request.id });
      request.log.error({ err: error, reference: request.id }, 'unhandled error');
    }
    const refusedToken = REFUSED_TOKEN[serviceError.code];
    if (refusedToken) {
      // Counted, and logged once a window by the tally: a line per request would let a flood fill the log.
      authRefusals.refused(refusedToken, request.routeOptions.url ?? 'unmatched');
    } else if (serviceError.statusCode >= 500 && serviceError.code !== 'INTERNAL') {
      request.log.error({ code: serviceError.code }, serviceError.message);
    } else if (serviceError.statusCode < 500) {
      request.log.info({ code: serviceError.code, url: request.url }, serviceError.message);
    }
    const body: ErrorBody = {
      error: {
        code: serviceError.code,
        message: serviceError.message,
        ...(serviceError.details === undefined ? {} : { details: serviceError.details }),
      },
      constitutional_hash: CONSTITUTIONAL_HASH,
    };
    void reply.status(serviceError.statusCode).type('application/json').send(body);
  });

  app.setNotFoundHandler((request) => {
    throw new ServiceError('ROUTE_NOT_FOUND', { method: request.method, url: request.url.split('?')[0] });
  });

  const NoQuery = { querystring: z.object({}).strict() };

  app.get('/health', { schema: NoQuery }, async (_request, reply) => {
    const report = await options.health();
    const body: HealthBody = {
      ...report,
      status: report.status,
      service: options.name,
      version: SERVICE_VERSION,
      constitutional_hash: CONSTITUTIONAL_HASH,
      uptime_seconds: Math.round((Date.now() - app.startedAt) / 1000),
    };
    return reply.status(report.status === 'unhealthy' ? 503 : 200).send(body);
  });

  app.get('/metrics', { schema: NoQuery }, async (_request, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics());
  });

  return app as Service;
}
