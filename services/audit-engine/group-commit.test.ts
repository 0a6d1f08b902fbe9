import { describe, expect, it } from 'vitest';
import { createGroupCommitter } from './group-commit.js';

function deferred() {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}

describe('group commit', () => {
  it('commits a lone request at once and coalesces requests that arrive while it runs', async () => {
    const groups: number[][][] = [];
    const gate = deferred();
    const committer = createGroupCommitter<number, number>({
      maxItems: 100,
      async commit(requests) {
        groups.push(requests);
        if (groups.length === 1) await gate.promise;
        return requests.map((items) => items.map((item) => item * 10));
      },
    });
    const first = committer.submit([1]);
    const others = [committer.submit([2]), committer.submit([3, 4]), committer.submit([5])];
    expect(groups).toEqual([[[1]]]);
    gate.release();
    expect(await first).toEqual([10]);
    expect(await Promise.all(others)).toEqual([[20], [30, 40], [50]]);
    expect(groups).toEqual([[[1]], [[2], [3, 4], [5]]]);
  });

  it('keeps groups within the item limit and never splits a request', async () => {
    const groups: number[][][] = [];
    const gate = deferred();
    const committer = createGroupCommitter<number, number>({
      maxItems: 3,
      async commit(requests) {
        groups.push(requests);
        if (groups.length === 1) await gate.promise;
        return requests.map((items) => items);
      },
    });
    const all = [committer.submit([0]), committer.submit([1, 2]), committer.submit([3, 4]), committer.submit([5, 6, 7, 8])];
    gate.release();
    await Promise.all(all);
    expect(groups).toEqual([[[0]], [[1, 2]], [[3, 4]], [[5, 6, 7, 8]]]);
  });

  it('retries the requests of a failed group one by one when the error is about the data', async () => {
    const gate = deferred();
    let calls = 0;
    const committer = createGroupCommitter<string, string>({
      maxItems: 100,
      isolate: (error) => (error as Error).message === 'bad data',
      async commit(requests) {
        calls += 1;
        if (calls === 1) await gate.promise;
        if (requests.flat().includes('bad')) throw new Error('bad data');
        return requests;
      },
    });
    const first = committer.submit(['first']);
    const good = committer.submit(['good']);
    const bad = committer.submit(['bad']);
    gate.release();
    await expect(first).resolves.toEqual(['first']);
    await expect(good).resolves.toEqual(['good']);
    await expect(bad).rejects.toThrow('bad data');
  });

  it('fails every request of a group when the error is not about the data', async () => {
    const gate = deferred();
    let calls = 0;
    const committer = createGroupCommitter<string, string>({
      maxItems: 100,
      isolate: () => false,
      async commit() {
        calls += 1;
        if (calls === 1) await gate.promise;
        throw new Error('database down');
      },
    });
    const all = [committer.submit(['a']), committer.submit(['b']), committer.submit(['c'])];
    gate.release();
    const results = await Promise.allSettled(all);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(calls).toBe(2);
    await committer.drained();
  });
});
