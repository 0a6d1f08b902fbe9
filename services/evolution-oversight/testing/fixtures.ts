import pg from 'pg';
import type { ProposeEvolutionInput } from '../contract.js';

/** A proposal the real constitution approves automatically: trusted agent, low priority, no flags, a rollback plan. */
export function lowRiskProposal(overrides: Partial<ProposeEvolutionInput> = {}): ProposeEvolutionInput {
  return {
    agent_id: 'agent-7',
    trust_level: 0.95,
    change_description: 'Tighten the summariser prompt to cite its sources',
    new_version: '1.4.1',
    requester_id: 'U-REQUESTER',
    priority: 'low',
    rollback_plan: 'Redeploy 1.4.0 from the registry',
    ...overrides,
  };
}

export interface StoredCounts {
  evolutions: number;
  transitions: number;
}

/** Direct SQL on the test database, to check what was (not) stored independently of the API. */
export function openDatabase(url: string) {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  return {
    pool,
    async counts(): Promise<StoredCounts> {
      const { rows } = await pool.query<{ evolutions: string; transitions: string }>(
        'SELECT (SELECT count(*) FROM evolutions) AS evolutions, (SELECT count(*) FROM evolution_transitions) AS transitions',
      );
      return { evolutions: Number(rows[0]!.evolutions), transitions: Number(rows[0]!.transitions) };
    },
    async statusOf(id: string): Promise<string | undefined> {
      const { rows } = await pool.query<{ status: string }>('SELECT status FROM evolutions WHERE id = $1', [id]);
      return rows[0]?.status;
    },
    close: () => pool.end(),
  };
}
