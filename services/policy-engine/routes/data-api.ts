import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { CONSTITUTIONAL_HASH } from '../../kit/constitution.js';
import { ServiceError } from '../../kit/errors.js';
import type { Service } from '../../kit/service.js';
import { DataApiRequest, NoQuery, PolicyHealthResponse } from '../contract.js';

function describeValue(value: unknown): string {
  if (value === undefined) return 'none';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Checked before the schema, so that a request for another constitution is told so plainly
 * (HASH_MISMATCH naming the expected hash) even when other fields are wrong too.
 */
async function requireConstitutionalHash(request: FastifyRequest): Promise<void> {
  const input = (request.body as { input?: unknown } | null | undefined)?.input;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return; // the schema says what is wrong
  const actual = (input as Record<string, unknown>).constitutional_hash;
  if (actual !== CONSTITUTIONAL_HASH) {
    throw new ServiceError(
      'HASH_MISMATCH',
      { expected: CONSTITUTIONAL_HASH, actual: describeValue(actual) },
      { expected: CONSTITUTIONAL_HASH },
    );
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** `process.hrtime.bigint()` when the request arrived, before its body was read. */
    arrivedAt: bigint;
  }
}

const ALLOW_BODIES = { true: '{"result":true}', false: '{"result":false}' } as const;

/** OPA Data API envelope over the in-process policy: `{input}` in, `{result}` out. */
export async function dataApiRoutes(app: Service): Promise<void> {
  // Server-side latency runs from the request's arrival (onRequest, before the body is read) to
  // the response being sent (onResponse): body parsing, the hash check, zod validation, the
  // decision and the reply are all in it, not only the cache lookup or evaluation.
  app.decorateRequest('arrivedAt', 0n);
  const markArrival = (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    request.arrivedAt = process.hrtime.bigint();
    done();
  };
  const recordResponse = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    app.engineStats.recordResponse(reply.statusCode, process.hrtime.bigint() - request.arrivedAt);
    done();
  };
  const evaluation = {
    schema: { body: DataApiRequest, querystring: NoQuery },
    onRequest: markArrival,
    preValidation: requireConstitutionalHash,
    onResponse: recordResponse,
  };

  app.post('/v1/data/acgs/main/decision', evaluation, async (request, reply) => {
    const { input } = request.body;
    const served = await app.decisions.decide(input);
    app.decisions.observe(input, served);
    // The body was serialized once, when the decision entered the cache.
    return reply.type('application/json').send(served.entry.body);
  });

  app.post('/v1/data/acgs/main/allow', evaluation, async (request, reply) => {
    const { input } = request.body;
    // allow is decision.allow in the policy, so it shares the decision cache.
    const served = await app.decisions.decide(input);
    app.decisions.observe(input, served);
    return reply.type('application/json').send(ALLOW_BODIES[served.entry.decision.allow ? 'true' : 'false']);
  });

  app.get(
    '/v1/data/acgs/main/health',
    { schema: { querystring: NoQuery, response: { 200: PolicyHealthResponse } } },
    async () => ({ result: PolicyHealthResponse.shape.result.parse(app.policy.health()) }),
  );
}
