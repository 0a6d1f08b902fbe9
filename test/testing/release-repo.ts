/**
 * A throwaway release repository for the deploy, hotfix and rollback tests: the committed tree of
 * this checkout (`git archive HEAD`) in a fresh git repository, with four tagged releases:
 *
 * - v9.0.0: good, package.json version 9.0.0;
 * - v9.1.0: good, version 9.1.0;
 * - v9.2.0-bad: version 9.2.0, the policy engine's /health always answers 503 (unhealthy);
 * - v9.3.0-slow: version 9.3.0, healthy, but every policy decision waits SLOW_DECISION_MS first,
 *   which breaches the post-deploy watch's latency limit;
 * - v9.4.0-fragile: version 9.4.0, healthy in isolation (scratch state), but its policy engine's
 *   /health answers 503 while its ACGS_STATE_DIR (the stack's <state>/policy-engine) holds FRAGILE_RELEASE_TRIGGER: a release that
 *   passes validation and fails on the real stack, so the rollout's own rollback can be tested.
 *
 * The edits are small text replacements in the fixture's copy; each one checks that its target
 * is still there, so a change to the service fails here loudly instead of tagging a release that is
 * not bad or slow at all.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RELEASE_TAGS = ['v9.0.0', 'v9.1.0', 'v9.2.0-bad', 'v9.3.0-slow', 'v9.4.0-fragile'] as const;
export type ReleaseTag = (typeof RELEASE_TAGS)[number];

/** The file in the stack's state directory that makes v9.4.0-fragile's policy engine unhealthy. */
export const FRAGILE_RELEASE_TRIGGER = 'fragile-release-breaks';

/** How long the slow release's policy engine holds each decision. */
export const SLOW_DECISION_MS = 250;

export interface ReleaseRepo {
  /** The repository's directory: what ACGS_RELEASE_REPO is set to. */
  dir: string;
  /** The commit each tag names. */
  commits: Record<ReleaseTag, string>;
  /** The package.json version each tag carries (what GET /health reports). */
  versions: Record<ReleaseTag, string>;
  /** Removes the repository; safe to call twice. */
  remove(): void;
}

const checkoutRoot = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE_DATE = '2026-01-01T00:00:00Z';

function git(cwd: string, args: string[], input?: Buffer): string {
  return execFileSync('git', ['-c', 'user.name=ACGS release fixture', '-c', 'user.email=fixture@acgs.invalid', '-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false', ...args], {
    cwd,
    input,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
    // Fixed dates make the same tree give the same commits in every test file of a run, so
    // release images built by one (labelled with their commit) are reused by the next.
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', GIT_AUTHOR_DATE: FIXTURE_DATE, GIT_COMMITTER_DATE: FIXTURE_DATE },
  });
}

/** Replaces `from` with `to` in one file of the repository; `from` must be there. */
function edit(dir: string, file: string, from: string, to: string): void {
  const path = join(dir, file);
  const text = readFileSync(path, 'utf8');
  if (!text.includes(from)) throw new Error(`release fixture: ${file} no longer contains ${JSON.stringify(from)}; update test/testing/release-repo.ts`);
  writeFileSync(path, text.replaceAll(from, to));
}

/** Sets the version the way `npm version --no-git-tag-version` does: package.json and the root of package-lock.json. */
function setVersion(dir: string, version: string): void {
  const pkgPath = join(dir, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string };
  pkg.version = version;
  writeFileSync(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);
  const lockPath = join(dir, 'package-lock.json');
  const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as { version: string; packages: Record<string, { version?: string }> };
  lock.version = version;
  lock.packages['']!.version = version;
  writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
}

function release(dir: string, tag: ReleaseTag, version: string): string {
  setVersion(dir, version);
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', `release ${tag}`]);
  git(dir, ['tag', '-a', tag, '-m', `release ${tag}`]);
  return git(dir, ['rev-parse', 'HEAD']).trim();
}

export function createReleaseRepo(): ReleaseRepo {
  const dir = mkdtempSync(join(tmpdir(), 'acgs-release-repo-'));
  try {
    const tree = execFileSync('git', ['archive', '--format=tar', 'HEAD'], { cwd: checkoutRoot, maxBuffer: 256 * 1024 * 1024 });
    execFileSync('tar', ['-x', '-C', dir], { input: tree });
    git(dir, ['init', '-q', '-b', 'main']);
    const commits = {} as Record<ReleaseTag, string>;
    commits['v9.0.0'] = release(dir, 'v9.0.0', '9.0.0');
    commits['v9.1.0'] = release(dir, 'v9.1.0', '9.1.0');

    edit(dir, 'services/policy-engine/health.ts', "status: problems.length > 0 ? 'degraded' : 'healthy',", "status: 'unhealthy', // release v9.2.0-bad: broken on purpose");
    commits['v9.2.0-bad'] = release(dir, 'v9.2.0-bad', '9.2.0');
    git(dir, ['checkout', '-q', commits['v9.1.0'], '--', 'services/policy-engine/health.ts']);

    edit(
      dir,
      'services/policy-engine/routes/data-api.ts',
      'const served = await app.decisions.decide(input);',
      `await new Promise((resolve) => setTimeout(resolve, ${SLOW_DECISION_MS})); // release v9.3.0-slow\n    const served = await app.decisions.decide(input);`,
    );
    commits['v9.3.0-slow'] = release(dir, 'v9.3.0-slow', '9.3.0');
    git(dir, ['checkout', '-q', commits['v9.1.0'], '--', 'services/policy-engine/routes/data-api.ts']);

    edit(
      dir,
      'services/policy-engine/health.ts',
      "status: problems.length > 0 ? 'degraded' : 'healthy',",
      `status: process.getBuiltinModule('node:fs').existsSync(\`\${process.env.ACGS_STATE_DIR}/${FRAGILE_RELEASE_TRIGGER}\`) ? 'unhealthy' : problems.length > 0 ? 'degraded' : 'healthy', // release v9.4.0-fragile`,
    );
    commits['v9.4.0-fragile'] = release(dir, 'v9.4.0-fragile', '9.4.0');

    let removed = false;
    return {
      dir,
      commits,
      versions: { 'v9.0.0': '9.0.0', 'v9.1.0': '9.1.0', 'v9.2.0-bad': '9.2.0', 'v9.3.0-slow': '9.3.0', 'v9.4.0-fragile': '9.4.0' },
      remove() {
        if (removed) return;
        removed = true;
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
