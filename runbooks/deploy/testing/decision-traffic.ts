/**
 * Agents asking the Policy Engine for decisions, several at a time, until stopped: the traffic a
 * post-deploy watch judges p99 under (it judges no p99 over a handful of decisions).
 */
import { KNOWN_ALLOWED } from '../verification.js';

export interface DecisionTraffic {
  stop(): Promise<void>;
}

export function startDecisionTraffic(policyEngineUrl: string, concurrency = 10): DecisionTraffic {
  let asking = true;
  const agents = Array.from({ length: concurrency }, async () => {
    while (asking) {
      await fetch(`${policyEngineUrl}/v1/data/acgs/main/decision`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: KNOWN_ALLOWED }) }).then(
        (response) => response.arrayBuffer(),
        // The engine is being replaced: a refused connection is part of the rollout.
        () => new Promise((resolve) => setTimeout(resolve, 50)),
      );
    }
  });
  return {
    async stop() {
      asking = false;
      await Promise.all(agents);
    },
  };
}
