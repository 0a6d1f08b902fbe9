/**
 * The first deploy after `npm start` that rolls itself back, on the embedded stack
 * (deploy-harness.ts). The services run from the working tree, whose commit the bot recorded at
 * its first look; the working tree then moves on (a commit, as a pull would). The services the
 * rollout had replaced go back to a checkout of the recorded commit, not to the working tree.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releasesDirectory } from '../../services/stack/releases/local-releases.js';
import { FRAGILE_RELEASE_TRIGGER } from '../../test/testing/release-repo.js';
import { deployHarness, type DeployHarness } from './testing/deploy-harness.js';

let h: DeployHarness;
let recorded: string;
const running = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

/** A commit in the release repository whose package.json says `version`; its full hash. */
function commitVersion(dir: string, version: string): string {
  const path = join(dir, 'package.json');
  writeFileSync(path, `${JSON.stringify({ ...(JSON.parse(readFileSync(path, 'utf8')) as object), version }, null, 2)}\n`);
  const git = (args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@acgs.invalid', '-c', 'commit.gpgsign=false', ...args], { cwd: dir, encoding: 'utf8' });
  git(['commit', '-q', '-am', `version ${version}`]);
  return git(['rev-parse', 'HEAD']).trim();
}

beforeAll(async () => {
  h = await deployHarness();
  // The repository's HEAD holds the version the services report: the bot's first look records it.
  recorded = commitVersion(h.repo.dir, running);
  await h.records.releases();
  // The working tree moves on after the start.
  commitVersion(h.repo.dir, `${running}-next`);
}, 300_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

describe('the first deploy after a start, rolled back by its rollout', () => {
  it('puts the replaced services back on a checkout of the commit recorded as running, the failing one on what it runs', async () => {
    expect(await h.records.current('audit-engine')).toMatchObject({ kind: 'initial', version: running, commit: recorded, artifact: { kind: 'directory', directory: process.cwd() } });
    writeFileSync(join(h.stateDir, 'policy-engine', FRAGILE_RELEASE_TRIGGER), 'break');
    try {
      const run = await h.run('deploy', { version: '9.4.0-fragile' });
      expect(run.state).toBe('failed');
      expect(run.reason).toMatch(
        new RegExp(`^9\\.4\\.0-fragile was rolled back: policy-engine's new replica was not healthy .*Every service runs what it ran before \\(audit-engine ${running}, evolution-oversight ${running}, sandbox-controller ${running}, policy-engine ${running}\\)\\.$`),
      );
    } finally {
      rmSync(join(h.stateDir, 'policy-engine', FRAGILE_RELEASE_TRIGGER), { force: true });
    }
    const checkout = join(releasesDirectory(h.stateDir), `${running}-${recorded.slice(0, 7)}`);
    for (const service of ['audit-engine', 'evolution-oversight', 'sandbox-controller'] as const) {
      expect(await h.stack.running(service)).toEqual({ kind: 'directory', directory: checkout });
      expect(await h.health(service)).toEqual({ status: 200, version: running });
    }
    // The stack never replaced it: it still runs the process it was found running.
    expect(await h.stack.running('policy-engine')).toEqual({ kind: 'directory', directory: process.cwd() });
    expect(await h.records.lock()).toBeNull();
  }, 300_000);

  it('plans a deploy of the commit recorded as running as changing nothing', async () => {
    const word = recorded.slice(0, 12);
    const plan = await h.executor.plan('deploy', { version: word }, { requester: 'U0ONCALL', origin: 'test' });
    expect(plan.steps.find((step) => step.id === 'prepare')!.dryRun.text).toBe(
      `${word} is ${recorded} at ${word}; in this order: ${['audit-engine', 'evolution-oversight', 'sandbox-controller', 'policy-engine'].map((service) => `${service} ${running} → ${word} (runs it already)`).join(', ')}`,
    );
  });
});
