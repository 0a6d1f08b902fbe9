/**
 * `sandbox prune` through the real Sandbox Controller on the real Docker Engine: exited sandbox
 * containers of an agent go, a running one and another agent's stay; refused roles, bad input
 * and a missing admin token remove nothing.
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SANDBOX_IMAGE } from '../../services/sandbox-controller/config.js';
import { LABELS } from '../../services/sandbox-controller/sandbox/container-spec.js';
import { block, commandRunner } from '../testing/commands.js';
import { containersWithLabel, removeContainersWithLabel, requireDockerEngine, waitForContainer } from '../testing/docker.js';
import { type TestStack, startStack } from '../testing/stack.js';
import { commandAccessForSuite } from '../testing/suite.js';

const USERS = { oncall: 'U0ONCALL', nobody: 'U0NOBODY' } as const;
const access = commandAccessForSuite({ roles: { oncall: [USERS.oncall] } });
const suffix = randomBytes(4).toString('hex');
const agent = `prune-test-${suffix}`;
const otherAgent = `prune-other-${suffix}`;
let docker: Docker;
let stack: TestStack;
const run = commandRunner({ services: () => stack.services, access, user: USERS.oncall });

/** A container labelled as a sandbox of `agentId`, as the controller labels them, running `script`. */
async function sandboxContainer(agentId: string, script: string): Promise<string> {
  const container = await docker.createContainer({
    Image: DEFAULT_SANDBOX_IMAGE,
    Entrypoint: ['sh', '-c'],
    Cmd: [script],
    Labels: {
      [LABELS.sandbox]: '1',
      [LABELS.id]: randomBytes(8).toString('hex'),
      [LABELS.agentId]: agentId,
      [LABELS.runtime]: 'runc',
      [LABELS.controller]: `another-controller-${suffix}`,
      // Far in the future: the orphan reaper of any controller leaves them to the prune under test.
      [LABELS.deadline]: new Date(Date.now() + 3600_000).toISOString(),
    },
    HostConfig: { NetworkMode: 'none', LogConfig: { Type: 'none', Config: {} } },
  });
  await container.start();
  return container.id;
}

const idsOf = async (agentId: string) => (await containersWithLabel(docker, `${LABELS.agentId}=${agentId}`)).map((container) => container.Id).sort();

beforeAll(async () => {
  docker = await requireDockerEngine();
  stack = await startStack({ sandboxPruneGraceSeconds: 0 });
  const exited = await Promise.all([sandboxContainer(agent, 'exit 0'), sandboxContainer(agent, 'exit 3'), sandboxContainer(otherAgent, 'exit 0')]);
  await sandboxContainer(agent, 'sleep 300');
  await Promise.all(exited.map((id) => waitForContainer(docker, id, (info) => info.State.Status === 'exited')));
}, 90_000);

afterAll(async () => {
  if (docker) {
    await removeContainersWithLabel(docker, `${LABELS.agentId}=${agent}`);
    await removeContainersWithLabel(docker, `${LABELS.agentId}=${otherAgent}`);
  }
  await stack?.close();
});

describe('sandbox prune', () => {
  it('removes nothing for someone without the on-call role, for a malformed agent id, or without the admin token', async () => {
    const before = await idsOf(agent);
    expect(before).toHaveLength(3);
    const refused = await run(`sandbox prune --agent ${agent}`, { user: USERS.nobody });
    expect(refused.rejection).toBe('refused');
    for (const line of ['sandbox prune --agent "two words"', 'sandbox prune --agent -x', `sandbox prune --agent ${'a'.repeat(129)}`, 'sandbox prune everything']) {
      expect((await run(line)).rejection, line).toBe('usage');
    }
    const tokenless = await run(`sandbox prune --agent ${agent}`, { services: stack.servicesWith({ adminToken: null }) });
    expect(tokenless.rejection).toBe('unavailable');
    expect(tokenless.document.summary).toMatch(/^The Sandbox Controller refused the admin token/);
    expect(await idsOf(agent)).toEqual(before);
  });

  it("removes the agent's exited sandboxes, leaves its running one and other agents' alone, and says so", async () => {
    const others = await idsOf(otherAgent);
    const { document, outcome } = await run(`sandbox prune --agent ${agent}`);
    expect(outcome).toBe('ok');
    expect(document.title).toBe('Sandbox containers pruned');
    expect(document.summary).toBe(`Removed 2 exited sandbox containers of agent ${agent}.`);
    const checks = block(document, 'checks').items;
    expect(checks[0]).toEqual({ name: 'Removed', tone: 'ok', text: '2 exited sandbox containers' });
    expect(checks.at(-1)).toEqual({ name: 'Left alone', tone: 'info', text: '1 running (prune never touches a container that has not exited)' });
    const rows = block(document, 'table').rows;
    expect(rows.map((row) => [row[1], row[3]]).sort()).toEqual([
      [agent, '0'],
      [agent, '3'],
    ]);
    const left = await containersWithLabel(docker, `${LABELS.agentId}=${agent}`);
    expect(left.map((container) => container.State)).toEqual(['running']);
    expect(await idsOf(otherAgent)).toEqual(others);
  });

  it('says there was nothing to prune the second time', async () => {
    const { document } = await run(`sandbox prune --agent ${agent}`);
    expect(document.title).toBe('No sandbox containers to prune');
    expect(document.tone).toBe('ok');
  });
});
