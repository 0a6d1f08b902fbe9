/**
 * The App Home view: live status (the `health` command's document, through the command path when
 * the registry has the command, else from the same checks run directly) and the commands the
 * viewer may run; always a valid view.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildHomeView } from '../../bot/slack/home.js';
import { validateBlocks } from '../../bot/slack/stand-in/index.js';
import { defineCommand, type CommandDefinition } from '../../commands/command.js';
import { createCommandPathDependencies, type CommandPathDependencies } from '../../bot/command-path/index.js';
import { CONSTITUTIONAL_HASH } from '../../services/kit/constitution.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { blockText, fixtureRegistry, RunLog } from '../testing/slack-harness.js';

let healthy: Server;
let hanging: Server;
let services: CommandPathDependencies;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  // A Policy Engine's two health documents, as the real one answers them.
  healthy = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    const policyDocument = { result: { status: 'healthy', constitutional_hash: CONSTITUTIONAL_HASH } };
    const health = { status: 'healthy', service: 'policy-engine', version: '0.1.0', constitutional_hash: CONSTITUTIONAL_HASH, uptime_seconds: 1, problems: [], modes: { strict: false, lockdown: false } };
    response.end(JSON.stringify(request.url === '/v1/data/acgs/main/health' ? policyDocument : health));
  });
  // Accepts the request and never answers, as a wedged service does.
  hanging = createServer(() => undefined);
  const unused = await unusedLoopbackUrl();
  services = createCommandPathDependencies({
    endpoints: { 'policy-engine': await listen(healthy), 'audit-engine': await listen(hanging), 'evolution-oversight': unused, 'sandbox-controller': unused },
    checkTimeoutMs: 300,
  });
});

afterAll(async () => {
  for (const server of [healthy, hanging]) {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  }
});

describe('the App Home view', () => {
  it('runs the health checks itself when the registry has no health command, a hung one failing at the timeout', async () => {
    const started = Date.now();
    const view = await buildHomeView({ registry: fixtureRegistry(new RunLog()), services }, 'U0ONCALL');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(view.type).toBe('home');
    expect(validateBlocks(view.blocks, 'view')).toEqual([]);
    const text = blockText(view.blocks);
    expect(text).toContain(':red_circle: Stack health');
    expect(text).toMatch(/:white_check_mark: \*policy-engine\*  healthy · [\d.]+ ms · v0\.1\.0/);
    expect(text).toMatch(/:x: \*audit-engine\*  unreachable · [\d.]+ ms · no answer within 300 ms/);
    expect(text).toContain(':x: *evolution-oversight*  unreachable');
  });

  it('shows the health command’s own document when the registry has one, without its buttons', async () => {
    const log = new RunLog();
    const health = defineCommand({
      name: 'health',
      summary: 'Fixture health',
      examples: ['health'],
      level: 'read',
      args: z.object({}),
      async run(context) {
        log.runs.push(`health:${context.origin}`);
        return { title: 'Stack health', tone: 'warn', summary: 'Degraded: redis.', blocks: [], actions: [{ label: 'Check again', command: 'health' }] };
      },
    });
    const view = await buildHomeView({ registry: fixtureRegistry(log, [health as CommandDefinition]), services }, 'U0ONCALL');
    expect(log.runs).toEqual(['health:home']);
    expect(view.blocks.some((block) => block.type === 'actions')).toBe(false);
    expect(blockText(view.blocks)).toContain(':large_yellow_circle: Stack health\nDegraded: redis.');
  });

  it('lists only the commands the viewer may run, or says that none are open', async () => {
    const registry = fixtureRegistry(new RunLog());
    const some = await buildHomeView({ registry, services }, 'U0ONCALL', (_user, command) => command.name === 'help' || command.name === 'status');
    const listed = blockText(some.blocks);
    expect(listed).toContain('*/acgs help [command]*  List the commands, or explain one');
    expect(listed).toContain('*/acgs status*');
    expect(listed).not.toContain('/acgs slow');
    const none = await buildHomeView({ registry, services }, 'U0GUEST', async () => false);
    expect(blockText(none.blocks)).toContain('_No commands are open to you._');
  });
});
