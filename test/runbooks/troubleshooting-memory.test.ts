/**
 * `troubleshoot memory` (the high-memory runbook) on the real Docker Engine: a compose-labelled
 * responder with a 64 MiB memory limit, measured through the Docker stack driver. Healthy, every
 * replica is under 85 % and the run ends well; with 58 MiB written to its /dev/shm (memory the
 * container's cgroup is charged for) the verify stops the run naming the restart and the scale
 * it does not run itself, and a retry after the memory is returned sees it resolved.
 */
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandPathDependencies } from '../../bot/command-path/index.js';
import { startRunbookEngine, type RunbookEngine } from '../../bot/runbook-runs/index.js';
import { FINAL_RUN_STATES, type RunRecord, type RunState } from '../../runbooks/engine/run-store.js';
import { troubleshootingRunbooks } from '../../runbooks/troubleshooting/index.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { block, commandRunner, stackOnlyServices, type CommandRunner } from '../testing/commands.js';
import { execOutput } from '../testing/docker.js';
import { startResponderProject, uniqueProjectName, type ResponderProject } from '../testing/responder-project.js';
import { waitForRunState } from './testing/run-records.js';

const ONCALL = 'U0ONCALL';
const MiB = 1024 * 1024;
const project = uniqueProjectName('acgs-memory');
const replica = `${project}-web-1`;

let responders: ResponderProject | undefined;
let docker: Docker;
let trail: TestTrail;
let engine: RunbookEngine;
let services: CommandPathDependencies;
let run: CommandRunner;

beforeAll(async () => {
  responders = await startResponderProject({ project, replicas: [{ service: 'web', memoryBytes: 64 * MiB }] });
  docker = responders.docker;
  // Every service client points where nothing listens: the cache size is evidence, and says it could not be read.
  const stackOnly = await stackOnlyServices(responders.stack);
  trail = await openTestTrail({ prefix: 'acgs_troubleshoot_mem' });
  engine = await startRunbookEngine({
    pool: trail.pool,
    trail: trail.trail,
    runbooks: troubleshootingRunbooks,
    ports: { commands: stackOnly },
    executor: { leaseMs: 10_000, renewEveryMs: 1000, scanEveryMs: 100 },
  });
  services = { ...stackOnly, authorization: await testGate({ roles: { oncall: [ONCALL], approvers: [], admins: [] } }), trail: trail.trail, runs: engine.runs };
  run = commandRunner({ services: () => services, user: ONCALL });
}, 60_000);

afterAll(async () => {
  await engine?.stop();
  await trail?.close();
  await responders?.close();
}, 30_000);

const settledOrStopped = (id: string) => waitForRunState(engine.store, id, [...FINAL_RUN_STATES, 'needs_decision'] as RunState[], 60_000);

async function troubleshootMemory(): Promise<RunRecord> {
  const outcome = await run('troubleshoot memory');
  expect(outcome.document.title, JSON.stringify(outcome.document)).toBe('Run started: high-memory');
  return settledOrStopped((outcome.document.data as { run: { id: string } }).run.id);
}

async function summaries(runId: string): Promise<Record<string, string>> {
  const attempts = await engine.store.attempts(runId);
  return Object.fromEntries(attempts.map((attempt) => [attempt.stepId, attempt.error ?? (attempt.output as { summary: string }).summary]));
}

describe('troubleshoot memory', () => {
  it('--dry-run measures for real and records nothing', async () => {
    const outcome = await run('troubleshoot memory --dry-run');
    expect(outcome.document.title).toBe('Dry run: high-memory');
    const rows = block(outcome.document, 'table').rows;
    expect(rows.map((row) => row[3])).toEqual(['checked (read-only)', 'checked (read-only)', 'description only']);
    expect(rows[0]![4]).toMatch(new RegExp(`^Every one of 1 replicas is under the runbook's 85 % memory; the highest: ${replica} uses`));
    expect(await engine.runs.activeAndRecent(10)).toEqual([]);
  });

  it('with every replica under 85 % of its limit, it ends well and says what it measured', async () => {
    const finished = await troubleshootMemory();
    expect(finished.state, finished.reason ?? '').toBe('succeeded');
    const steps = await summaries(finished.id);
    expect(steps['check-memory']).toMatch(new RegExp(`^Every one of 1 replicas is under the runbook's 85 % memory; the highest: ${replica} uses \\d+\\.\\d % of its 64\\.0 MiB limit`));
    expect(steps['check-cache-size']).toMatch(/^The Policy Engine's cache size could not be read: The Policy Engine at http:\/\/127\.0\.0\.1:\d+ does not answer/);
    expect(steps['verify-memory']).toMatch(/^Nothing was wrong and nothing is\. Every one of 1 replicas/);
  });

  it('over 85 % it stops at the verify naming the restart and the scale; once the memory is returned, a retry sees it resolved', async () => {
    await execOutput(docker, replica, ['dd', 'if=/dev/zero', 'of=/dev/shm/fill', 'bs=1048576', 'count=58']);
    try {
      const stopped = await troubleshootMemory();
      expect(stopped.state).toBe('needs_decision');
      expect(stopped.reason).toMatch(
        new RegExp(
          `^step "verify-memory" .* failed: Not resolved \\(this runbook restarts, scales and clears nothing by itself\\): Over the runbook's 85 % memory: ${replica} uses (8[5-9]|9\\d)\\.\\d % of its 64\\.0 MiB limit .*` +
            "Next: `/acgs restart web` \\(Level 1, on-call\\) returns web's memory.*; `/acgs scale web 2` \\(Level 2: one approval\\) if the memory climbs back",
        ),
      );
      expect((await summaries(stopped.id))['check-memory']).toMatch(/^Over the runbook's 85 % memory: /);

      await execOutput(docker, replica, ['rm', '/dev/shm/fill']);
      await engine.runs.decide(stopped.id, 'retry', ONCALL);
      const finished = await settledOrStopped(stopped.id);
      expect(finished.state, finished.reason ?? '').toBe('succeeded');
      expect((await summaries(stopped.id))['verify-memory']).toMatch(/^Resolved by itself\. Every one of 1 replicas is under the runbook's 85 % memory/);
    } finally {
      await execOutput(docker, replica, ['rm', '-f', '/dev/shm/fill']);
    }
  });
});
