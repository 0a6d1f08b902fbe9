/**
 * The stack commands against the real Docker Engine: a compose-labelled project of busybox health
 * responders (host networking, 127.0.0.1), seen, read, restarted and scaled through the one
 * execution path and through the CLI; bad input and refused roles leave every container as it was.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bot/cli.js';
import type { ExecutionOutcome } from '../../bot/command-path/index.js';
import type { CommandPathDependencies } from '../../bot/command-path/index.js';
import { SERVICE_PORTS } from '../../services/kit/service-ports.js';
import { createDockerStack } from '../../services/stack/docker/index.js';
import type { Stack } from '../../services/stack/stack.js';
import { SCALE_WITHOUT_APPROVALS } from '../testing/command-access.js';
import { block, commandRunner, stackOnlyServices } from '../testing/commands.js';
import { RESPONDER_IMAGES, TEST_DOCKER_HOST, silentDockerHost, watchContainerCreations } from '../testing/docker.js';
import { composeProjectLabel, startResponderProject, uniqueProjectName, type ResponderProject } from '../testing/responder-project.js';
import { commandAccessForSuite, firmPortsForSuite } from '../testing/suite.js';

const project = uniqueProjectName('acgs-cmds');
const projectLabel = composeProjectLabel(project);
const USERS = { oncall: 'U0ONCALL', admin: 'U0ADMIN', nobody: 'U0NOBODY' } as const;
const access = commandAccessForSuite({ roles: { oncall: [USERS.oncall], admins: [USERS.admin] }, overrides: SCALE_WITHOUT_APPROVALS });
const cwd = mkdtempSync(join(tmpdir(), 'acgs-cmds-docker-'));
let responders: ResponderProject | undefined;
let docker: Docker;
let stack: Stack;
let services: CommandPathDependencies;
const run = commandRunner({ services: () => services, access, user: USERS.oncall });

beforeAll(async () => {
  responders = await startResponderProject({ project, replicas: [{ service: 'web' }, { service: 'plain', healthcheck: false }] });
  ({ docker, stack } = responders);
  services = await stackOnlyServices(stack);
}, 60_000);

afterAll(async () => {
  await responders?.close();
  rmSync(cwd, { recursive: true, force: true });
}, 30_000);

/** Every container of the project with its start time: what a command that does nothing leaves unchanged. */
async function snapshot(): Promise<Record<string, string>> {
  const containers = await docker.listContainers({ all: true, filters: { label: [projectLabel] } });
  const entries = await Promise.all(containers.map(async (container) => [container.Names[0]!, (await docker.getContainer(container.Id).inspect()).State.StartedAt] as const));
  return Object.fromEntries(entries.sort());
}

/** Runs the lines and proves that nothing was created, started or stopped meanwhile. */
async function expectNothingDone(lines: string[], user: string, check: (outcome: ExecutionOutcome, line: string) => void): Promise<void> {
  const before = await snapshot();
  const watch = await watchContainerCreations(docker, projectLabel);
  for (const line of lines) check(await run(line, { user }), line);
  expect(await watch.stop()).toEqual([]);
  expect(await snapshot()).toEqual(before);
}

async function cli(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    env: { ACGS_STACK: 'docker', DOCKER_HOST: TEST_DOCKER_HOST, COMPOSE_PROJECT_NAME: project, PATH: process.env.PATH, ...env },
    cwd,
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
}

describe('status and stats on the Docker stack', () => {
  it('lists the containers of the compose project with state, health, image and uptime', async () => {
    const { document, outcome } = await run('status');
    expect(outcome).toBe('ok');
    expect(document.summary).toBe('All 2 services are healthy.');
    const table = block(document, 'table');
    expect(table.columns).toEqual(['service', 'replica', 'state', 'health', 'image', 'uptime', 'restarts']);
    expect(table.rows).toEqual([
      ['plain', `${project}-plain-1`, 'running', 'none', RESPONDER_IMAGES.v1, expect.stringMatching(/^\d+ s$|min/), '0'],
      ['web', `${project}-web-1`, 'running', 'healthy', RESPONDER_IMAGES.v1, expect.stringMatching(/^\d+ s$|min/), '0'],
    ]);
    expect(document.footer).toContain(`The Docker stack (`);
  });

  it('measures each container like docker stats, marked against the runbook thresholds', async () => {
    const { document } = await run('stats');
    expect(document.tone).toBe('ok');
    const rows = block(document, 'table').rows;
    expect(rows.map((row) => row[0])).toEqual([`${project}-plain-1`, `${project}-web-1`]);
    for (const row of rows) {
      expect(row[1]).toMatch(/^\d+\.\d %$/);
      expect(row[2]).toMatch(/ \/ /);
      expect(row[6]).toMatch(/^\d+$/);
    }
    expect(block(document, 'checks').items.map((item) => item.name)).toEqual(['plain', 'web']);
  });

  it('reads a container\'s log lines with a plain-text filter', async () => {
    const { document } = await run('logs web --grep ready --tail 5');
    expect(block(document, 'code').text).toMatch(/^\d\d:\d\d:\d\d Responder READY on 127\.0\.0\.1:\d+$/m);
  });
});

describe('restart on the Docker stack', () => {
  it('restarts the container for on-call: a new start time, healthy again, how long it took', async () => {
    const before = await docker.getContainer(`${project}-web-1`).inspect();
    const { document, outcome } = await run('restart web');
    expect(outcome).toBe('ok');
    const after = await docker.getContainer(`${project}-web-1`).inspect();
    expect(Date.parse(after.State.StartedAt)).toBeGreaterThan(Date.parse(before.State.StartedAt));
    expect(after.State.Health?.Status).toBe('healthy');
    expect(block(document, 'checks').items).toEqual([
      { name: `${project}-web-1`, tone: 'ok', text: expect.stringMatching(new RegExp(`^container ${before.Id.slice(0, 12)} restarted in place · started .+Z · healthy$`)) },
    ]);
    expect(block(document, 'fields').fields[1]).toEqual({ label: 'Health after', value: 'healthy' });
  });

  it('refuses a person without a role, unknown services and malformed names, and nothing restarts', async () => {
    await expectNothingDone(['restart web'], USERS.nobody, (outcome) => expect(outcome.rejection).toBe('refused'));
    await expectNothingDone(['restart nosuch', 'restart wbe', 'restart "web plain"', 'restart -- -web', 'restart web plain'], USERS.oncall, (outcome, line) => {
      expect(outcome.rejection, line).toBe('usage');
    });
    const typo = await run('restart wbe');
    expect(typo.document.summary).toBe(`There is no service \`wbe\` in the Docker stack (${stack.description}); did you mean \`web\`?`);
  });
});

describe('scale on the Docker stack', () => {
  it('refuses on-call (the rules here let only admins request scaling) and bad replica counts, creating nothing', async () => {
    await expectNothingDone(['scale web 2'], USERS.oncall, (outcome) => {
      expect(outcome.rejection).toBe('refused');
      expect(outcome.document.summary).toBe('"scale" is a Level 2 (human decision) action that the admins role may request; your roles: oncall.');
    });
    await expectNothingDone(['scale web 0', 'scale web 11', 'scale web -2', 'scale web two', 'scale web 2.0', 'scale nosuch 2', 'scale web'], USERS.admin, (outcome, line) => {
      expect(outcome.rejection, line).toBe('usage');
    });
  });

  it('scales up for an admin with numbered replicas, and back down removing the newest', async () => {
    const up = await run('scale web 2', { user: USERS.admin });
    expect(up.outcome).toBe('ok');
    expect(up.document.title).toBe('Scaled web to 2');
    expect(block(up.document, 'checks').items).toEqual([{ name: `${project}-web-2`, tone: 'ok', text: 'created, started and healthy' }]);
    const status = await run('status web');
    expect(block(status.document, 'table').rows.map((row) => [row[1], row[3]])).toEqual([
      [`${project}-web-1`, 'healthy'],
      [`${project}-web-2`, 'healthy'],
    ]);
    const same = await run('scale web 2', { user: USERS.admin });
    expect(same.document.summary).toBe('Nothing to do: web runs 2 replicas.');
    const down = await run('scale web 1', { user: USERS.admin });
    expect(block(down.document, 'checks').items).toEqual([{ name: `${project}-web-2`, tone: 'info', text: 'stopped and removed' }]);
    expect(Object.keys(await snapshot())).toEqual([`/${project}-plain-1`, `/${project}-web-1`]);
  }, 60_000);
});

describe('an engine that does not answer', () => {
  it('turns into a document that names the engine and says what to do', async () => {
    const silentHost = await silentDockerHost();
    const down = createDockerStack({ dockerHost: silentHost, project });
    try {
      const downServices = await stackOnlyServices(down);
      const status = await run('status', { services: downServices });
      expect(status.document.title).toBe('status: the Docker Engine does not answer');
      expect(status.document.summary).toContain(silentHost);
      expect(status.document.footer).toBe('Once the engine answers, `status` shows the stack again.');
      const restart = await run('restart web', { services: downServices });
      expect(restart.document.title).toBe('restart: the Docker Engine does not answer');
    } finally {
      await down.close();
    }
  });
});

describe('the CLI on the Docker stack', () => {
  // Pointed at no service, the CLI reaches for the services' firm ports: a Policy Engine there
  // (another suite's npm start) would let its changes through instead of failing closed.
  firmPortsForSuite(SERVICE_PORTS);

  it('prints the status of the compose project it is pointed at', async () => {
    const result = await cli(['status']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`web +${project}-web-1 +running +healthy +acgs-test/responder:1`));
  });

  /** A config file whose cli_users lends this test's operating-system user the roles of a Slack user holding `roles`. */
  function operatorConfig(roles: string[]): string {
    const file = join(cwd, `chatops-${roles.join('-') || 'none'}.yml`);
    writeFileSync(file, `roles:\n${roles.map((role) => `  ${role}: [U0CLIOPS]\n`).join('')}cli_users:\n  ${JSON.stringify(userInfo().username)}: U0CLIOPS\n`);
    return file;
  }

  it('acts with the roles cli_users lends its operating-system user, and with no Policy Engine to read the modes from refuses changes (fail closed), creating nothing', async () => {
    const before = await snapshot();
    const refused = await cli(['scale', 'web', '2'], { ACGS_CONFIG: operatorConfig(['oncall']) });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('scale: refused');
    expect(refused.stdout).toContain("the stack's modes (strict mode, lockdown) could not be read from the Policy Engine");
    expect(refused.stdout).toContain('(cli_users in the config file): oncall.');
    const none = await cli(['restart', 'web']);
    expect(none.stdout).toContain('you hold no role.');
    expect(none.stdout).toContain('Nothing was done.');
    expect(none.stdout).toContain('To act with roles, add `cli_users:');
    expect(await snapshot()).toEqual(before);
  });

  it('says so under help', async () => {
    const result = await cli(['help'], { ACGS_CONFIG: operatorConfig(['oncall', 'admins']) });
    expect(result.stdout).toContain(`The CLI acts as cli:${userInfo().username} with the roles of U0CLIOPS (cli_users in the config file): oncall, admins.`);
  });

  it('ignores ACGS_CLI_ROLES, saying so on stderr: it grants nothing and nothing is created', async () => {
    const before = await snapshot();
    const result = await cli(['restart', 'web'], { ACGS_CLI_ROLES: 'oncall,admins' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('acgs: ACGS_CLI_ROLES is ignored: it grants no roles.');
    expect(result.stdout).toContain('you hold no role.');
    expect(await snapshot()).toEqual(before);
    const status = await cli(['status'], { ACGS_CLI_ROLES: 'Admins!' });
    expect(status.code).toBe(0);
  });

  it('explains a forced Docker stack whose engine does not answer', async () => {
    const silentHost = await silentDockerHost();
    const result = await cli(['status'], { DOCKER_HOST: silentHost });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('status: not available right now');
    expect(result.stdout).toContain(silentHost.replace('tcp://', ''));
  });
});
