import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeCommandLine, type ExecutionOutcome } from '../../bot/command-path/index.js';
import { createCommandRegistry } from '../../commands/index.js';
import { MAX_COMMAND_LINE } from '../../commands/registry.js';
import { createCommandPathDependencies, type CommandPathDependencies } from '../../bot/command-path/index.js';
import { openStackPostgres, openStackRedis } from '../../services/stack/stack-connections.js';
import { stackRedisOn } from '../../services/stack/stack-redis-on-ioredis.js';
import { stackDatabaseOn } from '../../services/stack/stack-database-on-pg.js';
import { type HungServer, startHungServer } from '../testing/stack.js';

/**
 * Every part of the "stack" here is one server that counts connections and never answers: a line
 * that is refused must leave it at zero connections (nothing was called, nothing executed).
 */
let tripwire: HungServer;
let services: CommandPathDependencies;
const registry = createCommandRegistry();

beforeAll(async () => {
  tripwire = await startHungServer();
  const port = new URL(tripwire.url).port;
  services = createCommandPathDependencies({
    endpoints: {
      'policy-engine': tripwire.url,
      'audit-engine': tripwire.url,
      'evolution-oversight': tripwire.url,
      'sandbox-controller': tripwire.url,
    },
    database: stackDatabaseOn(openStackPostgres(`postgres://postgres@127.0.0.1:${port}/acgs_audit`, { connectTimeoutMs: 300 })),
    redis: stackRedisOn(openStackRedis(`redis://127.0.0.1:${port}`, { connectTimeoutMs: 300 })),
    checkTimeoutMs: 300,
    callTimeoutMs: 300,
  });
});

afterAll(async () => {
  await services?.database?.close();
  await services?.redis?.close();
  await tripwire?.close();
});

async function run(line: string): Promise<ExecutionOutcome> {
  return executeCommandLine({ registry, services }, { line, actor: { id: 'U0TEST' }, origin: 'slash' });
}

/** The line is refused as a usage error, with this message, and nothing was contacted. */
async function expectRefused(line: string, message: RegExp): Promise<ExecutionOutcome> {
  const before = tripwire.connections;
  const outcome = await run(line);
  expect(outcome.outcome, `${line}: ${outcome.document.summary}`).toBe('rejected');
  expect(outcome.rejection).toBe('usage');
  expect(outcome.document.tone).toBe('fail');
  expect(outcome.document.ephemeral).toBe(true);
  expect(outcome.document.summary).toMatch(message);
  expect(tripwire.connections).toBe(before);
  return outcome;
}

describe('the command registry', () => {
  it('lists every command once, sorted by name, the read-only ones of issue 3, the stack commands of issue 4, the authorization and governance commands of issue 5, the runbook commands of issue 12, the deployment commands of issue 13, the alert commands of issue 14, the schedule commands and reports of issue 15 and the incident commands of issue 16', () => {
    const issue3 = ['audit verify', 'cache stats', 'db status', 'evolutions', 'health', 'help', 'metrics', 'redis status', 'sandbox status', 'violations'];
    const issue4 = ['cache warm', 'db connections', 'logs', 'redis memory', 'restart', 'sandbox prune', 'scale', 'stats', 'status'];
    const issue5 = ['audit', 'cache clear', 'can', 'db kill-idle', 'evolution review', 'lockdown', 'lockdown lift', 'redis flush', 'strict-mode'];
    const issue12 = ['backup', 'backup verify', 'backups', 'checklist', 'checklist rerun', 'checklist show', 'checklist tick', 'checklist untick', 'checklists', 'dr-test', 'restore', 'run', 'run abort', 'run decide', 'run pass', 'run status', 'runbooks', 'runs', 'troubleshoot'];
    const issue13 = ['deploy', 'deploy status', 'deploy unlock', 'hotfix', 'releases', 'rollback'];
    const issue14 = ['alerts', 'alerts ack', 'alerts history', 'alerts resolve', 'alerts snooze', 'silence', 'silences'];
    const issue15 = ['report capacity', 'report daily', 'report security', 'report weekly', 'schedule', 'schedule run'];
    const issue16 = ['incident action', 'incident actions', 'incident close', 'incident commander', 'incident declare', 'incident note', 'incident resolve', 'incident review', 'incident role', 'incident severity', 'incident type', 'incident update', 'incidents'];
    expect(registry.list().map((command) => command.name)).toEqual([...issue3, ...issue4, ...issue5, ...issue12, ...issue13, ...issue14, ...issue15, ...issue16].sort((a, b) => a.localeCompare(b)));
    expect(registry.list().filter((command) => issue3.includes(command.name)).every((command) => command.level === 'read')).toBe(true);
  });

  it('resolves two-word names in any case and spacing', () => {
    for (const line of ['audit verify', 'AUDIT   Verify', ' cache stats ', 'db STATUS', 'redis status', 'sandbox status']) {
      const resolution = registry.resolve(line);
      expect(resolution.ok, line).toBe(true);
    }
    const resolution = registry.resolve('Audit  VERIFY');
    expect(resolution.ok && resolution.command.name).toBe('audit verify');
  });

  it("resolves `checklist <name>` to the start and `checklist tick|untick|rerun|show` to their own commands", () => {
    const named = (line: string) => {
      const resolution = registry.resolve(line);
      return resolution.ok ? [resolution.command.name, resolution.args] : resolution.error.message;
    };
    expect(named('checklist pre-deployment')).toEqual(['checklist', { name: 'pre-deployment' }]);
    expect(named('checklist tick 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed rollback-plan')).toEqual(['checklist tick', { id: '1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed', item: 'rollback-plan' }]);
    expect(named('checklist show 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed')).toEqual(['checklist show', { id: '1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed' }]);
  });

  it('resolves aliases to their command', () => {
    const names = ['kpi', 'KPIS', 'healthcheck'].map((line) => {
      const resolution = registry.resolve(line);
      return resolution.ok ? resolution.command.name : undefined;
    });
    expect(names).toEqual(['metrics', 'metrics', 'health']);
  });

  it('lets a valid line through to the stack, which is how the refusals below prove nothing ran', async () => {
    const before = tripwire.connections;
    const outcome = await run('health');
    expect(outcome.document.tone).toBe('fail');
    expect(tripwire.connections).toBeGreaterThan(before);
  });

  it('accepts every example that help shows, for the command it documents', () => {
    for (const command of registry.list()) {
      expect(command.examples.length, command.name).toBeGreaterThan(0);
      for (const example of command.examples) {
        const resolution = registry.resolve(example);
        expect(resolution.ok ? resolution.command.name : resolution.error.message, example).toBe(command.name);
      }
    }
  });

  it('treats an empty line as help', async () => {
    const outcome = await run('   ');
    expect(outcome.command).toBe('help');
    expect(outcome.document.title).toBe('ACGS ChatOps commands');
  });

  it('answers the first word of a two-word command with its subcommands', async () => {
    await expectRefused('db', /`db` needs a subcommand: `db status`/);
    await expectRefused('db statsu', /`db statsu` is not a command: `db status`, `db connections`/);
    // `audit` is a command of its own (the bot's trail): a typo of `audit verify` is an argument it does not take.
    await expectRefused('audit verfy', /`audit` takes no arguments; unexpected `verfy`/);
  });

  it('suggests the closest commands for a misspelt one', async () => {
    expect((await expectRefused('helth', /`helth` is not a command/)).document.footer).toMatch(/Did you mean `health`/);
    expect((await expectRefused('metrix', /not a command/)).document.footer).toMatch(/`metrics`/);
    expect((await expectRefused('violatons 5', /not a command/)).document.footer).toMatch(/`violations`/);
    expect((await expectRefused('xyzzy', /`xyzzy` is not a command/)).document.footer).toMatch(/Type `help`/);
  });

  it('refuses more arguments than a command takes, naming the extra ones', async () => {
    await expectRefused('violations 5 6', /`violations` takes at most 1 argument \(limit\); unexpected `6`/);
    await expectRefused('metrics now', /`metrics` takes no arguments; unexpected `now`/);
    await expectRefused('audit verify everything', /`audit verify` takes no arguments/);
    await expectRefused('cache stats l1', /`cache stats` takes no arguments/);
    await expectRefused('db status acgs_audit', /`db status` takes no arguments/);
    await expectRefused('redis status 0', /`redis status` takes no arguments/);
    await expectRefused('sandbox status all', /`sandbox status` takes no arguments/);
    await expectRefused('evolutions DROP TABLE evolutions', /`evolutions` takes at most 1 argument/);
    await expectRefused('health policy-engine audit-engine', /`health` takes at most 1 argument/);
  });

  it('refuses negative numbers as such, not as unknown options', async () => {
    await expectRefused('violations -5', /`-5` is not allowed here: numbers must not be negative/);
    await expectRefused('logs policy-engine --tail -5', /`--tail -5` is not allowed: numbers must not be negative/);
  });

  it('says which option lacks its value', async () => {
    await expectRefused('logs policy-engine --tail', /`--tail` needs a value\./);
    await expectRefused('logs policy-engine --since --grep x', /`--since` needs a value\./);
  });

  it('refuses unknown flags, saying the command takes none', async () => {
    await expectRefused('health --verbose', /`--verbose` is not an option of `health`; it takes no options/);
    await expectRefused('violations --limit=5', /`--limit=5` is not an option of `violations`/);
    await expectRefused('metrics -x', /`-x` is not an option of `metrics`/);
  });

  it('refuses a line over the length limit before parsing it', async () => {
    const outcome = await expectRefused(`health ${'x'.repeat(MAX_COMMAND_LINE + 10)}`, /characters long; the limit is 1000/);
    expect(outcome.command).toBeUndefined();
  });

  it('keeps a quoted phrase as one argument, with straight or typographic quotes', async () => {
    const straight = await run('help "audit verify"');
    expect(straight.document.title).toBe('/acgs audit verify [--full]');
    const curly = await run('help \u201caudit verify\u201d');
    expect(curly.document.title).toBe('/acgs audit verify [--full]');
    await expectRefused('violations "5 6"', /limit: must be a whole number from 1 to 100 \(got `5 6`\)/);
  });
});

describe('argument errors a person can act on', () => {
  it.each([
    ['0', '0'],
    ['101', '101'],
    ['ten', 'ten'],
    ['1e3', '1e3'],
    ['5.5', '5.5'],
    ['0x10', '0x10'],
    ['99999999999999999999', '99999999999999999999'],
    ['""', ''],
  ])('violations %s is refused with the allowed range and what was typed', async (argument, shown) => {
    const outcome = await expectRefused(`violations ${argument}`, /^Invalid arguments for `violations`: limit: must be a whole number from 1 to 100/);
    expect(outcome.document.summary).toContain(`(got \`${shown}\`)`);
    expect(outcome.document.summary).not.toMatch(/NaN|expected|received/i);
    expect(outcome.document.footer).toBe('Usage: `violations [limit]`, for example `violations`.');
  });

  it('refuses an unknown service name for health with the closest known one and the list', async () => {
    const outcome = await expectRefused('health polcy-engine', /service: `polcy-engine` is not a part of the stack; did you mean `policy-engine`\?/);
    expect(outcome.document.summary).toContain('Known: policy-engine, audit-engine, evolution-oversight, sandbox-controller, postgres, redis');
    await expectRefused('health audit', /did you mean `audit-engine`/);
    const far = await expectRefused('health mysql', /`mysql` is not a part of the stack\. Known:/);
    expect(far.document.summary).not.toContain('did you mean');
  });

  it('refuses an evolution status outside the service\'s status enum', async () => {
    await expectRefused('evolutions pendng', /status: `pendng` is not an evolution status; did you mean `pending`\?/);
    const outcome = await expectRefused('evolutions merged', /`merged` is not an evolution status/);
    expect(outcome.document.summary).toContain('Known: pending, auto_approved, fast_track, human_review, approved, rejected, rolled_back');
  });

  it('refuses a rollback of an unknown service, a malformed backup id and --unverified without a backup', async () => {
    await expectRefused('rollback polcy-engine', /service: `polcy-engine` is not a service; did you mean `policy-engine`\?/);
    await expectRefused('rollback --backup yesterday', /backup: `yesterday` is not a backup id; a backup id looks like 20261206T152000Z-a1b2c3/);
    await expectRefused('rollback --unverified', /`--unverified` is about the backup to restore: use it with `--backup <id>`/);
    await expectRefused('rollback --to', /`--to` needs a value/);
  });

  it('keeps markup and mentions typed as arguments as plain text, cut short', async () => {
    const outcome = await expectRefused('health <@U123ABC>', /`<@U123ABC>` is not a part of the stack/);
    // The document carries the text as typed; every renderer escapes it for its medium.
    expect(outcome.document.summary).toContain('<@U123ABC>');
    const long = await expectRefused(`health ${'a'.repeat(300)}`, /is not a part of the stack/);
    expect(long.document.summary?.length).toBeLessThan(300);
  });

  it('refuses an overlong help topic with what a topic is', async () => {
    await expectRefused(`help ${'h'.repeat(41)}`, /topic: must be a command name such as `health` \(at most 40 characters\)/);
  });

  it('refuses help for a command that does not exist', async () => {
    await expectRefused('help nosuch', /`nosuch` is not a command/);
  });
});
