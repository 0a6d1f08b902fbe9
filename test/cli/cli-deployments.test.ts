/**
 * `npx acgs releases` and `deploy status|unlock` with DATABASE_URL: the CLI opens the bot's
 * deployment records in that database for the stack it chose (the Docker stack of the running
 * engine here), prints them as text or JSON, and says why it cannot when it has no stack. The real
 * Policy Engine answers its /health; the other services are not there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliOperator, type CliOperator } from '../testing/cli-operator.js';

let cli: CliOperator;

beforeAll(async () => {
  // The engine's Docker stack under a project of this test's own: nothing of it runs, nothing is touched.
  cli = await startCliOperator('cli-deployments', { ACGS_STACK: 'docker', COMPOSE_PROJECT_NAME: `acgs-cli-deployments-${process.pid}` });
}, 30_000);

afterAll(async () => {
  await cli?.close();
});

const acgs = (args: string[], extra?: Record<string, string>) => cli.acgs(args, extra);

describe('acgs releases and deploy', () => {
  it("records the Policy Engine's initial version and prints every service as JSON", async () => {
    const { version } = await (await fetch(`${cli.engine.url}/health`)).json() as { version: string };
    const listed = await acgs(['releases', '--json']);
    const { services } = JSON.parse(listed.stdout) as { services: Array<{ service: string; current: { version: string; kind: string; requestedBy: string } | null }> };
    expect(services.find((entry) => entry.service === 'policy-engine')?.current).toMatchObject({ version, kind: 'initial', requestedBy: 'stack start' });
    expect(services.filter((entry) => !entry.current).map((entry) => entry.service).sort()).toEqual(['audit-engine', 'evolution-oversight', 'sandbox-controller']);
  });

  it('says no deployment is in progress, and refuses an unlock by someone who is not an admin', async () => {
    const status = await acgs(['deploy', 'status']);
    expect(status.stdout).toContain('No deployment in progress');
    const refused = await acgs(['deploy', 'unlock', 'the lock looks stuck to me']);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toContain('that the admins role may request');
  });

  it('refuses an unknown service, naming the closest one', async () => {
    const refused = await acgs(['releases', 'audit-engin']);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toContain('did you mean `audit-engine`?');
  });

  it('says why without DATABASE_URL and without a running npm start', async () => {
    const answer = await acgs(['releases'], { DATABASE_URL: '' });
    expect(answer.code).not.toBe(0);
    expect(answer.stdout).toContain('The deployment records cannot be reached from here.');
  });
});
