import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README_PATH, commandsTable, readmeTable } from '../../scripts/readme-commands.js';

describe('the README command table', () => {
  it('lists exactly the registered commands with their usage, summary and level (npm run docs:commands rewrites it)', () => {
    const table = readmeTable(readFileSync(README_PATH, 'utf8'));
    expect(table, 'README.md lost its commands:start/commands:end block').toBeDefined();
    expect(table).toBe(commandsTable());
  });
});
