import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { requireServiceToken } from '../../kit/admin-auth.js';
import { CONSTITUTIONAL_HASH } from '../../kit/constitution.js';
import { ServiceError } from '../../kit/errors.js';
import { withDatabase } from '../../kit/postgres.js';
import {
  Evolution,
  EvolutionIdParams,
  EvolutionList,
  EvolutionWithHistory,
  ListEvolutionsQuery,
  ProposeEvolutionRequest,
  ReviewRequest,
  RollbackRequest,
} from '../contract.js';
import { TRANSITION_RULES, type ReviewAction } from '../domain/lifecycle.js';
import { IncompleteDecisionError, assessDecision, buildPolicyInput } from '../domain/policy-assessment.js';

function notFound(id: string): ServiceError {
  return new ServiceError('NOT_FOUND', { detail: `No evolution with id ${id}` });
}

export interface EvolutionRoutesOptions {
  /** ACGS_SERVICE_TOKEN; without it proposals and reviews are closed. */
  serviceToken?: string | undefined;
}

/**
 * Reads are open; proposals, approvals, rejections and rollbacks need the service token. The
 * reviewer (`reviewer_id`, `requested_by`) is whoever the token's holder says it is: the bot sends
 * the Slack user it checked, so a review cannot be made in someone's name by anyone else.
 * Checked on request, before the body is even parsed.
 */
export async function evolutionRoutes(fastify: FastifyInstance, options: EvolutionRoutesOptions = {}): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { evolutionStore: store, policyEngine, transitionAudit, evolutionMetrics: metrics } = app;
  if (!options.serviceToken) app.log.warn('ACGS_SERVICE_TOKEN is not set: proposals and reviews answer 401 SERVICE_UNAUTHORIZED');
  const writer = requireServiceToken(options.serviceToken);

  app.post('/evolutions', { onRequest: writer, schema: { body: ProposeEvolutionRequest, response: { 201: Evolution } } }, async (request, reply) => {
    const proposal = request.body;
    if (proposal.constitutional_hash !== undefined && proposal.constitutional_hash !== CONSTITUTIONAL_HASH) {
      throw new ServiceError('HASH_MISMATCH', { expected: CONSTITUTIONAL_HASH, actual: JSON.stringify(proposal.constitutional_hash) });
    }
    let decision;
    let assessment;
    try {
      decision = await policyEngine.decide(buildPolicyInput(proposal));
      assessment = assessDecision(decision);
    } catch (error) {
      metrics.policyFailures.inc();
      if (error instanceof IncompleteDecisionError) {
        throw new ServiceError('DEPENDENCY_UNAVAILABLE', { dependency: 'Policy Engine', detail: `${error.message}; nothing was stored` });
      }
      throw error;
    }
    const recorded = await withDatabase(() => store.create(proposal, assessment.status, decision));
    metrics.proposals.inc({ outcome: assessment.status });
    metrics.transitions.inc({ transition: 'created' });
    await transitionAudit.record([recorded]);
    request.log.info({ evolution_id: recorded.evolution.id, status: assessment.status }, 'evolution proposed');
    return reply.status(201).send(recorded.evolution);
  });

  app.get('/evolutions', { schema: { querystring: ListEvolutionsQuery, response: { 200: EvolutionList } } }, async (request) => {
    const { status, agent_id: agentId, limit } = request.query;
    const evolutions = await withDatabase(() => store.list({ status, agentId, limit }));
    return { evolutions, count: evolutions.length, limit, constitutional_hash: CONSTITUTIONAL_HASH };
  });

  app.get('/evolutions/:id', { schema: { params: EvolutionIdParams, response: { 200: EvolutionWithHistory } } }, async (request) => {
    const { id } = request.params;
    const evolution = await withDatabase(() => store.get(id));
    if (!evolution) throw notFound(id);
    const transitions = await withDatabase(() => store.transitionsOf(id));
    return { ...evolution, transitions };
  });

  async function applyTransition(action: ReviewAction, id: string, actorId: string, justification: string): Promise<Evolution> {
    const rule = TRANSITION_RULES[action];
    const result = await withDatabase(() => store.transition(id, rule, actorId, justification));
    switch (result.kind) {
      case 'not_found':
        throw notFound(id);
      case 'self_review':
        throw new ServiceError('FORBIDDEN', {
          detail: `${actorId} requested evolution ${id} and cannot ${action} it; another reviewer must decide`,
        });
      case 'wrong_status':
        throw new ServiceError(
          'CONFLICT',
          { detail: `Evolution ${id} is ${result.status}; ${action} needs it to be ${rule.from.join(' or ')}` },
          { status: result.status },
        );
      case 'applied':
        metrics.transitions.inc({ transition: rule.name });
        await transitionAudit.record([result]);
        app.log.info({ evolution_id: id, transition: rule.name, actor_id: actorId }, 'evolution transition');
        return result.evolution;
    }
  }

  const reviewSchema = { params: EvolutionIdParams, body: ReviewRequest, response: { 200: Evolution } };
  app.post('/evolutions/:id/approve', { onRequest: writer, schema: reviewSchema }, (request) =>
    applyTransition('approve', request.params.id, request.body.reviewer_id, request.body.justification),
  );
  app.post('/evolutions/:id/reject', { onRequest: writer, schema: reviewSchema }, (request) =>
    applyTransition('reject', request.params.id, request.body.reviewer_id, request.body.justification),
  );
  app.post(
    '/evolutions/:id/rollback',
    { onRequest: writer, schema: { params: EvolutionIdParams, body: RollbackRequest, response: { 200: Evolution } } },
    (request) => applyTransition('rollback', request.params.id, request.body.requested_by, request.body.reason),
  );
}
