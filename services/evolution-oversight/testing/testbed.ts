import { startAuditEngineStandIn, type AuditEngineStandIn } from '../../../test/testing/audit-engine-stand-in.js';
import { startPolicyEngine, type RunningPolicyEngine } from '../../../test/testing/policy-engine.js';
import { createTestDatabase, type TestDatabase } from '../../../test/testing/postgres.js';
import { startEvolutionApp, type RunningEvolutionApp } from './evolution-app.js';
import { openDatabase } from './fixtures.js';

/** Everything a route or integration test of the service needs, started together, stopped together. */
export interface EvolutionTestbed {
  database: TestDatabase;
  /** Stands in for the Audit Engine and keeps what it was sent. */
  receiver: AuditEngineStandIn;
  /** The real Policy Engine, in-process on loopback. */
  policyEngine: RunningPolicyEngine;
  service: RunningEvolutionApp;
  /** Direct SQL on the test database, to check what was (not) stored. */
  db: ReturnType<typeof openDatabase>;
  close(): Promise<void>;
}

export async function startEvolutionTestbed(databasePrefix: string): Promise<EvolutionTestbed> {
  const stops: Array<() => Promise<unknown>> = [];
  const close = async () => {
    while (stops.length > 0) await stops.pop()!();
  };
  try {
    const database = await createTestDatabase(databasePrefix);
    stops.push(() => database.drop());
    const receiver = await startAuditEngineStandIn();
    stops.push(() => receiver.close());
    const policyEngine = await startPolicyEngine({ auditEngineUrl: receiver.url });
    stops.push(() => policyEngine.close());
    const db = openDatabase(database.url);
    stops.push(() => db.close());
    const service = await startEvolutionApp({
      databaseUrl: database.url,
      policyEngineUrl: policyEngine.url,
      auditEngineUrl: receiver.url,
    });
    stops.push(() => service.close());
    return { database, receiver, policyEngine, service, db, close };
  } catch (error) {
    await close();
    throw error;
  }
}
