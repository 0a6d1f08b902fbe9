/**
 * The command path with its guards, through the real Bolt HTTP receiver and the Slack stand-in:
 * the acgs.chatops policy decides every command (real wasm, default rules plus two fixture
 * commands), the bot's audit trail records it on the real PostgreSQL, and an escalated command
 * runs only once its execution record is in the chain.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { TrailRecord } from '../../bot/audit-trail/index.js';
import { audit } from '../../commands/audit.js';
import { auditVerify } from '../../commands/audit-verify.js';
import { can } from '../../commands/can.js';
import { defineCommand, type CommandDefinition } from '../../commands/command.js';
import { policyEngineModes } from '../../bot/command-path/index.js';
import { createCommandPathDependencies, type CommandPathDependencies } from '../../bot/command-path/index.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { startPostgresProxy } from '../testing/postgres-proxy.js';
import { blockText, fixtureRegistry, ONCALL, OPS, type RunLog, startBotWithStandIn, type BotUnderTest } from '../testing/slack-harness.js';

/** A person of the stand-in's workspace who holds no role in these rules. */
const NOBODY = 'U0APPROVER2';
const ROLES = { oncall: [ONCALL], approvers: ['U0APPROVER1'] };
/** Two fixture commands the rules must know, as any new command must be given a level. */
const RULES = { commands: { poke: { level: 1 as const }, resize: { level: 2 as const } } };

function pathRegistry(log: RunLog) {
  const poke = defineCommand({
    name: 'poke',
    summary: 'A Level 1 change (fixture)',
    usage: '<target> [--token T]',
    examples: ['poke alpha'],
    level: 1,
    positionals: ['target'],
    flags: { token: { type: 'string', description: 'a secret that must never reach the trail' } },
    args: z.object({ target: z.string(), token: z.string().optional() }),
    async run(_context, { target }) {
      log.runs.push('poke');
      return { title: `Poked ${target}`, tone: 'ok', blocks: [] };
    },
  });
  const resize = defineCommand({
    name: 'resize',
    summary: 'A Level 2 change (fixture)',
    examples: ['resize'],
    level: 2,
    args: z.object({}),
    async run() {
      log.runs.push('resize');
      return { title: 'Resized', tone: 'ok', blocks: [] };
    },
  });
  return fixtureRegistry(log, [poke, resize, can, audit, auditVerify] as CommandDefinition[]);
}

async function servicesWith(access: Partial<Pick<CommandPathDependencies, 'authorization' | 'trail'>>): Promise<CommandPathDependencies> {
  const unused = await unusedLoopbackUrl();
  return {
    ...createCommandPathDependencies({ endpoints: { 'policy-engine': unused, 'audit-engine': unused, 'evolution-oversight': unused, 'sandbox-controller': unused }, checkTimeoutMs: 500 }),
    ...access,
  };
}

let t: BotUnderTest;
let trail: TestTrail;

beforeAll(async () => {
  trail = await openTestTrail({ prefix: 'acgs_cmd_path' });
  const authorization = await testGate({ roles: ROLES, overrides: RULES });
  t = await startBotWithStandIn({
    mode: 'http',
    registry: pathRegistry,
    workspace: { channels: [{ id: OPS, name: 'acgs-ops' }] },
    botOverrides: { services: await servicesWith({ authorization, trail: trail.trail }) },
  });
}, 30_000);

afterAll(async () => {
  await t?.close();
  await trail?.close();
});

/** Types a line as `user` and waits for the answer that contains `text` (ephemeral to them or in the channel). */
async function type(user: string, line: string, text: string, bot: BotUnderTest = t) {
  await bot.standIn.slashCommand({ userId: user, channelId: OPS, text: line });
  const answer = await bot.standIn.waitFor(
    () => bot.standIn.messages(OPS, { includeEphemeralFor: user }).find((message) => blockText(message.blocks).includes(text)),
    8000,
    `the answer to ${line}`,
  );
  return blockText(answer.blocks);
}

/** The records of the one execution whose command record matches, oldest first. */
async function recordsOf(command: string, actor: string): Promise<TrailRecord[]> {
  const { records } = await trail.trail.query({ command, user: actor, limit: 50 });
  const newestCommand = records.find((record) => record.kind === 'command');
  const id = (newestCommand?.details as { execution_id?: string } | null)?.execution_id;
  return records.filter((record) => (record.details as { execution_id?: string } | null)?.execution_id === id).reverse();
}

describe('decided by the policy and recorded in the trail', () => {
  it('refuses a command the person has no role for, runs nothing, and records the command with the decision', async () => {
    const before = t.log.count('poke');
    const text = await type(NOBODY, 'poke alpha', 'poke: refused');
    expect(text).toContain('"poke" is a Level 1 (automatic) action that the oncall or admins role may request; you hold no role.');
    expect(t.log.count('poke')).toBe(before);
    const records = await recordsOf('poke', NOBODY);
    expect(records.map((record) => [record.kind, record.decision, record.level])).toEqual([['command', 'deny', 1]]);
    expect(records[0]).toMatchObject({ actor: NOBODY, origin: 'slash', channel: OPS, args: { target: 'alpha' } });
    expect(records[0]!.details).toMatchObject({ code: 'role', roles: [] });
  });

  it('runs an allowed read-only command and records the command and its result', async () => {
    const before = t.log.count('status');
    await type(ONCALL, 'status', 'All is well');
    expect(t.log.count('status')).toBe(before + 1);
    // A read-only command answers without waiting for its records: they arrive just after.
    await expect.poll(async () => (await recordsOf('status', ONCALL)).length).toBe(2);
    const records = await recordsOf('status', ONCALL);
    expect(records.map((record) => [record.kind, record.decision, record.outcome])).toEqual([
      ['command', 'allow', null],
      ['result', 'allow', 'ok'],
    ]);
    expect((records[1]!.details as { duration_ms: number }).duration_ms).toBeGreaterThanOrEqual(0);
  });

  it('runs an allowed escalated command only after its execution record, with the secret argument redacted', async () => {
    const before = t.log.count('poke');
    await type(ONCALL, 'poke alpha --token xoxb-1234-5678-abcdefghijkl', 'Poked alpha');
    expect(t.log.count('poke')).toBe(before + 1);
    const records = await recordsOf('poke', ONCALL);
    expect(records.map((record) => [record.kind, record.decision, record.level, record.outcome])).toEqual([
      ['command', 'allow', 1, null],
      ['execution', 'allow', 1, null],
      ['result', 'allow', 1, 'ok'],
    ]);
    expect(JSON.stringify(records)).not.toContain('xoxb-1234');
    expect(records[1]!.sequence).toBeLessThan(records[2]!.sequence);
  });

  it('refuses a command that needs an approval when the process has no approval store, says who must approve, and records it as waiting', async () => {
    const before = t.log.count('resize');
    const text = await type(ONCALL, 'resize', 'resize: refused');
    expect(text).toContain('`resize` needs 1 approval from someone holding `approvers` or `admins` (not you). The approval store is not set up in this process, so it cannot be requested; nothing was run.');
    expect(t.log.count('resize')).toBe(before);
    const records = await recordsOf('resize', ONCALL);
    expect(records.map((record) => [record.kind, record.decision, record.level])).toEqual([['command', 'needs_approval', 2]]);
  });

  it('shows the trail to /acgs audit, filtered by person and command', async () => {
    const text = await type(ONCALL, `audit --user ${ONCALL} --command poke`, 'newest first');
    expect(text).toMatch(/3 records, newest first \(by U0ONCALL, command poke\)/);
    expect(text).toContain('result (L1)');
    expect(text).toContain('execution (L1)');
    const refused = await type(ONCALL, 'audit --since yesterday', 'Invalid arguments for `audit`');
    expect(refused).toContain('since: must be a time span such as 30m');
  });

  it('checks the bot trail with /acgs audit verify beside the Audit Engine, naming what it could not reach', async () => {
    const text = await type(ONCALL, 'audit verify', 'Audit chains need attention').catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; messages: ${t.standIn.messages(OPS, { includeEphemeralFor: ONCALL }).slice(-2).map((message) => blockText(message.blocks)).join(' | ')}`);
    });
    expect(text).toContain("Bot's audit trail intact");
    expect(text).toContain('Audit Engine chain not checked');
  });
});

describe('/acgs can', () => {
  it('says yes for a command the person may run at once, and runs nothing', async () => {
    const before = t.log.count('poke');
    const text = await type(ONCALL, 'can poke alpha', 'Yes: poke alpha');
    expect(text).toContain('You may run it at once.');
    expect(t.log.count('poke')).toBe(before);
  });

  it('says no and why for a command the person may not run', async () => {
    const text = await type(NOBODY, 'can poke alpha', 'No: poke alpha');
    expect(text).toContain('you hold no role');
  });

  it('names who must approve a command that needs approvals, running nothing', async () => {
    const before = t.log.count('resize');
    const text = await type(ONCALL, 'can resize', 'After approval: resize');
    expect(text).toContain('You may request it; it runs after 1 approval from someone holding `approvers` or `admins` (not you).');
    expect(t.log.count('resize')).toBe(before);
  });

  it.each([
    ['can', 'name the command to ask about'],
    ['can nosuch', 'Cannot tell: `nosuch` is not a command.'],
    ['can poke', 'Cannot tell: Invalid arguments for `poke`'],
  ])('answers %s with a message a person can act on', async (line, message) => {
    const text = await type(ONCALL, line, message);
    expect(text).toContain(message);
  });
});

describe('fail closed', () => {
  it("refuses escalated commands while the trail's PostgreSQL is unreachable, and keeps read-only commands working", async () => {
    const port = new URL(await unusedLoopbackUrl()).port;
    const away = await openTestTrail({ prefix: 'acgs_cmd_away', databaseUrl: (db) => `postgres://postgres@127.0.0.1:${port}/${db.name}`, writeTimeoutMs: 1000 });
    const bot = await startBotWithStandIn({
      mode: 'http',
      registry: pathRegistry,
      workspace: { channels: [{ id: OPS, name: 'acgs-ops' }] },
      botOverrides: { services: await servicesWith({ authorization: await testGate({ roles: ROLES, overrides: RULES }), trail: away.trail }) },
    });
    try {
      const refused = await type(ONCALL, 'poke alpha', 'poke: not available right now', bot);
      expect(refused).toContain("The bot's audit trail cannot be written to PostgreSQL");
      expect(bot.log.count('poke')).toBe(0);
      await type(ONCALL, 'status', 'All is well', bot);
      expect(bot.log.count('status')).toBe(1);
      // Nothing is lost: the command records (and the refusal's result) wait in the spool.
      expect(away.trail.status().waiting).toBeGreaterThanOrEqual(3);
      const can = await type(ONCALL, 'can poke alpha', 'Yes: poke alpha', bot);
      expect(can).toContain('But right now it would be refused');
    } finally {
      await bot.close();
      await away.close();
    }
  }, 30_000);

  it('answers a read-only command at once while the trail database hangs, refuses a change, and records both once it is back', async () => {
    const proxy = await startPostgresProxy();
    const stalled = await openTestTrail({ prefix: 'acgs_cmd_stall', databaseUrl: (db) => proxy.urlFor(db.name), writeTimeoutMs: 3000 });
    const bot = await startBotWithStandIn({
      mode: 'http',
      registry: pathRegistry,
      workspace: { channels: [{ id: OPS, name: 'acgs-ops' }] },
      botOverrides: { services: await servicesWith({ authorization: await testGate({ roles: ROLES, overrides: RULES }), trail: stalled.trail }) },
    });
    try {
      proxy.stall();
      const started = Date.now();
      await type(ONCALL, 'status', 'All is well', bot);
      expect(Date.now() - started).toBeLessThan(1500);
      const refused = await type(ONCALL, 'poke alpha', 'poke:', bot);
      expect(refused).toMatch(/refused|trail/i);
      expect(bot.log.count('poke')).toBe(0);
      proxy.restore();
      await stalled.trail.flush().catch(() => undefined);
      const deadline = Date.now() + 15_000;
      let kinds: string[] = [];
      while (Date.now() < deadline) {
        const { records } = await stalled.trail.query({ user: ONCALL, limit: 20 });
        kinds = records.map((record) => `${record.command}:${record.kind}`);
        if (kinds.includes('status:result') && kinds.includes('poke:command')) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(kinds).toEqual(expect.arrayContaining(['status:command', 'status:result', 'poke:command']));
      expect(kinds).not.toContain('poke:execution');
    } finally {
      await bot.close();
      await stalled.close();
      await proxy.close();
    }
  }, 60_000);

  it("refuses changes when the stack's modes cannot be read, and still runs read-only commands", async () => {
    const modes = policyEngineModes(async () => {
      throw new Error('connection refused');
    });
    const bot = await startBotWithStandIn({
      mode: 'http',
      registry: pathRegistry,
      workspace: { channels: [{ id: OPS, name: 'acgs-ops' }] },
      botOverrides: { services: await servicesWith({ authorization: await testGate({ roles: ROLES, overrides: RULES, modes }), trail: trail.trail }) },
    });
    try {
      const refused = await type(ONCALL, 'poke alpha', 'poke: refused', bot);
      expect(refused).toContain("the stack's modes (strict mode, lockdown) could not be read from the Policy Engine (connection refused)");
      expect(bot.log.count('poke')).toBe(0);
      await type(ONCALL, 'status', 'All is well', bot);
      expect(bot.log.count('status')).toBe(1);
    } finally {
      await bot.close();
    }
  }, 30_000);

  it('refuses every change in a process without the policy, and runs read-only commands', async () => {
    const bot = await startBotWithStandIn({
      mode: 'http',
      registry: pathRegistry,
      workspace: { channels: [{ id: OPS, name: 'acgs-ops' }] },
      botOverrides: { services: await servicesWith({ trail: trail.trail }) },
    });
    try {
      const refused = await type(ONCALL, 'poke alpha', 'poke: refused', bot);
      expect(refused).toContain('The authorization policy is unavailable (no authorization policy is set up in this process)');
      expect(bot.log.count('poke')).toBe(0);
      await type(ONCALL, 'status', 'All is well', bot);
    } finally {
      await bot.close();
    }
  }, 30_000);
});
