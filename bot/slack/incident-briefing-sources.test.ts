/**
 * The briefing's parts read from the commands' ports: a port that is not set up, or that fails,
 * gives a part that says why (the briefing shows it as unread, never as empty). The parts read
 * from the real ports are covered end to end in test/commands/commands-incidents-slack.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createCommandDependencies } from '../../commands/dependencies.js';
import type { Alerts, AuditLogReader, Deployments } from '../../commands/ports.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { unusedLoopbackUrl } from '../../test/testing/loopback.js';
import { commandLine, gatherBriefingParts, RECENT_MS, recentDeployRows } from './incident-briefing-sources.js';

const NOW = new Date('2026-12-07T18:30:00Z');

async function services() {
  const nowhere = await unusedLoopbackUrl();
  return createCommandDependencies({ endpoints: Object.fromEntries(SERVICE_NAMES.map((name) => [name, nowhere])) as Record<ServiceName, string>, checkTimeoutMs: 300 });
}

describe('gatherBriefingParts', () => {
  it('says why each part it cannot read is missing, and still shows the health it can read', async () => {
    const parts = await gatherBriefingParts({ ...(await services()), alertsProblem: 'no DATABASE_URL' }, NOW);
    expect(parts.openAlerts).toEqual({ problem: 'no DATABASE_URL' });
    expect(parts.recentDeploys).toEqual({ problem: 'deployment records are not set up in this process' });
    expect(parts.recentCommands).toEqual({ problem: "the bot's audit trail is not set up in this process" });
    expect(Array.isArray(parts.health)).toBe(true);
    expect(parts.health).toEqual(expect.arrayContaining([expect.objectContaining({ service: 'policy-engine', tone: 'fail', detail: expect.stringContaining('unreachable') })]));
  });

  it('turns a port that fails into the reason, one part at a time', async () => {
    const failing = new Error('PostgreSQL is away');
    const alerts = { open: () => Promise.reject(failing) } as unknown as Alerts;
    const trail = { query: () => Promise.reject(failing) } as unknown as AuditLogReader;
    const parts = await gatherBriefingParts({ ...(await services()), alerts, trail }, NOW);
    expect(parts.openAlerts).toEqual({ problem: 'PostgreSQL is away' });
    expect(parts.recentCommands).toEqual({ problem: 'PostgreSQL is away' });
  });
});

describe('recentDeployRows', () => {
  it('keeps the last day of deploys and rollbacks, newest first, without the initial records; only Slack users are people', async () => {
    const record = (id: number, kind: string, at: number, requestedBy = 'U0ONCALL') => ({ id, service: 'policy-engine', version: `1.${id}.0`, kind, at: new Date(NOW.getTime() - at).toISOString(), requestedBy, outcome: 'live' });
    const deployments = {
      releases: async () => [{ service: 'policy-engine' }],
      history: async () => [record(1, 'initial', 60_000, 'stack start'), record(2, 'deploy', RECENT_MS + 60_000), record(3, 'deploy', 120_000, 'cli:olivia'), record(4, 'rollback', 60_000)],
    } as unknown as Deployments;
    const rows = await recentDeployRows({ ...(await services()), deployments }, NOW);
    expect(rows).toEqual([
      { service: 'policy-engine', version: '1.4.0', kind: 'rollback', at: new Date(NOW.getTime() - 60_000), by: 'U0ONCALL', outcome: 'live' },
      { service: 'policy-engine', version: '1.3.0', kind: 'deploy', at: new Date(NOW.getTime() - 120_000), outcome: 'live' },
    ]);
  });
});

describe('commandLine', () => {
  it('shows the arguments as /acgs audit does, flags as flags', () => {
    expect(commandLine({ command: 'restart', args: { service: 'policy-engine' } })).toBe('restart service=policy-engine');
    expect(commandLine({ command: 'backup', args: { 'dry-run': true, quiet: false, note: null } })).toBe('backup --dry-run');
    expect(commandLine({ command: 'scale', args: { replicas: 3 } })).toBe('scale replicas=3');
    expect(commandLine({ command: 'health', args: null })).toBe('health');
  });
});
