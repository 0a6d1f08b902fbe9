/**
 * The authorizer through the real, committed policy.wasm: every rule of acgs.chatops with the
 * default data and with changed data, the fallback when the policy cannot load or evaluate,
 * the same decisions as OPA itself (`opa eval`), and the registry agreeing with the rules.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allCommands } from '../../commands/index.js';
import { Authorizer } from './policy-authorizer.js';
import { type AuthorizationData, authorizationDataFor, defaultAuthorizationData } from './data.js';
import { type AuthorizationDecision, type AuthorizationInput, authorizationLevelOf, buildAuthorizationInput } from './input.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NOW = new Date('2026-03-02T10:00:00Z');
const FREEZE = { from: '2026-03-01T00:00:00Z', to: '2026-03-03T00:00:00Z', reason: 'quarter-end release', levels: [2, 3] };

let authorizer: Authorizer;
const scratch = mkdtempSync(join(tmpdir(), 'acgs-authorizer-test-'));

beforeAll(async () => {
  authorizer = await Authorizer.load({ data: defaultAuthorizationData() });
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function request(roles: string[], name: string, extra: Partial<AuthorizationInput> = {}): AuthorizationInput {
  return {
    user: { id: 'U0REQUEST', roles },
    command: { name, args: {}, level: 0 },
    channel: { id: 'C0OPS', purpose: 'ops' },
    modes: { strict: false, lockdown: false },
    time: NOW.getTime() * 1e6,
    ...extra,
  };
}

const nothingToApprove = { approvals_required: 0, approver_roles: [], distinct_approvers: false, break_glass: false };

async function authorizerWith(overrides: Parameters<typeof authorizationDataFor>[0]): Promise<Authorizer> {
  const loaded = await Authorizer.load({ data: authorizationDataFor(overrides) });
  expect(loaded.status.ok).toBe(true);
  return loaded;
}

describe('the committed policy with the default rules', () => {
  it('loads and names its version', () => {
    expect(authorizer.status).toEqual({ ok: true, version: expect.stringMatching(/^[0-9a-f]{12}$/) });
  });

  it('lets anyone, even without a role, run a read-only command', () => {
    expect(authorizer.decide(request([], 'health'))).toEqual({
      allow: true,
      code: 'allowed',
      reason: '"health" is a read-only command; everyone may run it.',
      level: 0,
      ...nothingToApprove,
    });
  });

  it('lets on-call run a Level 1 action at once and refuses it to someone without a role', () => {
    expect(authorizer.decide(request(['oncall'], 'restart'))).toEqual({
      allow: true,
      code: 'allowed',
      reason: '"restart" is a Level 1 (automatic) action that your role oncall may run at once.',
      level: 1,
      ...nothingToApprove,
    });
    expect(authorizer.decide(request([], 'cache warm'))).toEqual({
      allow: false,
      code: 'role',
      reason: '"cache warm" is a Level 1 (automatic) action that the oncall or admins role may request; you hold no role.',
      level: 1,
      ...nothingToApprove,
    });
  });

  it('asks one approver for a Level 2 action and two different ones for Levels 3 and 4', () => {
    expect(authorizer.decide(request(['oncall'], 'scale'))).toEqual({
      allow: true,
      code: 'approval_required',
      reason: '"scale" is a Level 2 (human decision) action: you may request it, and it runs after 1 approval by someone holding the approvers or admins role, not you.',
      level: 2,
      approvals_required: 1,
      approver_roles: ['approvers', 'admins'],
      distinct_approvers: true,
      break_glass: false,
    });
    for (const [name, level] of [['redis flush', 3], ['lockdown lift', 3], ['lockdown', 4]] as const) {
      expect(authorizer.decide(request(['oncall'], name))).toMatchObject({ allow: true, code: 'approval_required', level, approvals_required: 2, approver_roles: ['approvers', 'admins'], distinct_approvers: true });
    }
    for (const name of ['cache clear', 'strict-mode', 'db kill-idle']) {
      expect(authorizer.decide(request(['oncall'], name))).toMatchObject({ code: 'approval_required', level: 2, approvals_required: 1 });
    }
    // The reviewer is the Level 2 human decision: approvers review at once, on-call may not.
    expect(authorizer.decide(request(['approvers'], 'evolution review'))).toMatchObject({ allow: true, code: 'allowed', level: 2, approvals_required: 0, reason: expect.stringContaining('Reviewing a proposal is itself the one human decision of Level 2') });
    expect(authorizer.decide(request(['oncall'], 'evolution review'))).toMatchObject({ allow: false, code: 'role', level: 2 });
  });

  it('refuses a command the rules do not know, at the level the registry claims', () => {
    expect(authorizer.decide(request(['admins'], 'canary', { command: { name: 'canary', args: {}, level: 2 } }))).toEqual({
      allow: false,
      code: 'unknown_command',
      reason: '"canary" is not a command the authorization policy knows, so it is refused; an administrator can give it a level under authorization.commands in the bot\'s config file.',
      level: 2,
      ...nothingToApprove,
    });
  });

  it('refuses a request without a user', () => {
    expect(authorizer.decide(request([], 'health', { user: { id: '', roles: [] } }))).toMatchObject({ allow: false, code: 'bad_input', level: 0 });
  });

  it('in lockdown keeps read-only commands and lockdown lift, and refuses everything else', () => {
    const lockdown = { modes: { strict: false, lockdown: true } };
    expect(authorizer.decide(request([], 'metrics', lockdown))).toMatchObject({ allow: true, code: 'allowed' });
    expect(authorizer.decide(request(['oncall'], 'lockdown lift', lockdown))).toMatchObject({ allow: true, code: 'approval_required', approvals_required: 2 });
    expect(authorizer.decide(request(['admins'], 'restart', lockdown))).toEqual({
      allow: false,
      code: 'lockdown',
      reason: 'The stack is in emergency lockdown: only read-only commands and lockdown lift, alerts ack, alerts snooze, alerts resolve, incident declare, incident update, incident note, incident commander, incident role, incident severity, incident type, incident resolve, incident close, incident action, checklist tick and checklist untick may be requested until it is lifted, so "restart" is refused.',
      level: 1,
      ...nothingToApprove,
    });
  });

  it('lets an admin break glass on a Level 4 action with a reason, and refuses every other break-glass', () => {
    const glass = (reason: string) => ({ break_glass: { reason } });
    expect(authorizer.decide(request(['admins'], 'lockdown', glass('violations at 40 per minute')))).toEqual({
      allow: true,
      code: 'break_glass',
      reason: 'Break-glass: "lockdown" is a Level 4 (emergency) action and runs at once without approvals because your role admins may break glass; it is flagged for review.',
      level: 4,
      approvals_required: 0,
      approver_roles: [],
      distinct_approvers: false,
      break_glass: true,
    });
    expect(authorizer.decide(request(['oncall'], 'lockdown', glass('violations at 40 per minute')))).toMatchObject({ allow: false, code: 'break_glass_role', break_glass: false });
    expect(authorizer.decide(request(['admins'], 'redis flush', glass('memory is at 99 percent')))).toMatchObject({ allow: false, code: 'break_glass_level', level: 3 });
    expect(authorizer.decide(request(['admins'], 'lockdown', glass('  now  ')))).toEqual({
      allow: false,
      code: 'break_glass_reason',
      reason: 'Break-glass needs a reason of at least 10 characters saying why "lockdown" cannot wait for approvals.',
      level: 4,
      ...nothingToApprove,
    });
  });

  it('gives the same decisions as the registry-built input of a real command', () => {
    const scale = allCommands.find((command) => command.name === 'scale')!;
    const input = buildAuthorizationInput({
      userId: 'U0ONCALL',
      roles: ['oncall'],
      command: scale,
      args: { service: 'policy-engine', replicas: 2 },
      channelId: 'C0ACGSAPPRV',
      channels: { ops: 'C0ACGSOPS01', approvals: 'C0ACGSAPPRV' },
      modes: { strict: false, lockdown: false },
      now: NOW,
    });
    expect(input).toEqual({
      user: { id: 'U0ONCALL', roles: ['oncall'] },
      command: { name: 'scale', args: { service: 'policy-engine', replicas: 2 }, level: 2 },
      channel: { id: 'C0ACGSAPPRV', purpose: 'approvals' },
      modes: { strict: false, lockdown: false },
      time: NOW.getTime() * 1e6,
    });
    expect(authorizer.decide(input)).toMatchObject({ allow: true, code: 'approval_required', approvals_required: 1 });
  });
});

describe('rules changed through data', () => {
  it('a strict-mode patch makes a Level 1 action wait for an approval, only in strict mode', async () => {
    const strict = await authorizerWith({ strict: { levels: { '1': { approvals: 1, approver_roles: ['approvers'], distinct_approvers: true } } } });
    expect(strict.decide(request(['oncall'], 'restart', { modes: { strict: true, lockdown: false } }))).toEqual({
      allow: true,
      code: 'approval_required',
      reason: '"restart" is a Level 1 (automatic) action: you may request it, and it runs after 1 approval by someone holding the approvers role, not you (strict mode is on).',
      level: 1,
      approvals_required: 1,
      approver_roles: ['approvers'],
      distinct_approvers: true,
      break_glass: false,
    });
    expect(strict.decide(request(['oncall'], 'restart'))).toMatchObject({ code: 'allowed' });
  });

  it('a command can change level and approvals, and a read-only command can be closed to people without a role', async () => {
    const changed = await authorizerWith({
      commands: { restart: { level: 2, approvals: 2 }, logs: { level: 0, everyone: false, requesters: ['oncall'] } },
    });
    expect(changed.decide(request(['oncall'], 'restart'))).toMatchObject({ code: 'approval_required', level: 2, approvals_required: 2 });
    expect(changed.decide(request([], 'logs'))).toMatchObject({ allow: false, code: 'role', level: 0 });
    expect(changed.decide(request(['oncall'], 'logs'))).toMatchObject({ allow: true, code: 'allowed' });
  });

  it('a level can be requested by other roles and need more approvals', async () => {
    const changed = await authorizerWith({ levels: { '2': { requesters: ['approvers'], approvals: 3 } } });
    expect(changed.decide(request(['approvers'], 'scale'))).toMatchObject({ code: 'approval_required', approvals_required: 3, approver_roles: ['approvers', 'admins'] });
    expect(changed.decide(request(['oncall'], 'scale'))).toMatchObject({ allow: false, code: 'role' });
  });

  it('changes may be restricted to the ops channel; reads and the CLI are not', async () => {
    const opsOnly = await authorizerWith({ channels: { changes_only_in: ['ops'] } });
    expect(opsOnly.decide(request(['oncall'], 'restart', { channel: { id: 'C0ALERTS', purpose: 'alerts' } }))).toEqual({
      allow: false,
      code: 'channel',
      reason: '"restart" is a Level 1 (automatic) action and may only be requested in the channel configured as ops; type it there.',
      level: 1,
      ...nothingToApprove,
    });
    expect(opsOnly.decide(request(['oncall'], 'restart'))).toMatchObject({ code: 'allowed' });
    expect(opsOnly.decide(request([], 'health', { channel: { id: 'C0ALERTS', purpose: 'alerts' } }))).toMatchObject({ code: 'allowed' });
    const { channel: _cli, ...fromCli } = request(['oncall'], 'restart');
    expect(opsOnly.decide(fromCli)).toMatchObject({ code: 'allowed' });
  });

  it('a change freeze refuses the levels it names during its window, with the time as nanoseconds or RFC 3339', async () => {
    const frozen = await authorizerWith({ freezes: [FREEZE] });
    expect(frozen.decide(request(['oncall'], 'scale'))).toEqual({
      allow: false,
      code: 'change_freeze',
      reason: 'Changes are frozen until 2026-03-03T00:00:00Z (quarter-end release): "scale" is a Level 2 (human decision) action and is refused; read-only commands still work.',
      level: 2,
      ...nothingToApprove,
    });
    expect(frozen.decide(request(['oncall'], 'scale', { time: '2026-03-02T12:00:00.123456789+02:00' }))).toMatchObject({ code: 'change_freeze' });
    expect(frozen.decide(request(['oncall'], 'scale', { time: '2026-03-03T00:00:00Z' }))).toMatchObject({ code: 'approval_required' });
    expect(frozen.decide(request(['oncall'], 'restart'))).toMatchObject({ code: 'allowed' });
    expect(frozen.decide(request(['oncall'], 'scale', { time: 'next tuesday' }))).toMatchObject({ allow: false, code: 'time_unknown' });
    expect(frozen.decide(request(['oncall'], 'scale', { time: '2026-02-30T10:00:00Z' }))).toMatchObject({ allow: false, code: 'time_unknown' });
  });
});

describe('fail closed: the fallback decision', () => {
  async function expectFallback(loaded: Authorizer, problem: RegExp): Promise<void> {
    expect(loaded.status).toEqual({ ok: false, problem: expect.stringMatching(problem) });
    const read = loaded.decide(request([], 'health'));
    expect(read).toMatchObject({ allow: true, code: 'policy_unavailable', level: 0, approvals_required: 0 });
    expect(read.reason).toMatch(/^The authorization policy is unavailable \(.+\); "health" is read-only, and read-only commands still run\.$/);
    const escalated = loaded.decide(request(['admins'], 'restart', { command: { name: 'restart', args: {}, level: 1 } }));
    expect(escalated).toMatchObject({ allow: false, code: 'policy_unavailable', level: 1, approvals_required: 0, break_glass: false });
    expect(escalated.reason).toMatch(/so "restart" is refused: commands that change the stack fail closed until it works again\. Read-only commands still run\.$/);
    // Even a break-glass by an admin is refused while the policy cannot decide.
    expect(loaded.decide(request(['admins'], 'lockdown', { command: { name: 'lockdown', args: {}, level: 4 }, break_glass: { reason: 'violations at 40 per minute' } }))).toMatchObject({ allow: false, code: 'policy_unavailable' });
  }

  it('a file that is not wasm gives the fallback and names the file', async () => {
    const broken = join(scratch, 'broken.wasm');
    writeFileSync(broken, 'this is not a wasm module');
    const problems: string[] = [];
    const loaded = await Authorizer.load({ data: defaultAuthorizationData(), wasmPath: broken, onProblem: (problem) => problems.push(problem) });
    await expectFallback(loaded, /broken\.wasm is not a loadable OPA wasm module/);
    expect(problems).toHaveLength(1);
  });

  it('a missing wasm file gives the fallback', async () => {
    await expectFallback(await Authorizer.load({ data: defaultAuthorizationData(), wasmPath: join(scratch, 'missing.wasm') }), /cannot read .*missing\.wasm: ENOENT/);
  });

  it("another policy's wasm (the constitution) gives the fallback: it lacks the entrypoint", async () => {
    await expectFallback(await Authorizer.load({ data: defaultAuthorizationData(), wasmPath: join(ROOT, 'services/policy-engine/policy.wasm') }), /lacks the entrypoint acgs\/chatops\/decision/);
  });

  it('rules that are not valid data give the fallback and name the key', async () => {
    const bad = defaultAuthorizationData() as unknown as { levels: Record<string, unknown> };
    bad.levels['2'] = { everyone: false, requesters: ['oncall'], approvals: 'one' };
    await expectFallback(await Authorizer.load({ data: bad }), /its rules are invalid \(authorization\.levels\.2\.approvals: must be a whole number of approvals/);
  });

  it('an input the policy cannot evaluate gives the fallback for that decision only, and the problem is told once', async () => {
    const problems: string[] = [];
    const loaded = await Authorizer.load({ data: defaultAuthorizationData(), onProblem: (problem) => problems.push(problem) });
    // A BigInt cannot be serialised for the wasm: the evaluation itself fails.
    const unserialisable = { ...request(['admins'], 'restart', { command: { name: 'restart', args: {}, level: 1 } }), time: 10n } as unknown as AuthorizationInput;
    const decision = loaded.decide(unserialisable);
    expect(decision).toMatchObject({ allow: false, code: 'policy_unavailable', level: 1 });
    expect(decision.reason).toMatch(/it could not be evaluated: .*BigInt/);
    expect(loaded.decide(unserialisable)).toMatchObject({ allow: false, code: 'policy_unavailable' });
    expect(problems).toHaveLength(1);
    expect(loaded.decide(request(['oncall'], 'restart'))).toMatchObject({ allow: true, code: 'allowed' });
  });

  it('refuses a command the registry calls read-only when the rules give it a higher level', async () => {
    const loaded = await Authorizer.load({ data: defaultAuthorizationData(), wasmPath: join(scratch, 'missing.wasm') });
    expect(loaded.decide(request([], 'lockdown', { command: { name: 'lockdown', args: {}, level: 0 } }))).toMatchObject({ allow: false, level: 4 });
  });
});

describe('the wasm decides as OPA does', () => {
  it('gives the same decisions as opa eval over the Rego for a mix of requests', async () => {
    const data: AuthorizationData = authorizationDataFor({ freezes: [FREEZE], channels: { changes_only_in: ['ops'] } });
    const cases: AuthorizationInput[] = [];
    for (const name of ['health', 'restart', 'scale', 'redis flush', 'lockdown', 'lockdown lift', 'nope']) {
      for (const roles of [[], ['oncall'], ['admins'], ['approvers']]) {
        cases.push(request(roles, name));
        cases.push(request(roles, name, { modes: { strict: true, lockdown: true }, time: '2026-03-04T00:00:00Z' }));
        cases.push(request(roles, name, { channel: { id: 'C0ALERTS', purpose: 'alerts' }, time: 'not a time', break_glass: { reason: 'the stack is on fire' } }));
      }
    }
    const casesFile = join(scratch, 'cases.json');
    const dataFile = join(scratch, 'data.json');
    writeFileSync(casesFile, JSON.stringify(cases));
    writeFileSync(dataFile, JSON.stringify(data));
    const { stdout } = await promisify(execFile)(
      'opa',
      ['eval', '--format', 'json', '-d', 'bot/authorization/policy', '-d', `authorization:${dataFile}`, '-d', `cases:${casesFile}`, '[d | some c in data.cases; d := data.acgs.chatops.decision with input as c]'],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
    );
    const fromOpa = JSON.parse(stdout).result[0].expressions[0].value as AuthorizationDecision[];
    const wasm = await Authorizer.load({ data });
    expect(fromOpa).toHaveLength(cases.length);
    expect(cases.map((input) => wasm.decide(input))).toEqual(fromOpa);
  });
});

describe('the registry and the rules', () => {
  it('every registered command has a rule, at the level the registry declares', () => {
    const rules = defaultAuthorizationData().commands;
    const mismatches = allCommands
      .filter((command) => rules[command.name]?.level !== authorizationLevelOf(command.level))
      .map((command) => `${command.name}: registry ${command.level}, rules ${rules[command.name]?.level ?? 'none'}`);
    expect(mismatches).toEqual([]);
  });
});
