import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXEC_COMMANDS, EXEC_COMMAND_NAMES } from './exec-commands.js';
import { STACK_ERROR_CODES, StackError, isStackError, serviceHealthOf } from './stack.js';

const readme = readFileSync('services/stack/README.md', 'utf8');

describe('StackError', () => {
  it('appends what was done and what was not to its message', () => {
    const error = new StackError('PARTIAL', 'web-3 did not become healthy.', { done: ['created web-2'], notDone: ['web-3 was not created'] });
    expect(error.message).toBe('web-3 did not become healthy. Done: created web-2. Not done: web-3 was not created.');
    expect(error.done).toEqual(['created web-2']);
    expect(error.reason).toBe('web-3 did not become healthy.');
    expect(isStackError(error, 'PARTIAL')).toBe(true);
    expect(isStackError(error, 'TIMEOUT')).toBe(false);
    expect(isStackError(new Error('x'))).toBe(false);
  });

  it.each(STACK_ERROR_CODES)('documents the code %s in the README', (code) => {
    expect(readme).toContain(`| \`${code}\` |`);
  });
});

describe('exec allow list', () => {
  it.each(EXEC_COMMAND_NAMES)('documents %s with its argv in the README', (name) => {
    const shown = EXEC_COMMANDS[name].argv.map((arg) => (arg.includes(' ') ? `"${arg}"` : arg)).join(' ');
    expect(readme).toContain(`| \`${name}\` | \`${shown}\` |`);
  });
});

describe('serviceHealthOf', () => {
  it.each([
    [[], 'down'],
    [[{ state: 'exited', health: 'none' }], 'down'],
    [[{ state: 'running', health: 'healthy' }, { state: 'running', health: 'none' }], 'healthy'],
    [[{ state: 'running', health: 'healthy' }, { state: 'exited', health: 'none' }], 'degraded'],
    [[{ state: 'running', health: 'healthy' }, { state: 'running', health: 'unhealthy' }], 'degraded'],
    [[{ state: 'running', health: 'starting' }], 'starting'],
    [[{ state: 'running', health: 'unhealthy' }], 'unhealthy'],
  ] as const)('calls replicas %j %s', (replicas, expected) => {
    expect(serviceHealthOf(replicas)).toBe(expected);
  });
});
