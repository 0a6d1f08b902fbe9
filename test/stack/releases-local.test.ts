/**
 * Releases of the embedded stack against a real git repository (test/testing/release-repo.ts):
 * resolving version words, checkouts under the state directory, and each release's service run
 * in isolation as a real process.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalReleaseBuilder, RELEASE_MARKER, releasesDirectory } from '../../services/stack/releases/local-releases.js';
import { ReleaseError, type ReleaseBuilder, type ReleaseRef } from '../../services/stack/releases/release.js';
import { createReleaseSource } from '../../services/stack/releases/release-source.js';
import { createReleaseRepo, type ReleaseRepo } from '../testing/release-repo.js';
import { mountTinyTmpfs } from '../testing/tiny-tmpfs.js';

const checkoutRoot = resolve(new URL('../../', import.meta.url).pathname);

let repo: ReleaseRepo;
let stateDir: string;
let builder: ReleaseBuilder;

beforeAll(() => {
  repo = createReleaseRepo();
  stateDir = mkdtempSync(join(tmpdir(), 'acgs-releases-state-'));
  builder = createLocalReleaseBuilder({ stateDir, source: createReleaseSource({ repo: repo.dir }) });
}, 60_000);

afterAll(() => {
  repo?.remove();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

async function releaseErrorOf(operation: Promise<unknown>): Promise<ReleaseError> {
  try {
    await operation;
  } catch (error) {
    if (error instanceof ReleaseError) return error;
    throw error;
  }
  throw new Error('expected the operation to fail with a ReleaseError');
}

describe('Release source: version words', () => {
  it('resolves 9.1.0 and v9.1.0 to the tag v9.1.0 and its commit', async () => {
    expect(await builder.resolve('9.1.0')).toEqual({ version: '9.1.0', ref: 'v9.1.0', commit: repo.commits['v9.1.0'] });
    expect(await builder.resolve('v9.1.0')).toEqual({ version: 'v9.1.0', ref: 'v9.1.0', commit: repo.commits['v9.1.0'] });
  });

  it('resolves a commit prefix of at least 7 hex digits to the full commit', async () => {
    const prefix = repo.commits['v9.0.0'].slice(0, 10);
    expect(await builder.resolve(prefix)).toEqual({ version: prefix, ref: repo.commits['v9.0.0'], commit: repo.commits['v9.0.0'] });
  });

  it('names the nearest tags for a version the repository does not have', async () => {
    const error = await releaseErrorOf(builder.resolve('9.1.1'));
    expect(error.code).toBe('UNKNOWN_VERSION');
    expect(error.message).toBe(`There is no release "9.1.1" in ${repo.dir}: no tag v9.1.1 or 9.1.1. The nearest tags: v9.1.0, v9.0.0, v9.2.0-bad.`);
    const commitLike = await releaseErrorOf(builder.resolve('deadbeef0'));
    expect(commitLike.message).toContain('no tag vdeadbeef0 or deadbeef0 and no single commit starting with it');
  });

  it('says what to deploy in a repository with no tags (a fresh clone): a commit, naming HEAD', async () => {
    const untagged = mkdtempSync(join(tmpdir(), 'acgs-untagged-'));
    try {
      const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd: untagged, encoding: 'utf8' }).trim();
      git('init', '-q');
      git('commit', '-q', '--allow-empty', '-m', 'first');
      const head = git('rev-parse', 'HEAD');
      const source = createReleaseSource({ repo: untagged });
      const error = await releaseErrorOf(source.resolve('1.4.0'));
      expect(error.code).toBe('UNKNOWN_VERSION');
      expect(error.message).toBe(
        `There is no release "1.4.0" in ${untagged}: no tag v1.4.0 or 1.4.0. The repository has no tags at all: deploy a commit of at least 7 hex digits instead (HEAD is ${head.slice(0, 7)}: \`deploy ${head.slice(0, 7)}\`), or tag a release (\`git tag v1.4.0 <commit>\`).`,
      );
      // What it suggests resolves.
      expect(await source.resolve(head.slice(0, 7))).toEqual({ version: head.slice(0, 7), ref: head, commit: head });
    } finally {
      rmSync(untagged, { recursive: true, force: true });
    }
  });

  it.each([
    ['--upload-pack=touch /tmp/pwned', 'looks like an option'],
    ['-h', 'looks like an option'],
    ['HEAD~1', 'is not a version'],
    ['v9.0.0..v9.1.0', 'is not a version'],
    ['@{-1}', 'is not a version'],
    ['v9.1.0;rm -rf /', 'is not a version'],
    ['v9.1.0\n', 'is not a version'],
    ['.hidden', 'is not a version'],
    ['refs.lock', 'is not a version'],
    ['', 'No version given'],
  ])('refuses %j before git sees it', async (word, why) => {
    // A repository that does not exist: had git been asked, the error would say so instead.
    const nowhere = createReleaseSource({ repo: join(stateDir, 'no-such-repo') });
    const error = await releaseErrorOf(nowhere.resolve(word));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain(why);
    expect(error.message).toContain('a version is a tag such as 1.4.0 or v1.4.0');
  });

  it('says when ACGS_RELEASE_REPO is not a git repository', async () => {
    const plain = mkdtempSync(join(tmpdir(), 'acgs-not-a-repo-'));
    try {
      const error = await releaseErrorOf(createReleaseSource({ env: { ACGS_RELEASE_REPO: plain } }).resolve('9.1.0'));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toMatch(new RegExp(`^ACGS_RELEASE_REPO \\(${plain}\\) is not a git repository \\(fatal: not a git repository.*\\); set ACGS_RELEASE_REPO`));
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
  });

  it('reads the repository this code runs from when ACGS_RELEASE_REPO is not set', async () => {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: checkoutRoot, encoding: 'utf8' }).trim();
    const source = createReleaseSource({ env: {} });
    expect(await source.repo()).toBe(execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: checkoutRoot, encoding: 'utf8' }).trim());
    expect((await source.resolve(head.slice(0, 12))).commit).toBe(head);
  });
});

describe('Local releases: prepare', () => {
  let ref: ReleaseRef;

  it('checks the release out under <state>/releases/<version>-<commit> sharing the running node_modules, and reuses it the second time', async () => {
    ref = await builder.resolve('9.1.0');
    const lines: string[] = [];
    const first = await builder.prepare(ref, { onProgress: (line) => lines.push(line) });
    const directory = join(releasesDirectory(stateDir), `9.1.0-${repo.commits['v9.1.0'].slice(0, 7)}`);
    expect(first).toMatchObject({ version: '9.1.0', ref: 'v9.1.0', commit: repo.commits['v9.1.0'] });
    expect(first.artifacts['policy-engine']).toEqual({ kind: 'directory', directory });
    expect(new Set(Object.values(first.artifacts).map((artifact) => JSON.stringify(artifact)))).toEqual(new Set([JSON.stringify({ kind: 'directory', directory })]));
    expect(JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')).version).toBe('9.1.0');
    expect(existsSync(join(directory, '.git'))).toBe(false);
    expect(lstatSync(join(directory, 'node_modules')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(directory, 'node_modules'))).toBe(join(checkoutRoot, 'node_modules'));
    expect(JSON.parse(readFileSync(join(directory, RELEASE_MARKER), 'utf8'))).toMatchObject({ commit: ref.commit, dependencies: 'shared' });
    expect(lines.some((line) => line.includes('sharing its node_modules'))).toBe(true);

    const markerTime = statSync(join(directory, RELEASE_MARKER)).mtimeMs;
    const again: string[] = [];
    expect(await builder.prepare(ref, { onProgress: (line) => again.push(line) })).toEqual(first);
    expect(again).toEqual([expect.stringMatching(/already prepared .*reusing it$/)]);
    expect(statSync(join(directory, RELEASE_MARKER)).mtimeMs).toBe(markerTime);
    expect(readdirSync(releasesDirectory(stateDir)).filter((entry) => entry.startsWith('.partial-'))).toEqual([]);
  }, 60_000);

  it('refuses a ref whose version or commit is not one resolve could have made, touching nothing', async () => {
    const before = readdirSync(releasesDirectory(stateDir));
    expect((await releaseErrorOf(builder.prepare({ ...ref, version: '../../etc' }))).code).toBe('INVALID_ARGUMENT');
    const badCommit = await releaseErrorOf(builder.prepare({ ...ref, commit: 'HEAD' }));
    expect(badCommit.message).toBe('"HEAD" is not a full commit; resolve the version first');
    expect(readdirSync(releasesDirectory(stateDir))).toEqual(before);
  });

  it('removes partial releases a process that is gone left behind, and keeps nothing of a cancelled prepare', async () => {
    const root = releasesDirectory(stateDir);
    const abandoned = join(root, '.partial-999999999-abcdef-9.0.0-1234567');
    mkdirSync(join(abandoned, 'services'), { recursive: true });
    const release = await builder.prepare(await builder.resolve('9.0.0'));
    expect(existsSync(abandoned)).toBe(false);
    expect(existsSync(join((release.artifacts['audit-engine'] as { directory: string }).directory, RELEASE_MARKER))).toBe(true);

    const cancelled = new AbortController();
    cancelled.abort(new Error('cancelled by the test'));
    const before = readdirSync(root).sort();
    await expect(builder.prepare(await builder.resolve('9.3.0-slow'), { signal: cancelled.signal })).rejects.toThrow('cancelled by the test');
    expect(readdirSync(root).sort()).toEqual(before);
  }, 60_000);

  it('fails with DISK_FULL on a full disk and leaves no partial release behind', async () => {
    const disk = mountTinyTmpfs(512 * 1024);
    try {
      const small = createLocalReleaseBuilder({ stateDir: disk.dir, source: createReleaseSource({ repo: repo.dir }) });
      const error = await releaseErrorOf(small.prepare(await small.resolve('9.0.0')));
      expect(error.code).toBe('DISK_FULL');
      expect(error.message).toMatch(new RegExp(`^The disk holding ${disk.dir}/releases is full \\(.*No space left on device.*\\); free space there`));
      expect(readdirSync(releasesDirectory(disk.dir))).toEqual([]);
    } finally {
      disk.unmount();
    }
  }, 60_000);
});

describe('Local releases: validate in isolation', () => {
  it('runs the good release\'s policy engine and audit engine on spare ports with scratch state: healthy, with the release\'s version', async () => {
    const release = await builder.prepare(await builder.resolve('9.1.0'));
    const policy = await builder.validate(release, 'policy-engine', { timeoutMs: 30_000 });
    expect(policy).toMatchObject({ service: 'policy-engine', healthy: true });
    expect(policy.detail).toMatch(/^policy-engine 9\.1\.0 answered \/health \w+ on 127\.0\.0\.1:\d+$/);
    expect(policy.detail).not.toMatch(/:800[1-4]$/);
    const audit = await builder.validate(release, 'audit-engine', { timeoutMs: 60_000 });
    expect(audit).toMatchObject({ service: 'audit-engine', healthy: true });
    expect(audit.detail).toContain('audit-engine 9.1.0 answered /health');
  }, 120_000);

  it('reports the bad release\'s policy engine unhealthy, saying what its /health answered', async () => {
    const release = await builder.prepare(await builder.resolve('9.2.0-bad'));
    const result = await builder.validate(release, 'policy-engine', { timeoutMs: 8_000 });
    expect(result.healthy).toBe(false);
    expect(result.detail).toMatch(/^policy-engine was not healthy within 8 s: \/health answered 503 \(unhealthy/);
    expect(result.durationMs).toBeGreaterThanOrEqual(8_000);
  }, 60_000);

  it('refuses a service the stack does not have', async () => {
    const release = await builder.prepare(await builder.resolve('9.1.0'));
    const error = await releaseErrorOf(builder.validate(release, 'web' as never));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('the services are sandbox-controller, evolution-oversight, audit-engine, policy-engine');
  });
});
