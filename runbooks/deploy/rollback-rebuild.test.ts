/**
 * A rollback to a version whose release is no longer there (its checkout under
 * `<state>/releases/` was cleaned up since it was deployed), on the embedded stack of `npm start`
 * (deploy-harness.ts): the plan says so, the run prepares the same release again from the commit
 * on record, and every service goes back to it, recorded and announced as any rollback. Then not
 * back once more to what the stack ran when the bot first saw it: that initial record's commit, a
 * guess from the repository's HEAD, holds another version.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreparedRelease } from '../../services/stack/releases/release.js';
import { RELEASE_MARKER } from '../../services/stack/releases/local-releases.js';
import { ROLLOUT_ORDER } from './release-plan.js';
import { deployHarness, type DeployHarness } from './testing/deploy-harness.js';

let h: DeployHarness;
let previous: PreparedRelease;
let replacedRun: string;

beforeAll(async () => {
  h = await deployHarness();
  // As the bot does at its first look: each service's initial record, the checkout npm start runs.
  await h.records.releases();
  previous = (await h.deployByHand('9.0.0')).release;
  replacedRun = (await h.deployByHand('9.1.0')).runId;
}, 300_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

const directoryOf = (release: PreparedRelease) => (release.artifacts['policy-engine'] as { directory: string }).directory;

describe('rollback to a release whose checkout was removed', () => {
  it('plans to prepare it again from the commit on record, saying why', async () => {
    rmSync(directoryOf(previous), { recursive: true, force: true });
    const plan = await h.executor.plan('rollback', {}, { requester: 'U0ONCALL', origin: 'test' });
    const text = plan.steps.find((step) => step.id === 'plan')!.dryRun.text;
    const commit = previous.commit.slice(0, 12);
    expect(text).toBe(
      `in this order (the reverse of the rollout): ${[...ROLLOUT_ORDER]
        .reverse()
        .map((service) => `${service} 9.1.0 → 9.0.0 (v9.0.0 at ${commit}) (prepared again from the repository: its release directory ${directoryOf(previous)} is no longer there)`)
        .join(', ')}`,
    );
    // A plan only reads: nothing was prepared.
    expect(existsSync(directoryOf(previous))).toBe(false);
  });

  it('prepares it again and puts every service back on it, recorded and announced', async () => {
    const run = await h.run('rollback', {});
    expect(run.state, run.reason ?? '').toBe('succeeded');
    expect(run.reason).toBe(`Rolled back: ${ROLLOUT_ORDER.map((service) => `${service} runs 9.0.0`).join(', ')}.`);
    // The same release made again under its name: a complete checkout of the same commit.
    expect(existsSync(join(directoryOf(previous), RELEASE_MARKER))).toBe(true);
    for (const service of ROLLOUT_ORDER) {
      expect(await h.health(service)).toEqual({ status: 200, version: '9.0.0' });
      expect(await h.stack.running(service)).toEqual(previous.artifacts[service]);
      const [now, replaced] = await h.records.history(service, 2);
      expect(now).toMatchObject({ version: '9.0.0', kind: 'rollback', outcome: 'live', runId: run.id, commit: previous.commit, artifact: previous.artifacts[service], replacedVersion: '9.1.0' });
      expect(replaced).toMatchObject({ version: '9.1.0', outcome: 'rolled-back', runId: replacedRun });
    }
    const plan = (await h.output(run.id, 'plan')) as { services: Array<{ service: string; preparedAgain?: string }> };
    expect(plan.services.map((change) => [change.service, change.preparedAgain])).toEqual(
      ROLLOUT_ORDER.map((service) => [service, `its release directory ${directoryOf(previous)} is no longer there`]),
    );
    // A rollback's notice names what was rolled back: the services ran 9.1.0.
    expect(h.notices.map((notice) => `${notice.kind} ${notice.version} ${notice.runId}`)).toEqual([`rolled-back 9.1.0 ${run.id}`]);
    expect(await h.records.lock()).toBeNull();
  }, 300_000);

  it('refuses to go back to what the stack ran at its first start when the commit guessed for it holds another version', async () => {
    // The initial record's commit is the release repository's HEAD when the bot first looked
    // (v9.4.0-fragile, package.json 9.4.0), while the services reported this checkout's version.
    const initial = await h.records.history('policy-engine', 10).then((records) => records.find((record) => record.kind === 'initial')!);
    expect(initial).toMatchObject({ commit: h.repo.commits['v9.4.0-fragile'], artifact: { kind: 'directory', directory: process.cwd() } });
    expect(initial.version).not.toBe('9.4.0');
    const before = (await h.t.pool.query('SELECT count(*)::int AS n FROM runbook_runs')).rows[0].n;
    const refusal = await h.executor.submit({ runbook: 'rollback', args: {}, requester: 'U0ONCALL', origin: 'test' }).then(
      () => undefined,
      (caught: unknown) => caught as { message: string },
    );
    expect(refusal?.message).toBe(
      `audit-engine ran ${initial.version} when the bot first saw it, but the commit recorded with it (${h.repo.commits['v9.4.0-fragile'].slice(0, 12)}, the release repository's HEAD at that moment, a guess) has package.json version 9.4.0: that is not the release that ran, so it is not made again. Name the release to go back to with \`/acgs rollback --to <tag or commit of ${initial.version}>\``,
    );
    expect((await h.t.pool.query('SELECT count(*)::int AS n FROM runbook_runs')).rows[0].n).toBe(before);
    for (const service of ROLLOUT_ORDER) expect(await h.health(service)).toEqual({ status: 200, version: '9.0.0' });
  });
});
