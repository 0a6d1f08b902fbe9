import { describe, expect, it } from 'vitest';
import { describeMigrations } from './migration-lines.js';

describe('describeMigrations', () => {
  it('names the store and what was applied, one line', () => {
    expect(describeMigrations('runbooks', ['1766100000000_runbook-runs', '1766200000000_runbook-gates'])).toBe(
      'runbooks: applied 2 migrations 1766100000000_runbook-runs, 1766200000000_runbook-gates',
    );
    expect(describeMigrations('notices', ['1767100000000_deployment-notice-deliveries'])).toBe('notices: applied migration 1767100000000_deployment-notice-deliveries');
  });

  it('says nothing when nothing was applied', () => {
    expect(describeMigrations('approvals', [])).toBeUndefined();
  });
});
