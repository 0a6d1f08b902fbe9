/**
 * `evolution review <id> approve|reject [reason...]` on the command path every surface uses
 * (executeCommandLine), against the real Evolution Oversight (with the real Policy Engine) on the
 * real PostgreSQL, the real authorization policy with the default rules and the bot's audit trail:
 * approvers decide at once as themselves, everyone else and every bad input is refused with a
 * message that says what to do, and nothing is decided then (the service's transitions prove it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApprovalStore, type ApprovalStore } from '../../bot/approvals/index.js';
import { approvalTestDatabase, type ApprovalTestDatabase } from '../../bot/approvals/testing/fixtures.js';
import { decideOnApproval } from '../../bot/command-path/index.js';
import { parseReviewArguments } from '../../commands/evolution-review.js';
import { executeCommandLine, type ExecutionDeps, type ExecutionOutcome } from '../../bot/command-path/index.js';
import { createCommandRegistry } from '../../commands/index.js';
import { createCommandPathDependencies } from '../../bot/command-path/index.js';
import { createEvolutionOversightClient, type EvolutionOversightClient } from '../../services/clients/evolution-oversight.js';
import type { Evolution } from '../../services/evolution-oversight/contract.js';
import { lowRiskProposal } from '../../services/evolution-oversight/testing/fixtures.js';
import { startEvolutionTestbed, type EvolutionTestbed } from '../../services/evolution-oversight/testing/testbed.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { TEST_SERVICE_TOKEN } from '../testing/tokens.js';

const ONCALL = 'U0ONCALL';
const APPROVER1 = 'U0APPROVER1';
const APPROVER2 = 'U0APPROVER2';
const ADMIN = 'U0ADMIN';
/** The CLI's identity: `cli:<os user>`, a user of the machine, here given an approver role. */
const CLI_USER = 'cli:ops';
const CHANNEL = 'C0ACGSAPPRV';
const ROLES = { oncall: [ONCALL], approvers: [APPROVER1, APPROVER2, CLI_USER], admins: [ADMIN] };

let testbed: EvolutionTestbed;
let client: EvolutionOversightClient;
let evolutionUrl: string;
let trail: TestTrail;
let deps: ExecutionDeps;
let downDeps: ExecutionDeps;
let registry: ReturnType<typeof createCommandRegistry>;

beforeAll(async () => {
  testbed = await startEvolutionTestbed('acgs_review_cmd');
  const url = await testbed.service.app.listen({ host: '127.0.0.1', port: 0 });
  evolutionUrl = url;
  client = createEvolutionOversightClient(url, 10_000, { serviceToken: TEST_SERVICE_TOKEN });
  trail = await openTestTrail({ prefix: 'acgs_review_cmd_trail' });
  const authorization = await testGate({ roles: ROLES });
  const unused = await unusedLoopbackUrl();
  registry = createCommandRegistry();
  const servicesWith = (evolutionUrl: string) => ({
    ...createCommandPathDependencies({ endpoints: { 'policy-engine': unused, 'audit-engine': unused, 'evolution-oversight': evolutionUrl, 'sandbox-controller': unused }, serviceToken: TEST_SERVICE_TOKEN, checkTimeoutMs: 1000, callTimeoutMs: 3000 }),
    authorization,
    trail: trail.trail,
  });
  deps = { registry, services: servicesWith(url) };
  downDeps = { registry, services: servicesWith(unused) };
}, 60_000);

afterAll(async () => {
  await trail?.close();
  await testbed?.close();
});

/** A proposal the real constitution sends to a human: privilege escalation at high priority. */
async function humanReview(overrides: Parameters<typeof lowRiskProposal>[0] = {}): Promise<Evolution> {
  const evolution = await client.propose(lowRiskProposal({ agent_id: 'agent-review', privilege_escalation: true, priority: 'high', requester_id: 'U-AGENT-OWNER', ...overrides }));
  expect(evolution.status).toBe('human_review');
  return evolution;
}

function run(line: string, actor: string, options: { deps?: ExecutionDeps; origin?: 'slash' | 'cli' } = {}): Promise<ExecutionOutcome> {
  return executeCommandLine(options.deps ?? deps, { line, actor: { id: actor }, origin: options.origin ?? 'slash', channelId: CHANNEL });
}

/** Refused with this text, and Evolution Oversight recorded no transition meanwhile. */
async function refusedWithoutDecision(line: string, actor: string, text: string | RegExp, options: { deps?: ExecutionDeps } = {}): Promise<ExecutionOutcome> {
  const before = await testbed.db.counts();
  const outcome = await run(line, actor, options);
  expect(outcome.outcome).toBe('rejected');
  expect(outcome.document.ephemeral).toBe(true);
  expect(outcome.document.summary).toMatch(text);
  expect(await testbed.db.counts()).toEqual(before);
  return outcome;
}

describe('an approver reviews', () => {
  it('approves by the 8-character prefix `evolutions` shows, as themselves, with a default justification saying where', async () => {
    const evolution = await humanReview();
    const outcome = await run(`evolution review ${evolution.id.slice(0, 8)} approve`, APPROVER1);
    expect(outcome.outcome).toBe('ok');
    expect(outcome.document.title).toBe('Evolution approved: agent-review 1.4.1');
    const after = await client.get(evolution.id);
    expect(after.status).toBe('approved');
    expect(after.review).toMatchObject({ decision: 'approved', reviewer_id: APPROVER1, justification: `Approved in Slack by ${APPROVER1} from channel ${CHANNEL}` });
    expect(after.transitions.map((transition) => [transition.transition, transition.actor_id])).toEqual([
      ['created', 'U-AGENT-OWNER'],
      ['approved', APPROVER1],
    ]);
  });

  it('rejects by the full id with the reason typed after the decision', async () => {
    const evolution = await humanReview();
    const outcome = await run(`evolution review ${evolution.id.toUpperCase()} REJECT no rollback drill for "the new tool"`, APPROVER2);
    expect(outcome.outcome).toBe('ok');
    const after = await client.get(evolution.id);
    expect(after.review).toMatchObject({ decision: 'rejected', reviewer_id: APPROVER2, justification: 'no rollback drill for the new tool' });
  });

  it('lets an admin review, and records command, execution and result in the bot\'s trail as Level 2', async () => {
    const evolution = await humanReview();
    const outcome = await run(`evolution review ${evolution.id} approve`, ADMIN);
    expect(outcome.outcome).toBe('ok');
    const { records } = await trail.trail.query({ user: ADMIN, command: 'evolution review', limit: 10 });
    expect(records.map((record) => record.kind).reverse()).toEqual(['command', 'execution', 'result']);
    expect(records.find((record) => record.kind === 'command')).toMatchObject({ decision: 'allow', level: 2, args: { id: evolution.id, decision: 'approve' } });
    expect(records.find((record) => record.kind === 'result')).toMatchObject({ outcome: 'ok' });
  });

  it('reviews a fast-track proposal too, as the service allows', async () => {
    const fast = await client.propose(lowRiskProposal({ agent_id: 'agent-fast', external_dependencies: true, priority: 'medium' }));
    expect(fast.status).toBe('fast_track');
    expect((await run(`evolution review ${fast.id.slice(0, 8)} approve`, APPROVER1)).outcome).toBe('ok');
    expect((await client.get(fast.id)).status).toBe('approved');
  });

});

describe('from the CLI', () => {
  it('refuses every review, even with an approver role, since the CLI\'s identity is not Slack\'s, and decides nothing', async () => {
    // The proposal's requester could otherwise declare themselves an approver and review their own.
    const evolution = await humanReview({ requester_id: APPROVER2 });
    for (const line of [`evolution review ${evolution.id} approve`, `evolution review ${evolution.id.slice(0, 8)} reject looks fine`]) {
      const before = await testbed.db.counts();
      const outcome = await executeCommandLine(deps, { line, actor: { id: CLI_USER }, origin: 'cli' });
      expect(outcome.outcome).toBe('rejected');
      expect(outcome.rejection).toBe('refused');
      expect(outcome.document.summary).toBe(
        'Evolution reviews are not taken from the CLI: its user (`cli:ops`) is a user of this machine, not a Slack user, so Evolution Oversight\'s four-eyes rule could not tell the reviewer from the proposal\'s requester.',
      );
      expect(outcome.document.footer).toContain('Review in Slack or the local console, where the reviewer is the Slack user who clicks or types: `/acgs ' + line + '`');
      expect(await testbed.db.counts()).toEqual(before);
    }
    expect((await client.get(evolution.id)).status).toBe('human_review');
  });
});

describe('who may not review', () => {
  it('refuses the proposal\'s own requester, even an approver, and decides nothing', async () => {
    const evolution = await humanReview({ requester_id: APPROVER2 });
    await refusedWithoutDecision(`evolution review ${evolution.id.slice(0, 8)} approve`, APPROVER2, /You requested evolution .* so you cannot review it: another approver must decide\./);
    expect((await client.get(evolution.id)).status).toBe('human_review');
  });

  it('refuses on-call and people without a role by the policy, naming who may, and never asks the service', async () => {
    const evolution = await humanReview();
    const oncall = await refusedWithoutDecision(`evolution review ${evolution.id.slice(0, 8)} approve`, ONCALL, /"evolution review" is a Level 2 \(human decision\) action that the approvers or admins role may request; your roles: oncall\. Reviewing a proposal is itself the one human decision of Level 2/);
    expect(oncall.decision?.code).toBe('role');
    await refusedWithoutDecision(`evolution review ${evolution.id.slice(0, 8)} reject`, 'U0NOBODY', /you hold no role/);
    expect((await client.get(evolution.id)).status).toBe('human_review');
  });

  it('says who reviewed it and when, when it no longer waits', async () => {
    const evolution = await humanReview();
    await client.reject(evolution.id, { reviewer_id: 'U0ELSEWHERE', justification: 'rejected over the REST API' });
    await refusedWithoutDecision(
      `evolution review ${evolution.id.slice(0, 8)} approve`,
      APPROVER1,
      /is no longer waiting for review: it was rejected by U0ELSEWHERE at \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \("rejected over the REST API"\)\./,
    );
    expect((await client.get(evolution.id)).status).toBe('rejected');
  });

  it('says an automatically approved proposal has nothing to review', async () => {
    const auto = await client.propose(lowRiskProposal({ agent_id: 'agent-auto' }));
    await refusedWithoutDecision(`evolution review ${auto.id} approve`, APPROVER1, /was approved automatically by the policy when it was proposed; there is nothing to review\./);
  });
});

describe('`can evolution review` explains the rule', () => {
  it('tells an approver they review at once and why, and on-call who may', async () => {
    const yes = await run('can evolution review 4f1c2d3e approve', APPROVER1);
    expect(yes.document.title).toBe('Yes: evolution review 4f1c2d3e approve');
    expect(yes.document.summary).toContain('that your role approvers may run at once. Reviewing a proposal is itself the one human decision of Level 2, so the reviewer needs an approver role and no further approval.');
    const no = await run('can evolution review 4f1c2d3e approve', ONCALL);
    expect(no.document.title).toBe('No: evolution review 4f1c2d3e approve');
    expect(no.document.summary).toContain('the approvers or admins role may request');
  });
});

describe('bad input is answered and nothing is decided', () => {
  let waiting: Evolution;
  beforeAll(async () => {
    waiting = await humanReview({ agent_id: 'agent-untouched' });
  });

  const cases: Array<[string, string, RegExp]> = [
    ['no arguments', 'evolution review', /name the proposal and the decision, for example `evolution review 4f1c2d3e approve`/],
    ['no decision', 'evolution review 4f1c2d3e', /say `approve` or `reject` after the id/],
    ['a decision that is not one', 'evolution review 4f1c2d3e aprove', /`aprove` is not a review decision; did you mean `approve`\?: say `approve` or `reject`/],
    ['another word as decision', 'evolution review 4f1c2d3e maybe', /`maybe` is not a review decision: say `approve` or `reject`/],
    ['a short id', 'evolution review 4f1c approve', /`4f1c` is not an evolution id: give the full UUID or its first 8 characters/],
    ['an id that is no hex', 'evolution review zzzzzzzz approve', /`zzzzzzzz` is not an evolution id/],
    ['markup as id', 'evolution review <!channel> approve', /is not an evolution id/],
  ];
  for (const [what, line, message] of cases) {
    it(`refuses ${what}: ${line.slice(0, 60)}`, async () => {
      const outcome = await refusedWithoutDecision(line, APPROVER1, message);
      expect(outcome.rejection).toBe('usage');
      expect(outcome.document.footer).toContain('Usage: `evolution review <id> approve|reject [reason...]`');
      expect((await client.get(waiting.id)).status).toBe('human_review');
    });
  }

  it('refuses a reason longer than the service takes (and any line over the registry\'s 1000 characters)', async () => {
    expect(parseReviewArguments(`4f1c2d3e reject ${'x'.repeat(2001)}`)).toEqual({ ok: false, message: 'the reason may be at most 2000 characters (got 2001)' });
    await refusedWithoutDecision(`evolution review ${waiting.id.slice(0, 8)} reject ${'because '.repeat(130)}`, APPROVER1, /That command line is \d+ characters long; the limit is 1000\./);
  });

  it('refuses an unknown prefix and an unknown full id after looking, saying how to find the ids', async () => {
    const prefix = await refusedWithoutDecision('evolution review 00000000 approve', APPROVER1, 'No evolution id starts with `00000000`.');
    expect(prefix.document.footer).toBe('Type `evolutions` for the proposals waiting for review, with their ids.');
    await refusedWithoutDecision('evolution review 00000000-0000-4000-8000-000000000000 approve', APPROVER1, 'No evolution has the id `00000000-0000-4000-8000-000000000000`.');
  });

  it('refuses an ambiguous prefix, naming the proposals it starts', async () => {
    const source = await humanReview({ agent_id: 'agent-twin' });
    const { rows } = await testbed.db.pool.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'evolutions' AND column_name NOT IN ('id', 'seq')",
    );
    const columns = rows.map((row) => `"${row.column_name}"`).join(', ');
    for (const id of ['abcdef01-0000-4000-8000-000000000001', 'abcdef01-0000-4000-8000-000000000002']) {
      await testbed.db.pool.query(`INSERT INTO evolutions (id, ${columns}) SELECT $2, ${columns} FROM evolutions WHERE id = $1`, [source.id, id]);
    }
    const outcome = await refusedWithoutDecision('evolution review abcdef01 approve', APPROVER1, /`abcdef01` starts 2 evolution ids: `abcdef01-0000-4000-8000-000000000001` \(agent-twin → 1\.4\.1, human_review\), `abcdef01-0000-4000-8000-000000000002` .* Nothing was decided\./);
    expect(outcome.document.footer).toBe('Give more of the id, or the full UUID.');
    expect((await run('evolution review abcdef01-0000-4000-8000-000000000002 reject', APPROVER1)).outcome).toBe('ok');
  });

  it('refuses a review when this bot holds no service token, decides nothing, and says which token to set', async () => {
    const evolution = await humanReview();
    const tokenless: ExecutionDeps = { registry, services: { ...deps.services, evolutionOversight: createEvolutionOversightClient(evolutionUrl, 3000) } };
    const outcome = await refusedWithoutDecision(`evolution review ${evolution.id} approve`, APPROVER1, /^The Evolution Oversight refused to write without the stack's service token: .*SERVICE_TOKEN.*the request carried none/, { deps: tokenless });
    expect(outcome.rejection).toBe('unavailable');
    expect(JSON.stringify(outcome.document)).toContain('ACGS_SERVICE_TOKEN');
    expect((await client.get(evolution.id)).status).toBe('human_review');
  });

  it('says Evolution Oversight does not answer when it is down, and what to try', async () => {
    const outcome = await run('evolution review 4f1c2d3e approve', APPROVER1, { deps: downDeps });
    expect(outcome.outcome).toBe('rejected');
    expect(outcome.rejection).toBe('unavailable');
    expect(outcome.document.summary).toMatch(/^The Evolution Oversight at http:\/\/127\.0\.0\.1:\d+ does not answer/);
  });
});

/** A copy of a proposal under an id of the test's choosing, as Evolution Oversight would store it. */
async function twinOf(source: Evolution, id: string, status = source.status): Promise<void> {
  const { rows } = await testbed.db.pool.query<{ column_name: string }>(
    "SELECT column_name FROM information_schema.columns WHERE table_name = 'evolutions' AND column_name NOT IN ('id', 'seq', 'status')",
  );
  const columns = rows.map((row) => `"${row.column_name}"`).join(', ');
  await testbed.db.pool.query(`INSERT INTO evolutions (id, status, ${columns}) SELECT $2, $3, ${columns} FROM evolutions WHERE id = $1`, [source.id, id, status]);
}

describe('when the rules ask for an approval of a review (a stricter configuration)', () => {
  let approvalsDb: ApprovalTestDatabase;
  let approvals: ApprovalStore;
  let strict: ExecutionDeps;

  beforeAll(async () => {
    approvalsDb = await approvalTestDatabase();
    approvals = createApprovalStore({ pool: approvalsDb.pool(2) });
    const authorization = await testGate({
      roles: ROLES,
      overrides: { commands: { 'evolution review': { level: 2, requesters: ['approvers', 'admins'], approvals: 1, approver_roles: ['approvers', 'admins'] } } },
    });
    strict = { registry, services: { ...deps.services, authorization, approvals } };
  });
  afterAll(async () => {
    await approvalsDb?.close();
  });

  it('asks for the full UUID instead of binding an approval to a prefix, and requests nothing', async () => {
    const evolution = await humanReview({ agent_id: 'agent-strict-prefix' });
    const outcome = await run(`evolution review ${evolution.id.slice(0, 8)} approve`, APPROVER1, { deps: strict });
    expect(outcome.outcome).toBe('rejected');
    expect(outcome.approval).toBeUndefined();
    expect(outcome.document.summary).toBe(
      `Under these rules a review needs an approval, and an approval must name one proposal for good: give the full id, \`evolution review ${evolution.id} approve\`.`,
    );
    expect((await approvals.pending()).filter((request) => request.action.command === 'evolution review')).toEqual([]);
    expect((await client.get(evolution.id)).status).toBe('human_review');
  });

  it('binds the request to the full UUID, and runs it as the requester once approved', async () => {
    const evolution = await humanReview({ agent_id: 'agent-strict-full' });
    const requested = await run(`evolution review ${evolution.id} approve`, APPROVER1, { deps: strict });
    expect(requested.outcome).toBe('warn');
    expect(requested.approval?.action).toMatchObject({
      line: `evolution review ${evolution.id} approve`,
      args: { id: evolution.id, decision: 'approve' },
      target: `evolution ${evolution.id}`,
      stateFingerprint: `evolution ${evolution.id} is human_review`,
    });
    expect((await client.get(evolution.id)).status).toBe('human_review');
    const approved = await decideOnApproval(strict, { id: requested.approval!.id, choice: 'approve', actor: { id: APPROVER2 }, channelId: CHANNEL });
    expect(approved.code).toBe('executed');
    expect(await client.get(evolution.id)).toMatchObject({ status: 'approved', review: { reviewer_id: APPROVER1 } });
  });

  it('decides nothing for a request bound to a prefix (as made before), even when the prefix now names another proposal', async () => {
    const source = await humanReview({ agent_id: 'agent-strict-twin' });
    const decided = 'feedbeef-0000-4000-8000-000000000001';
    const other = 'feedbeef-0000-4000-8000-000000000002';
    await twinOf(source, decided, 'rejected');
    await twinOf(source, other);
    const created = await approvals.create({
      action: { command: 'evolution review', args: { id: 'feedbeef', decision: 'approve' }, line: 'evolution review feedbeef approve', target: `evolution ${decided}`, stateFingerprint: 'evolution feedbeef is human_review' },
      requester: APPROVER1,
      level: 2,
      approvalsRequired: 1,
      approverRoles: ['approvers', 'admins'],
    });
    const before = await testbed.db.counts();
    const approved = await decideOnApproval(strict, { id: created.request!.id, choice: 'approve', actor: { id: APPROVER2 }, channelId: CHANNEL });
    expect(approved.code).toBe('superseded');
    expect(await testbed.db.counts()).toEqual(before);
    expect((await client.get(other)).status).toBe('human_review');
  });
});
