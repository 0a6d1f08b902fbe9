/**
 * Where releases come from: the release repository (ACGS_RELEASE_REPO, else the git repository
 * this code runs from) and what a version word names in it. `1.4.0` is tag `v1.4.0`, else tag
 * `1.4.0`, else a commit of at least 7 hex digits. Only git itself reads the repository; a word is
 * checked here before git sees it, so text from a person never becomes an option or a revision
 * expression (`HEAD~1`, `@{-1}`, `--upload-pack=...`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { distance } from 'fastest-levenshtein';
import { ReleaseError, type ReleaseRef } from './release.js';

const run = promisify(execFile);

/** Letters, digits and `._+-`, starting with a letter or digit: a tag name or a commit prefix, nothing git would read as more. */
const VERSION_WORD = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$/;
const COMMIT_PREFIX = /^[0-9a-f]{7,40}$/i;
const NEAREST_TAGS = 3;
const GIT_TIMEOUT_MS = 30_000;

const ACCEPTED = 'a version is a tag such as 1.4.0 or v1.4.0, or a commit of at least 7 hex digits (letters, digits and . _ + - only, not starting with - or .)';

/** A fresh clone has no tags: say what to deploy instead, with a commit that works. */
async function untaggedHint(repoDir: string): Promise<string> {
  const head = await commitOf(repoDir, 'HEAD');
  const commit = head ? ` (HEAD is ${head.slice(0, 7)}: \`deploy ${head.slice(0, 7)}\`)` : '';
  return `The repository has no tags at all: deploy a commit of at least 7 hex digits instead${commit}, or tag a release (\`git tag v1.4.0 <commit>\`)`;
}

/** Refuses a word that is not a plain tag name or commit prefix, before any git call. */
export function requireVersionWord(version: unknown): string {
  if (typeof version !== 'string' || version.trim() === '') {
    throw new ReleaseError('INVALID_ARGUMENT', `No version given: ${ACCEPTED}`);
  }
  const shown = JSON.stringify(version.slice(0, 80));
  if (version.startsWith('-')) throw new ReleaseError('INVALID_ARGUMENT', `${shown} looks like an option, not a version: ${ACCEPTED}`);
  // `..` is a range and `.lock` a name git refuses for refs: neither is a release.
  if (!VERSION_WORD.test(version) || version.includes('..') || version.endsWith('.lock') || version.endsWith('.')) {
    throw new ReleaseError('INVALID_ARGUMENT', `${shown} is not a version: ${ACCEPTED}`);
  }
  return version;
}

export interface ReleaseSourceOptions {
  /** The release repository; default ACGS_RELEASE_REPO, else the repository this code runs from. */
  repo?: string;
  env?: NodeJS.ProcessEnv;
}

export interface ReleaseSource {
  /** The repository's top-level directory. */
  repo(): Promise<string>;
  resolve(version: string): Promise<ReleaseRef>;
  /** The tree of a resolved commit as a tar stream on the child's stdout (`git archive`). */
  archive(commit: string): Promise<ChildProcess>;
  /** The version package.json gives at a resolved commit: what its services report in /health. */
  packageVersion(commit: string): Promise<string>;
}

const GIT_ENV = { GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' };

async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run('git', args, { cwd, timeout: GIT_TIMEOUT_MS, env: { ...process.env, ...GIT_ENV }, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** `git rev-parse --verify` of one candidate: its commit, or undefined when the repository has no such thing. */
async function commitOf(repo: string, revision: string): Promise<string | undefined> {
  try {
    const commit = (await git(repo, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${revision}^{commit}`])).trim();
    return /^[0-9a-f]{40}$/.test(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}

function gitMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

export function createReleaseSource(options: ReleaseSourceOptions = {}): ReleaseSource {
  const env = options.env ?? process.env;
  const configured = options.repo ?? env.ACGS_RELEASE_REPO;
  let topLevel: Promise<string> | undefined;

  async function findRepo(): Promise<string> {
    const start = configured ?? dirname(fileURLToPath(import.meta.url));
    const named = configured ? `ACGS_RELEASE_REPO (${configured})` : `the directory this code runs from (${start})`;
    try {
      return (await git(start, ['rev-parse', '--show-toplevel'])).trim();
    } catch (error) {
      if (gitMissing(error) && !configured) throw new ReleaseError('INVALID_ARGUMENT', `git is not installed (or ${start} is missing); releases are read with git: install it`, { cause: error });
      const said = String((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split('\n')[0];
      throw new ReleaseError(
        'INVALID_ARGUMENT',
        `${named} is not a git repository (${said}); set ACGS_RELEASE_REPO to the repository releases are tagged in`,
        { cause: error },
      );
    }
  }

  const repo = () => (topLevel ??= findRepo().catch((error: unknown) => {
    topLevel = undefined; // a repository created or fixed later is found on the next call
    throw error;
  }));

  async function nearestTags(repoDir: string, version: string): Promise<string[]> {
    const tags = (await git(repoDir, ['tag', '--list'])).split('\n').filter(Boolean);
    const score = (tag: string) => Math.min(distance(tag, version), distance(tag, `v${version}`));
    return tags.sort((a, b) => score(a) - score(b) || a.localeCompare(b)).slice(0, NEAREST_TAGS);
  }

  return {
    repo,

    async resolve(version) {
      const word = requireVersionWord(version);
      const repoDir = await repo();
      for (const tag of word.startsWith('v') ? [word] : [`v${word}`, word]) {
        const commit = await commitOf(repoDir, `refs/tags/${tag}`);
        if (commit) return { version: word, ref: tag, commit };
      }
      if (COMMIT_PREFIX.test(word)) {
        const commit = await commitOf(repoDir, word.toLowerCase());
        if (commit) return { version: word, ref: commit, commit };
      }
      const nearest = await nearestTags(repoDir, word);
      const tried = word.startsWith('v') ? `no tag ${word}` : `no tag v${word} or ${word}`;
      const orCommit = COMMIT_PREFIX.test(word) ? ' and no single commit starting with it' : '';
      const hint = nearest.length > 0 ? `The nearest tags: ${nearest.join(', ')}` : await untaggedHint(repoDir);
      throw new ReleaseError('UNKNOWN_VERSION', `There is no release ${JSON.stringify(word)} in ${repoDir}: ${tried}${orCommit}. ${hint}.`);
    },

    async archive(commit) {
      if (!/^[0-9a-f]{40}$/.test(commit)) throw new ReleaseError('INVALID_ARGUMENT', `${JSON.stringify(String(commit).slice(0, 80))} is not a full commit; resolve the version first`);
      const repoDir = await repo();
      return spawn('git', ['archive', '--format=tar', commit], { cwd: repoDir, env: { ...process.env, ...GIT_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    },

    async packageVersion(commit) {
      if (!/^[0-9a-f]{40}$/.test(commit)) throw new ReleaseError('INVALID_ARGUMENT', `${JSON.stringify(String(commit).slice(0, 80))} is not a full commit; resolve the version first`);
      const version = (JSON.parse(await git(await repo(), ['show', `${commit}:package.json`])) as { version?: unknown }).version;
      if (typeof version !== 'string') throw new ReleaseError('BUILD_FAILED', `package.json at ${commit.slice(0, 12)} has no version; the services report it in /health, so a release needs one`);
      return version;
    },
  };
}
