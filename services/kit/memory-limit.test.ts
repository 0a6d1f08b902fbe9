import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryLimitBytes } from './memory-limit.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'acgs-memory-limit-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function cgroupFile(content: string): Promise<string> {
  const file = join(dir, `memory.max-${Math.random().toString(16).slice(2)}`);
  await writeFile(file, content);
  return file;
}

describe('memoryLimitBytes', () => {
  it("is the cgroup's limit when one is set below the machine's memory", async () => {
    expect(memoryLimitBytes(await cgroupFile('268435456\n'))).toBe(268_435_456);
  });

  it("is the machine's memory when the cgroup says max, is missing, or allows more than the machine has", async () => {
    expect(memoryLimitBytes(await cgroupFile('max\n'))).toBe(totalmem());
    expect(memoryLimitBytes(join(dir, 'absent'))).toBe(totalmem());
    expect(memoryLimitBytes(await cgroupFile(`${totalmem() * 4}\n`))).toBe(totalmem());
  });
});
