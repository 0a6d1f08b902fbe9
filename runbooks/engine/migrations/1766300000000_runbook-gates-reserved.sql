-- Up Migration

-- A gate keeps its request's id before the request exists (gate-approvals.ts reserves it, then
-- asks the approvals with it), so a runner killed in between leaves the id to the next runner,
-- which asks with the same id: one request, however often the gate is taken over. `replaces`
-- is the request a row follows ('' for a gate's first), and it is unique per gate: runners that
-- race to ask again after a denial reserve one row between them, and so one request.
ALTER TABLE runbook_gates ADD COLUMN replaces text NOT NULL DEFAULT '';

-- Rows kept before this column existed: each follows the one opened before it.
UPDATE runbook_gates AS gate
   SET replaces = earlier.previous
  FROM (SELECT run_id, step_id, request_id,
               coalesce(lag(request_id) OVER (PARTITION BY run_id, step_id ORDER BY opened_at, request_id), '') AS previous
          FROM runbook_gates) AS earlier
 WHERE (gate.run_id, gate.step_id, gate.request_id) = (earlier.run_id, earlier.step_id, earlier.request_id);

CREATE UNIQUE INDEX runbook_gates_one_per_round ON runbook_gates (run_id, step_id, replaces);
