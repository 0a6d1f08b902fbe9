import Fastify from 'fastify';
import type { PolicyInput } from '../../policy-engine/contract.js';

export interface ScriptedPolicyEngine {
  url: string;
  inputs: PolicyInput[];
  close(): Promise<void>;
}

/**
 * A Policy Engine stand-in that answers with whatever the test scripts, for the cases the real
 * engine never produces (a contract-breaking answer, a 500). Outcome classification is tested
 * against the real Policy Engine.
 */
export async function startScriptedPolicyEngine(
  answer: (input: PolicyInput) => { status: number; body: unknown },
): Promise<ScriptedPolicyEngine> {
  const app = Fastify({ logger: false });
  const engine: ScriptedPolicyEngine = { url: '', inputs: [], close: () => app.close() };
  app.post('/v1/data/acgs/main/decision', async (request, reply) => {
    const input = (request.body as { input: PolicyInput }).input;
    engine.inputs.push(input);
    const { status, body } = answer(input);
    return reply.status(status).send(body);
  });
  app.get('/health', async () => ({ status: 'healthy' }));
  engine.url = await app.listen({ host: '127.0.0.1', port: 0 });
  return engine;
}

/** A loopback URL on which nothing listens: the port was bound and released. */
export async function unusedLoopbackUrl(): Promise<string> {
  const app = Fastify({ logger: false });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  await app.close();
  return url;
}
