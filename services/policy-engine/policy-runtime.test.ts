import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyInput } from './contract.js';
import { PolicyLoadError, PolicyRuntime, type ReloadOutcome } from './policy-runtime.js';
import { watchPolicyFile } from './policy-watcher.js';
import { DENY_ALL_REGO, buildWasm, compliantInput, eventually, policyWasmPath, tempDir } from './testing/policy-fixtures.js';

const NORMAL = { strict: false, lockdown: false };
let dir: ReturnType<typeof tempDir>;
let denyAll: Buffer;

beforeAll(() => {
  dir = tempDir('acgs-policy-runtime');
  denyAll = buildWasm(DENY_ALL_REGO);
});
afterAll(() => dir?.remove());

/** A private copy of the committed wasm that a test may overwrite. */
function copyOfPolicy(name: string): string {
  const path = join(dir.path, name);
  copyFileSync(policyWasmPath(), path);
  return path;
}

const readInput = PolicyInput.parse(compliantInput({ action: 'data.read' }));

describe('policy runtime', () => {
  it('names the policy version after the sha256 of the wasm bytes', async () => {
    const runtime = await PolicyRuntime.load(policyWasmPath(), NORMAL);
    const expected = createHash('sha256').update(readFileSync(policyWasmPath())).digest('hex').slice(0, 12);
    expect(runtime.version).toBe(expected);
  });

  it('evaluates decisions and passes the modes to the policy as data', async () => {
    const runtime = await PolicyRuntime.load(policyWasmPath(), NORMAL);
    const normal = runtime.decide(readInput);
    expect(normal.allow).toBe(true);
    expect(normal.mode).toEqual(NORMAL);
    runtime.applyModes({ strict: false, lockdown: true });
    const locked = runtime.decide(readInput);
    expect(locked.allow).toBe(false);
    expect(locked.mode.lockdown).toBe(true);
    expect(runtime.health()).toMatchObject({ status: 'healthy' });
  });

  it('refuses to start from a file that is not a policy, naming the file', async () => {
    const path = join(dir.path, 'garbage.wasm');
    writeFileSync(path, 'not wasm at all');
    await expect(PolicyRuntime.load(path, NORMAL)).rejects.toThrow(/garbage\.wasm is not a loadable OPA wasm module/);
    await expect(PolicyRuntime.load(join(dir.path, 'absent.wasm'), NORMAL)).rejects.toThrow(/cannot read .*absent\.wasm: ENOENT/);
  });

  it('refuses a wasm that lacks one of the three entrypoints', async () => {
    const path = join(dir.path, 'partial.wasm');
    writeFileSync(path, buildWasm(DENY_ALL_REGO, ['acgs/main/decision', 'acgs/main/allow']));
    await expect(PolicyRuntime.load(path, NORMAL)).rejects.toThrow(/lacks the entrypoint\(s\) acgs\/main\/health/);
  });

  it('reports an unchanged reload when the bytes did not change', async () => {
    const runtime = await PolicyRuntime.load(copyOfPolicy('same.wasm'), NORMAL);
    await expect(runtime.reload()).resolves.toEqual({ status: 'unchanged', version: runtime.version, previousVersion: runtime.version });
  });

  it('keeps serving the old policy when a reload fails, and says why', async () => {
    const path = copyOfPolicy('broken.wasm');
    const runtime = await PolicyRuntime.load(path, NORMAL);
    const before = runtime.version;
    writeFileSync(path, Buffer.from([0x00, 0x61, 0x73, 0x6d, 0xff]));
    const failure = await runtime.reload().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PolicyLoadError);
    expect(runtime.version).toBe(before);
    expect(runtime.decide(readInput).allow).toBe(true);
    expect(runtime.lastReloadError?.message).toMatch(/broken\.wasm/);
  });

  it('swaps to a new policy on reload, keeping the current modes and telling listeners', async () => {
    const path = copyOfPolicy('swap.wasm');
    const runtime = await PolicyRuntime.load(path, NORMAL);
    const outcomes: ReloadOutcome[] = [];
    runtime.onReload((outcome) => outcomes.push(outcome));
    const before = runtime.version;
    runtime.applyModes({ strict: true, lockdown: false });
    writeFileSync(path, denyAll);
    const outcome = await runtime.reload();
    expect(outcome.status).toBe('reloaded');
    expect(outcome.previousVersion).toBe(before);
    expect(runtime.version).not.toBe(before);
    const decision = runtime.decide(readInput);
    expect(decision.reasons).toEqual(['deny-all test policy']);
    expect(decision.mode.strict).toBe(true);
    expect(outcomes).toEqual([outcome]);
    expect(runtime.lastReloadError).toBeUndefined();
  });
});

describe('policy watcher', () => {
  it('calls back once after a burst of changes to the watched file, including a rename over it', async () => {
    const watched = tempDir('acgs-watch');
    try {
      const path = join(watched.path, 'policy.wasm');
      writeFileSync(path, 'v1');
      let calls = 0;
      const watcher = watchPolicyFile(path, 100, () => (calls += 1), () => undefined);
      try {
        writeFileSync(join(watched.path, 'unrelated.txt'), 'x');
        writeFileSync(`${path}.tmp`, 'v2');
        renameSync(`${path}.tmp`, path);
        writeFileSync(path, 'v3');
        await eventually(() => expect(calls).toBe(1), 5000);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(calls).toBe(1);
      } finally {
        watcher.close();
      }
    } finally {
      watched.remove();
    }
  });
});
