/**
 * Level 1 auto-resolution end to end on the embedded local stack (the services of `npm start` on
 * spare loopback ports) with the real authorization policy, the bot's audit trail and the alert
 * store on the real PostgreSQL, and the built-in monitor running under its lease, as bot/main.ts
 * wires them. A service's process is frozen (SIGSTOP): it no longer answers, yet the supervisor
 * sees no exit and does not restart it by itself, so only Level 1 can bring it back. The monitor
 * fires ServiceDown, Level 1 restarts the service through the command path (origin `auto`), it is
 * healthy within 30 s, the alert resolves, the note says what happened, and the trail has it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAlertMonitor } from '../../bot/alerts/alert-monitor.js';
import { createAlertStore, migrateAlertStore, type AlertChange, type AlertStore } from '../../bot/alerts/alert-store.js';
import { createLevelOneClaims } from '../../bot/alerts/level-one-claims.js';
import { LEVEL_ONE_ACTOR, startLevelOne, withLevelOneActor } from '../../bot/alerts/level-one-wiring.js';
import type { LevelOne } from '../../bot/alerts/level-one.js';
import { defaultAuthorizationData } from '../../bot/authorization/data.js';
import { createCommandPathDependencies, stackModesOf } from '../../bot/command-path/index.js';
import { createLeaderDuty, createLeaseStore, migrateLeaseStore, type LeaderDuty } from '../../bot/leadership/index.js';
import { createCommandRegistry } from '../../commands/index.js';
import { createPool } from '../../services/kit/postgres.js';
import type { ServiceName } from '../../services/kit/service-ports.js';
import { startLocalServices, type LocalServices } from '../../services/stack/local/local-services.js';
import { createLocalStack } from '../../services/stack/local/local-stack.js';
import type { Stack } from '../../services/stack/stack.js';
import { testGate, openTestTrail, type TestTrail } from '../testing/command-access.js';
import { unusedLoopbackPort } from '../testing/loopback.js';

const SERVICES: readonly ServiceName[] = ['sandbox-controller', 'evolution-oversight', 'audit-engine', 'policy-engine'];
const VICTIM = 'audit-engine';
const FINGERPRINT = `monitor/ServiceDown/service=${VICTIM}`;
const RULES = defaultAuthorizationData().level_one;

let stateDir: string;
let services: LocalServices;
let stack: Stack;
let opened: TestTrail;
let pool: pg.Pool;
let alerts: AlertStore;
let monitorDuty: LeaderDuty | undefined;
let levelOne: LevelOne | undefined;
let frozenPid: number | undefined;
const logged: string[] = [];
const changes: Array<{ change: AlertChange; receivedAt: number }> = [];
const waiters: Array<() => void> = [];

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'acgs-level-one-'));
  const ports = {} as Record<ServiceName, number>;
  for (const service of SERVICES) ports[service] = await unusedLoopbackPort();
  services = await startLocalServices({ stateDir, ports, env: { ACGS_STATE_DIR: stateDir }, log: () => undefined });
  for (const process of services.processes) {
    if (!(await process.waitUntilHealthy(60_000))) throw new Error(`${process.name} did not become healthy`);
  }
  stack = createLocalStack({ processes: services.processes, stateDir });
  // The trail, the alerts, the claims and the lease in one database, as the bot keeps them.
  opened = await openTestTrail({ prefix: 'acgs_level_one' });
  pool = createPool({ databaseUrl: opened.db.url, max: 4, applicationName: 'acgs-level-one-test' });
  await migrateAlertStore(pool);
  await migrateLeaseStore(pool);
  alerts = createAlertStore({ pool });
  alerts.onChange((change) => {
    changes.push({ change, receivedAt: Date.now() });
    for (const wake of waiters.splice(0)) wake();
  });
}, 120_000);

afterAll(async () => {
  await monitorDuty?.stop();
  await levelOne?.stop();
  if (frozenPid !== undefined) {
    try {
      process.kill(frozenPid, 'SIGCONT');
    } catch {
      // Gone already: Level 1 restarted it.
    }
  }
  await stack?.close().catch(() => undefined);
  await services?.stop().catch(() => undefined);
  await pool?.end().catch(() => undefined);
  await opened?.close();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

/** The first change that matches, as the store announced it; undefined when none came before the deadline. */
function changeWhere(matches: (change: AlertChange) => boolean, deadlineMs: number): Promise<{ change: AlertChange; receivedAt: number } | undefined> {
  const deadline = Date.now() + deadlineMs;
  return new Promise((resolve) => {
    const look = () => {
      const found = changes.find((entry) => matches(entry.change));
      if (found) return resolve(found);
      if (Date.now() >= deadline) return resolve(undefined);
      const timer = setTimeout(look, deadline - Date.now());
      waiters.push(() => {
        clearTimeout(timer);
        look();
      });
    };
    look();
  });
}

it('restarts a frozen service on its own, verifies it healthy within 30 s, and the alert resolves with what happened', async () => {
  const gate = await testGate({ roles: withLevelOneActor({}, RULES), modes: stackModesOf(createCommandPathDependencies({ endpoints: services.endpoints, stack, checkTimeoutMs: 2000 })) });
  const deps = { ...createCommandPathDependencies({ endpoints: services.endpoints, stack, checkTimeoutMs: 2000 }), authorization: gate, trail: opened.trail };
  levelOne = startLevelOne({
    execution: { registry: createCommandRegistry(), services: deps, logError: (reference, error) => logged.push(`${reference}: ${(error as Error).message}`) },
    alerts,
    pool,
    rules: RULES,
    modes: stackModesOf(deps),
    holder: 'replica-test',
    log: (message, error) => logged.push(error ? `${message}: ${(error as Error).message}` : message),
  });
  let leading!: () => void;
  const monitoring = new Promise<void>((resolve) => (leading = resolve));
  monitorDuty = createLeaderDuty({
    leases: createLeaseStore(pool),
    name: 'alert-monitor',
    holder: 'replica-test',
    start: () => startAlertMonitor({ services: deps, alerts, onError: (error) => logged.push(`monitor: ${(error as Error).message}`) }),
    onEvent: (event) => event.kind === 'leading' && leading(),
    onError: (error, what) => logged.push(`${what}: ${(error as Error).message}`),
  });
  await monitoring;

  const victim = services.processes.find((candidate) => candidate.name === VICTIM)!;
  frozenPid = victim.pid()!;
  const frozenAt = Date.now();
  process.kill(frozenPid, 'SIGSTOP');

  const fired = await changeWhere((change) => change.alert.fingerprint === FINGERPRINT && change.event.kind === 'fired', 15_000);
  expect(fired, 'no ServiceDown fired within 15 s of the freeze').toBeDefined();
  expect(fired!.receivedAt - frozenAt).toBeLessThanOrEqual(10_000);
  const alertId = fired!.change.alert.id;

  const acted = await changeWhere((change) => change.alert.id === alertId && change.event.kind === 'auto-action', 45_000);
  expect(acted, `Level 1 noted nothing within 45 s; log: ${logged.join(' | ')}`).toBeDefined();
  const { event } = acted!.change;
  expect(event.actor).toBe('level-1');
  expect(event.details).toMatchObject({ action: 'restart-service', command: `restart ${VICTIM}`, outcome: 'succeeded', attempt: 1, service: VICTIM, evidence: expect.stringMatching(new RegExp(`^${VICTIM} answered its health check healthy [0-9.]+ s after Level 1 began the restart\\.$`)) });
  expect(event.details!.duration_ms as number).toBeLessThanOrEqual(30_000);
  expect(acted!.receivedAt - fired!.receivedAt, 'killed -> healthy again by Level 1').toBeLessThanOrEqual(30_000);
  expect(victim.pid()).not.toBe(frozenPid);
  expect(await victim.waitUntilHealthy(1000)).toBe(true);

  const resolved = await changeWhere((change) => change.alert.id === alertId && change.event.kind === 'resolved', 15_000);
  expect(resolved, 'the ServiceDown did not resolve within 15 s of the restart').toBeDefined();
  expect(await alerts.get(alertId)).toMatchObject({ state: 'resolved', resolvedBy: null });

  // Exactly one action, claimed and finished; in the trail as the bot's own, origin auto.
  expect(await createLevelOneClaims(pool).ofEpisode(alertId, fired!.change.alert.firedAt)).toMatchObject([{ attempt: 1, outcome: 'succeeded', claimedBy: 'replica-test', command: `restart ${VICTIM}` }]);
  const records = (await opened.trail.query({ user: LEVEL_ONE_ACTOR.id })).records;
  expect(records.map((record) => `${record.kind} ${record.command} ${record.origin}`)).toEqual(expect.arrayContaining(['command restart auto', 'execution restart auto', 'result restart auto']));
  expect(records.find((record) => record.kind === 'result')).toMatchObject({ outcome: 'ok', args: { service: VICTIM } });
  expect(logged.filter((line) => !line.startsWith('level 1: restart'))).toEqual([]);
}, 90_000);
