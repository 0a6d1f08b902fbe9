import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { CONSTITUTIONAL_HASH } from '../../kit/constitution.js';
import { withTransaction } from '../../kit/postgres.js';
import type { Decision } from '../../policy-engine/contract.js';
import type { Evolution, EvolutionStatus, Priority, ProposeEvolutionRequest, Transition, TransitionName } from '../contract.js';
import { PENDING_REVIEW_STATUSES, checkTransition, type TransitionRule } from '../domain/lifecycle.js';
import { summarizeDecision } from '../domain/policy-assessment.js';

interface EvolutionRow {
  id: string;
  agent_id: string;
  trust_level: number;
  change_description: string;
  new_version: string;
  requester_id: string;
  priority: Priority;
  privilege_escalation: boolean;
  external_dependencies: boolean;
  experimental_features: boolean;
  rollback_plan: string | null;
  status: EvolutionStatus;
  policy_decision: Decision;
  reviewer_id: string | null;
  review_justification: string | null;
  reviewed_at: Date | null;
  rolled_back_by: string | null;
  rollback_reason: string | null;
  rolled_back_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

interface TransitionRow {
  id: string;
  evolution_id: string;
  transition: TransitionName;
  from_status: EvolutionStatus | null;
  to_status: EvolutionStatus;
  actor_id: string;
  justification: string | null;
  occurred_at: Date;
}

const EVOLUTION_COLUMNS = `id, agent_id, trust_level, change_description, new_version, requester_id, priority,
  privilege_escalation, external_dependencies, experimental_features, rollback_plan, status, policy_decision,
  reviewer_id, review_justification, reviewed_at, rolled_back_by, rollback_reason, rolled_back_at, created_at, updated_at`;

const TRANSITION_COLUMNS = 'id, evolution_id, transition, from_status, to_status, actor_id, justification, occurred_at';

function toEvolution(row: EvolutionRow): Evolution {
  const reviewed = row.reviewer_id !== null && row.reviewed_at !== null;
  return {
    id: row.id,
    agent_id: row.agent_id,
    trust_level: row.trust_level,
    change_description: row.change_description,
    new_version: row.new_version,
    requester_id: row.requester_id,
    priority: row.priority,
    privilege_escalation: row.privilege_escalation,
    external_dependencies: row.external_dependencies,
    experimental_features: row.experimental_features,
    rollback_plan: row.rollback_plan,
    status: row.status,
    policy: summarizeDecision(row.policy_decision),
    review: reviewed
      ? {
          // Only approved changes can be rolled back, so a reviewed, rolled-back evolution was approved.
          decision: row.status === 'rejected' ? 'rejected' : 'approved',
          reviewer_id: row.reviewer_id!,
          justification: row.review_justification ?? '',
          reviewed_at: row.reviewed_at!.toISOString(),
        }
      : null,
    rollback:
      row.rolled_back_by !== null && row.rolled_back_at !== null
        ? { requested_by: row.rolled_back_by, reason: row.rollback_reason ?? '', rolled_back_at: row.rolled_back_at.toISOString() }
        : null,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    constitutional_hash: CONSTITUTIONAL_HASH,
  };
}

function toTransition(row: TransitionRow): Transition {
  return {
    id: row.id,
    transition: row.transition,
    from_status: row.from_status,
    to_status: row.to_status,
    actor_id: row.actor_id,
    justification: row.justification,
    occurred_at: row.occurred_at.toISOString(),
  };
}

async function insertTransition(
  client: pg.ClientBase,
  values: { evolutionId: string; name: TransitionName; from: EvolutionStatus | null; to: EvolutionStatus; actorId: string; justification: string | null },
): Promise<Transition> {
  const { rows } = await client.query<TransitionRow>(
    `INSERT INTO evolution_transitions (id, evolution_id, transition, from_status, to_status, actor_id, justification)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${TRANSITION_COLUMNS}`,
    [randomUUID(), values.evolutionId, values.name, values.from, values.to, values.actorId, values.justification],
  );
  return toTransition(rows[0]!);
}

export interface Recorded {
  evolution: Evolution;
  transition: Transition;
}

export type TransitionResult =
  | ({ kind: 'applied' } & Recorded)
  | { kind: 'not_found' }
  | { kind: 'self_review' }
  | { kind: 'wrong_status'; status: EvolutionStatus };

export interface ListFilter {
  status?: EvolutionStatus;
  agentId?: string;
  limit: number;
}

export interface EvolutionStore {
  create(proposal: ProposeEvolutionRequest, status: EvolutionStatus, decision: Decision): Promise<Recorded>;
  get(id: string): Promise<Evolution | undefined>;
  transitionsOf(id: string): Promise<Transition[]>;
  list(filter: ListFilter): Promise<Evolution[]>;
  /** Moves an evolution along `rule` atomically; exactly one of concurrent callers can win. */
  transition(id: string, rule: TransitionRule, actorId: string, justification: string): Promise<TransitionResult>;
  countPendingReviews(): Promise<number>;
  markAuditRecorded(transitionIds: string[]): Promise<void>;
  /** Transitions committed but never handed to the audit outbox (a crash in between). */
  unrecordedTransitions(limit: number): Promise<Recorded[]>;
  ping(): Promise<void>;
}

export function createEvolutionStore(pool: pg.Pool): EvolutionStore {
  return {
    async create(proposal, status, decision) {
      return withTransaction(pool, async (client) => {
        const { rows } = await client.query<EvolutionRow>(
          `INSERT INTO evolutions (id, agent_id, trust_level, change_description, new_version, requester_id, priority,
             privilege_escalation, external_dependencies, experimental_features, rollback_plan, status, policy_decision,
             risk_score, risk_factors)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           RETURNING ${EVOLUTION_COLUMNS}`,
          [
            randomUUID(),
            proposal.agent_id,
            proposal.trust_level,
            proposal.change_description,
            proposal.new_version,
            proposal.requester_id,
            proposal.priority,
            proposal.privilege_escalation,
            proposal.external_dependencies,
            proposal.experimental_features,
            proposal.rollback_plan ?? null,
            status,
            JSON.stringify(decision),
            decision.evolution?.risk_score ?? null,
            decision.evolution?.factors ?? [],
          ],
        );
        const evolution = toEvolution(rows[0]!);
        const transition = await insertTransition(client, {
          evolutionId: evolution.id,
          name: 'created',
          from: null,
          to: status,
          actorId: proposal.requester_id,
          justification: null,
        });
        return { evolution, transition };
      });
    },

    async get(id) {
      const { rows } = await pool.query<EvolutionRow>(`SELECT ${EVOLUTION_COLUMNS} FROM evolutions WHERE id = $1`, [id]);
      return rows[0] ? toEvolution(rows[0]) : undefined;
    },

    async transitionsOf(id) {
      const { rows } = await pool.query<TransitionRow>(
        `SELECT ${TRANSITION_COLUMNS} FROM evolution_transitions WHERE evolution_id = $1 ORDER BY seq`,
        [id],
      );
      return rows.map(toTransition);
    },

    async list(filter) {
      const { rows } = await pool.query<EvolutionRow>(
        `SELECT ${EVOLUTION_COLUMNS} FROM evolutions
         WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR agent_id = $2)
         ORDER BY seq DESC LIMIT $3`,
        [filter.status ?? null, filter.agentId ?? null, filter.limit],
      );
      return rows.map(toEvolution);
    },

    async transition(id, rule, actorId, justification) {
      return withTransaction(pool, async (client) => {
        // The row lock orders concurrent reviewers; the second one sees the first one's status.
        const current = await client.query<Pick<EvolutionRow, 'status' | 'requester_id'>>(
          'SELECT status, requester_id FROM evolutions WHERE id = $1 FOR UPDATE',
          [id],
        );
        const row = current.rows[0];
        if (!row) return { kind: 'not_found' } as const;
        const check = checkTransition(rule, row, actorId);
        if (!check.ok) return check.reason === 'self_review' ? ({ kind: 'self_review' } as const) : ({ kind: 'wrong_status', status: row.status } as const);

        const review = rule.name === 'approved' || rule.name === 'rejected';
        // Conditional on the status as well, so the step stays atomic even without the lock above.
        const { rows } = await client.query<EvolutionRow>(
          `UPDATE evolutions SET
             status = $3,
             updated_at = clock_timestamp(),
             reviewer_id = CASE WHEN $4 THEN $5 ELSE reviewer_id END,
             review_justification = CASE WHEN $4 THEN $6 ELSE review_justification END,
             reviewed_at = CASE WHEN $4 THEN clock_timestamp() ELSE reviewed_at END,
             rolled_back_by = CASE WHEN $4 THEN rolled_back_by ELSE $5 END,
             rollback_reason = CASE WHEN $4 THEN rollback_reason ELSE $6 END,
             rolled_back_at = CASE WHEN $4 THEN rolled_back_at ELSE clock_timestamp() END
           WHERE id = $1 AND status = ANY($2::text[])
           RETURNING ${EVOLUTION_COLUMNS}`,
          [id, rule.from, rule.to, review, actorId, justification],
        );
        if (!rows[0]) return { kind: 'wrong_status', status: row.status } as const;
        const transition = await insertTransition(client, {
          evolutionId: id,
          name: rule.name,
          from: row.status,
          to: rule.to,
          actorId,
          justification,
        });
        return { kind: 'applied', evolution: toEvolution(rows[0]), transition } as const;
      });
    },

    async countPendingReviews() {
      const { rows } = await pool.query<{ count: string }>('SELECT count(*) AS count FROM evolutions WHERE status = ANY($1::text[])', [
        PENDING_REVIEW_STATUSES,
      ]);
      return Number(rows[0]?.count ?? 0);
    },

    async markAuditRecorded(transitionIds) {
      if (transitionIds.length === 0) return;
      await pool.query('UPDATE evolution_transitions SET audit_recorded_at = clock_timestamp() WHERE id = ANY($1::uuid[])', [transitionIds]);
    },

    async unrecordedTransitions(limit) {
      const { rows } = await pool.query<TransitionRow & { evolution: EvolutionRow }>(
        `SELECT t.id, t.evolution_id, t.transition, t.from_status, t.to_status, t.actor_id, t.justification, t.occurred_at,
                row_to_json(e) AS evolution
         FROM evolution_transitions t JOIN evolutions e ON e.id = t.evolution_id
         WHERE t.audit_recorded_at IS NULL ORDER BY t.seq LIMIT $1`,
        [limit],
      );
      return rows.map((row) => ({ transition: toTransition(row), evolution: toEvolution(reviveDates(row.evolution)) }));
    },

    async ping() {
      await pool.query('SELECT 1');
    },
  };
}

/** row_to_json gives timestamps as strings; the mapper expects what pg gives for columns. */
function reviveDates(row: EvolutionRow): EvolutionRow {
  const date = (value: Date | string | null) => (value === null ? null : new Date(value));
  return {
    ...row,
    reviewed_at: date(row.reviewed_at),
    rolled_back_at: date(row.rolled_back_at),
    created_at: date(row.created_at)!,
    updated_at: date(row.updated_at)!,
  };
}
