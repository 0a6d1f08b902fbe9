import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ServiceError } from './errors.js';

describe('error code registry', () => {
  const documentation = readFileSync(new URL('../ERRORS.md', import.meta.url), 'utf8');

  it.each(Object.keys(ERROR_CODES))('documents %s in services/ERRORS.md with its status', (code) => {
    const row = documentation.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
    expect(row, `services/ERRORS.md has no row for ${code}`).toBeDefined();
    expect(row).toContain(`| ${ERROR_CODES[code as keyof typeof ERROR_CODES].status} |`);
  });

  it('fills message templates and leaves unknown placeholders visible', () => {
    const error = new ServiceError('HASH_MISMATCH', { expected: 'cdd01ef066bc6cf2', actual: '"abc"' });
    expect(error.message).toBe('constitutional_hash must be "cdd01ef066bc6cf2" (got "abc"); this service only serves that constitution');
    expect(error.statusCode).toBe(400);
    expect(new ServiceError('NOT_FOUND').message).toBe('{detail}');
  });
});
