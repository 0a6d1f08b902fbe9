import { describe, expect, it } from 'vitest';
import { createOperationGuard } from './operation-guard.js';
import { StackError } from './stack.js';

describe('operation guard', () => {
  it('refuses a second changing operation on a service while the first runs, saying which and since when', async () => {
    let clock = 1_000_000;
    const guard = createOperationGuard(() => clock);
    let finish!: () => void;
    const first = guard.run('web', 'restart', () => new Promise<string>((resolve) => (finish = () => resolve('restarted'))));
    clock += 12_000;
    const second = guard.run('web', 'scale', async () => 'scaled');
    await expect(second).rejects.toThrow(StackError);
    await expect(second).rejects.toMatchObject({
      code: 'BUSY',
      message: 'Cannot scale web now: a restart of web started 12 s ago and is still running; wait for its result, then check status',
    });
    finish();
    expect(await first).toBe('restarted');
  });

  it('lets operations on other services run at the same time', async () => {
    const guard = createOperationGuard();
    const results = await Promise.all([guard.run('web', 'restart', async () => 'web'), guard.run('db', 'restart', async () => 'db')]);
    expect(results).toEqual(['web', 'db']);
  });

  it('frees the service when the operation fails', async () => {
    const guard = createOperationGuard();
    await expect(guard.run('web', 'recreate', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await guard.run('web', 'restart', async () => 'again')).toBe('again');
  });
});
