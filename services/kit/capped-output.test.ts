import { describe, expect, it } from 'vitest';
import { CappedOutput, completeUtf8Length } from './capped-output.js';

function write(output: CappedOutput, ...chunks: string[]): Promise<void> {
  return new Promise((resolve) => {
    for (const chunk of chunks) output.write(Buffer.from(chunk));
    output.end(resolve);
  });
}

describe('capped output', () => {
  it('keeps everything under the cap and says it is complete', async () => {
    const output = new CappedOutput(10);
    await write(output, 'abc', 'def');
    expect(output.text()).toBe('abcdef');
    expect(output.total).toBe(6);
    expect(output.truncated).toBe(false);
  });

  it('keeps the first bytes up to the cap and counts the rest', async () => {
    const output = new CappedOutput(5);
    await write(output, 'abc', 'defgh', 'ijk');
    expect(output.text()).toBe('abcde');
    expect(output.total).toBe(11);
    expect(output.truncated).toBe(true);
  });

  it('drops a multi-byte character that the cap cuts in half', async () => {
    const output = new CappedOutput(4);
    await write(output, 'ab€'); // € is 3 bytes: only one fits
    expect(output.text()).toBe('ab');
    expect(output.truncated).toBe(true);
  });

  it('finds the end of the last complete UTF-8 character', () => {
    expect(completeUtf8Length(Buffer.from('héllo'))).toBe(6);
    expect(completeUtf8Length(Buffer.from('h€').subarray(0, 3))).toBe(1);
    expect(completeUtf8Length(Buffer.from('😀').subarray(0, 3))).toBe(0);
    expect(completeUtf8Length(Buffer.from('😀'))).toBe(4);
  });
});
