/**
 * How an approval request is stored: one `approval_requests` row plus its `approval_votes` rows,
 * read together and mapped to the plain `ApprovalRequest` of model.ts.
 */
import type { ApprovalMessageRef, ApprovalRequest, ApprovalState, ApprovalVote, VoteChoice } from './model.js';

// Votes come along as one JSON array, in the order they were counted, so that every read is one
// round trip. In a WITH ... UPDATE, this subquery sees the votes as they were before the
// statement, which is all of them: no UPDATE here touches votes.
export const REQUEST_COLUMNS = `r.*, coalesce((
    SELECT json_agg(json_build_object('voter', v.voter, 'roles', v.roles, 'vote', v.vote, 'at', v.voted_at) ORDER BY v.sequence)
    FROM approval_votes v WHERE v.request_id = r.id
  ), '[]'::json) AS votes`;

export interface RequestRow {
  id: string;
  command: string;
  args: Record<string, unknown>;
  line: string;
  target: string | null;
  state_fingerprint: string;
  plan: string[] | null;
  requester: string;
  messages: ApprovalMessageRef[];
  level: number;
  approvals_required: number;
  approver_roles: string[];
  distinct_approvers: boolean;
  reason: string | null;
  break_glass: boolean;
  created_at: Date;
  expires_at: Date;
  state: ApprovalState;
  state_changed_at: Date;
  ended_by: string | null;
  ended_reason: string | null;
  result: unknown;
  votes: Array<{ voter: string; roles: string[]; vote: VoteChoice; at: string }>;
}

export function toRequest(row: RequestRow): ApprovalRequest {
  const votes: ApprovalVote[] = row.votes.map((vote) => ({ voter: vote.voter, roles: vote.roles, vote: vote.vote, at: new Date(vote.at) }));
  return {
    id: row.id,
    action: {
      command: row.command,
      args: row.args,
      line: row.line,
      ...(row.target !== null ? { target: row.target } : {}),
      stateFingerprint: row.state_fingerprint,
      ...(row.plan !== null ? { plan: row.plan } : {}),
    },
    requester: row.requester,
    messages: row.messages,
    level: row.level as ApprovalRequest['level'],
    approvalsRequired: row.approvals_required,
    approverRoles: row.approver_roles,
    distinctApprovers: row.distinct_approvers,
    approvedBy: votes.filter((vote) => vote.vote === 'approve').map((vote) => vote.voter),
    ...(row.reason !== null ? { reason: row.reason } : {}),
    breakGlass: row.break_glass,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    state: row.state,
    stateChangedAt: row.state_changed_at,
    ...(row.ended_by !== null ? { endedBy: row.ended_by } : {}),
    ...(row.ended_reason !== null ? { endedReason: row.ended_reason } : {}),
    votes,
    ...(row.result !== null ? { result: row.result } : {}),
  };
}
