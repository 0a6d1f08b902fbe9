/**
 * Deploys that must stop before anything is built or deployed, on the embedded stack of
 * `npm start` (deploy-harness.ts): a release whose package-lock.json is broken (its `npm ci`
 * fails), whose checkout fills the disk, or whose validation finds the temporary directory's disk
 * full (tiny tmpfs), ends the run failed with one sentence naming the release and why; a disk
 * without the headroom the deploy settings ask for stops it at the check with the figures, for a
 * person to retry once space is freed or to abort. Either way no service changes, no record is written, no
 * notice is sent, and the lock is free for the next deploy once the run has ended.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceName } from '../../services/kit/service-ports.js';
import { releasesDirectory } from '../../services/stack/releases/local-releases.js';
import { mountTinyTmpfs } from '../../test/testing/tiny-tmpfs.js';
import type { RunRecord } from '../engine/run-store.js';
import { deploySettingsFromEnv } from './deploy-settings.js';
import { ROLLOUT_ORDER } from './release-plan.js';
import { deployHarness, TEST_DEPLOY_SETTINGS, type DeployHarness } from './testing/deploy-harness.js';

let h: DeployHarness;
let before: Record<string, string>;

/** Tags a release in the fixture repository whose package-lock.json is not JSON: `npm ci` refuses it. */
function tagUnbuildableRelease(dir: string, tag: string): void {
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@acgs.invalid', '-c', 'tag.gpgsign=false', '-c', 'commit.gpgsign=false', ...args], { cwd: dir, stdio: 'pipe' });
  writeFileSync(join(dir, 'package-lock.json'), '{ "lockfileVersion": 3, broken\n');
  git('commit', '-q', '-a', '-m', `release ${tag}: a broken lock file`);
  git('tag', '-a', tag, '-m', `release ${tag}`);
}

async function versions(): Promise<Record<string, string>> {
  return Object.fromEntries(await Promise.all(ROLLOUT_ORDER.map(async (service: ServiceName) => [service, (await h.health(service)).version] as const)));
}

/** Deployments recorded; what each service ran before (kind `initial`) is recorded by the first prepare that gets that far. */
async function recordCount(): Promise<number> {
  return (await h.t.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM deployment_records WHERE kind <> 'initial'")).rows[0]!.n;
}

async function attempts(run: RunRecord): Promise<string[]> {
  return (await h.t.store.attempts(run.id)).map((attempt) => `${attempt.stepId} ${attempt.outcome}`);
}

/** What a stopped deploy must leave: the services as they were, no record, no notice, no lock. */
async function expectNothingChanged(run: RunRecord): Promise<void> {
  expect(await versions()).toEqual(before);
  expect(await recordCount()).toBe(0);
  expect(h.notices.filter((notice) => notice.runId === run.id)).toEqual([]);
  expect(await h.records.lock()).toBeNull();
  expect(await h.output(run.id, 'rollout')).toBeUndefined();
}

beforeAll(async () => {
  h = await deployHarness();
  tagUnbuildableRelease(h.repo.dir, 'v9.5.0-unbuildable');
  before = await versions();
}, 240_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

describe('a deploy stopped before anything is built or deployed', () => {
  it('ends failed when the release does not build, saying which release and what npm said', async () => {
    const run = await h.run('deploy', { version: '9.5.0-unbuildable' });
    expect(run.state).toBe('failed');
    expect(run.reason).toMatch(
      /^9\.5\.0-unbuildable could not be built, so nothing was deployed: npm ci for the release failed \(exit 1\): EUSAGE: The `npm ci` command can only install with an existing package-lock\.json or npm-shrinkwrap\.json with lockfileVersion >= 1\./,
    );
    expect(await attempts(run)).toEqual(['lock done', 'health-now done', 'headroom done', 'prepare failed']);
    await expectNothingChanged(run);
    // The half-made checkout is gone with its attempt.
    expect(readdirSync(releasesDirectory(h.stateDir))).toEqual([]);
  }, 240_000);

  it('ends failed when the disk fills up during the build, saying so and where; the half-made checkout is gone', async () => {
    // The releases directory on a real file system of 256 KiB: the checkout fills it part-way.
    const disk = mountTinyTmpfs(256 * 1024);
    const root = releasesDirectory(h.stateDir);
    const rootPattern = root.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
    rmSync(root, { recursive: true, force: true });
    symlinkSync(disk.dir, root);
    try {
      const run = await h.run('deploy', { version: '9.1.0' });
      expect(run.state).toBe('failed');
      expect(run.reason).toMatch(
        new RegExp(`^9\\.1\\.0 could not be built, so nothing was deployed: The disk holding ${rootPattern} is full \\(.*No space left on device.*\\); free space there .*Nothing was kept of this attempt\\.$`),
      );
      expect(await attempts(run)).toEqual(['lock done', 'health-now done', 'headroom done', 'prepare failed']);
      await expectNothingChanged(run);
      expect(readdirSync(disk.dir)).toEqual([]);
    } finally {
      rmSync(root, { force: true });
      disk.unmount();
    }
  }, 120_000);

  it('stops a deploy the disk has no room for before building anything, with the figures; abort frees the lock', async () => {
    const settings = h.stepPorts.deploySettings!;
    // The most the setting accepts (1024³ MB, a pebibyte): more than any test machine has.
    h.stepPorts.deploySettings = { ...TEST_DEPLOY_SETTINGS, minFreeDiskBytes: deploySettingsFromEnv({ ACGS_DEPLOY_MIN_FREE_DISK_MB: String(1024 ** 3) }).minFreeDiskBytes };
    let run: RunRecord;
    try {
      run = await h.run('deploy', { version: '9.1.0' });
    } finally {
      h.stepPorts.deploySettings = settings;
    }
    expect(run.state).toBe('needs_decision');
    expect(run.reason).toMatch(
      new RegExp(
        `^step "headroom" \\(.*\\) failed: not enough headroom to deploy 9\\.1\\.0, so nothing was built: .*Disk: \\d+\\.\\d (KiB|MiB|GiB|TiB) free in ${join(h.stateDir, 'backups')} \\(needs 1024\\.0 TiB\\)\\. Free what is short and retry, or abort$`,
      ),
    );
    expect(await attempts(run)).toEqual(['lock done', 'health-now done', 'headroom failed']);
    expect(existsSync(releasesDirectory(h.stateDir)) ? readdirSync(releasesDirectory(h.stateDir)) : []).toEqual([]);
    expect(await h.records.lock()).toMatchObject({ runId: run.id });
    await h.executor.abort(run.id, 'U0ONCALL');
    expect((await h.settle(run.id)).state).toBe('aborted');
    await expectNothingChanged(run);
  }, 120_000);

  it("ends failed at the validation when the temporary directory's disk is full, saying so and where; the scratch state is gone", async () => {
    // The validation's scratch state (TMPDIR) on a real file system of 256 KiB: the release's own
    // embedded PostgreSQL cannot even be made there.
    const disk = mountTinyTmpfs(256 * 1024);
    const tmp = process.env.TMPDIR;
    process.env.TMPDIR = disk.dir;
    try {
      const run = await h.run('deploy', { version: '9.1.0', services: 'audit-engine' });
      expect(run.state).toBe('failed');
      expect(run.reason).toMatch(
        new RegExp(
          `^9\\.1\\.0 could not be validated, so nothing was deployed: The disk holding ${disk.dir} \\(the temporary directory, TMPDIR\\) is full \\(ENOSPC\\): ` +
            'audit-engine of the release could not be validated with scratch state there \\(.+\\)\\. Free space there, or set TMPDIR to a disk with room, and deploy again\\. Its scratch state was removed\\.$',
        ),
      );
      expect(await attempts(run)).toEqual(['lock done', 'health-now done', 'headroom done', 'prepare done', 'validate failed']);
      await expectNothingChanged(run);
      // The scratch state is gone; tsx's compile cache (tsx-<uid>, of the embedded PostgreSQL's worker) is tsx's to keep.
      expect(readdirSync(disk.dir).filter((name) => !/^tsx-\d+$/.test(name))).toEqual([]);
    } finally {
      if (tmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmp;
      disk.unmount();
    }
  }, 120_000);
});
