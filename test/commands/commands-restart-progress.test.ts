/**
 * `restart` of a service with several replicas tells each replica as it comes back, in order,
 * before its answer; one replica tells nothing (its answer says it all). Real Docker Engine, a
 * compose-labelled project of busybox health responders, the real policy and audit trail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeCommandLine } from '../../bot/command-path/index.js';
import { createCommandRegistry } from '../../commands/index.js';
import type { ProgressStep } from '../../commands/progress.js';
import type { CommandPathDependencies } from '../../bot/command-path/index.js';
import { StackError } from '../../services/stack/stack.js';
import { stackOnlyServices } from '../testing/commands.js';
import { startResponderProject, uniqueProjectName, type ResponderProject } from '../testing/responder-project.js';
import { commandAccessForSuite } from '../testing/suite.js';

const project = uniqueProjectName('acgs-restart-steps');
const ONCALL = 'U0ONCALL';
const access = commandAccessForSuite({ roles: { oncall: [ONCALL] } });
let responders: ResponderProject | undefined;
let services: CommandPathDependencies;

beforeAll(async () => {
  responders = await startResponderProject({ project, replicas: [{ service: 'web', number: 1 }, { service: 'web', number: 2 }, { service: 'solo' }] });
  services = await stackOnlyServices(responders.stack);
}, 60_000);

afterAll(() => responders?.close(), 30_000);

async function restartWithSteps(service: string) {
  const steps: ProgressStep[] = [];
  const registry = createCommandRegistry();
  const outcome = await executeCommandLine(
    { registry, services: { ...services, ...access() } },
    {
      line: `restart ${service}`,
      actor: { id: ONCALL },
      origin: 'slash',
      progress: (step) => void steps.push(step),
    },
  );
  return { outcome, steps };
}

describe('restart tells its steps', () => {
  it('tells each of two replicas as it is back, in order, then answers with both', async () => {
    const { outcome, steps } = await restartWithSteps('web');
    expect(outcome.outcome).toBe('ok');
    expect(steps.map((step) => step.text)).toEqual([
      expect.stringMatching(new RegExp(`^${project}-web-1 \\(1 of 2\\) is back: container [0-9a-f]{12} restarted in place · started .+Z · healthy$`)),
      expect.stringMatching(new RegExp(`^${project}-web-2 \\(2 of 2\\) is back: container [0-9a-f]{12} restarted in place · started .+Z · healthy$`)),
    ]);
    expect(steps.map((step) => step.tone)).toEqual(['ok', 'ok']);
    expect(outcome.document.summary).toContain('2 replicas, one after another');
  }, 90_000);

  it('tells nothing for a service with one replica', async () => {
    const { outcome, steps } = await restartWithSteps('solo');
    expect(outcome.outcome).toBe('ok');
    expect(steps).toEqual([]);
  }, 60_000);

  it('still restarts and answers when the front end fails to show a step', async () => {
    const registry = createCommandRegistry();
    const errors: unknown[] = [];
    const outcome = await executeCommandLine(
      { registry, services: { ...services, ...access() }, logError: (_reference, error) => errors.push(error) },
      { line: 'restart web', actor: { id: ONCALL }, origin: 'slash', progress: () => Promise.reject(new Error('Slack said no')) },
    );
    expect(outcome.outcome).toBe('ok');
    expect(errors.map((error) => (error as Error).message)).toEqual(['Slack said no', 'Slack said no']);
  }, 90_000);

  it('restarts every replica when the stack is given a callback that throws, and does not call it a Docker failure', async () => {
    const told: string[] = [];
    const startedAtOfWeb = async () => (await responders!.stack.list()).find((service) => service.name === 'web')!.replicas.map((replica) => replica.startedAt);
    const before = await startedAtOfWeb();
    const report = await responders!.stack.restart('web', {
      onReplicaRestarted: async (replica, { index }) => {
        told.push(replica.name);
        // A StackError is what a Docker failure looks like: it must not pass for one.
        if (index === 0) throw new StackError('ENGINE_DOWN', 'the front end is gone');
      },
    });
    expect(report.replicas.map((replica) => replica.name)).toEqual([`${project}-web-1`, `${project}-web-2`]);
    expect(told).toEqual([`${project}-web-1`, `${project}-web-2`]);
    // Both came back with a new start time: the second was restarted too, not left as it was.
    const after = await startedAtOfWeb();
    expect(after).toHaveLength(2);
    expect(after.every((startedAt, index) => startedAt !== before[index])).toBe(true);
  }, 90_000);
});
