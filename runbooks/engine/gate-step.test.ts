import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineRunbook, RunbookDefinitionError } from './definition.js';
import { gateStep } from './gate-step.js';
import type { GatePorts, GateRef, GateState } from './ports.js';
import { createRunbookRegistry } from './registry.js';
import { createRunExecutor, type RunExecutor } from './run-executor.js';
import { runbookTestDatabase, type RunbookTestDatabase } from './testing/database.js';
import { scriptedRunbook } from './testing/scripted-runbooks.js';

let t: RunbookTestDatabase;
beforeAll(async () => {
  t = await runbookTestDatabase();
});
afterAll(async () => {
  await t?.close();
});

/** Approvals in memory: a test ends a request by hand; every open is counted. */
function fakeGates() {
  const requests = new Map<string, GateState>();
  const opened: GateRef[] = [];
  const checked = { count: 0 };
  let next = 0;
  const gates: GatePorts = {
    async open(gate) {
      opened.push(gate);
      const key = `${gate.runId}/${gate.stepId}`;
      const current = requests.get(key);
      if (current && current.state !== 'refused') return current;
      const state: GateState = { state: 'waiting', request: `req-${(next += 1)}` };
      requests.set(key, state);
      return state;
    },
    async check(gate) {
      checked.count += 1;
      return requests.get(`${gate.runId}/${gate.stepId}`)!;
    },
  };
  const end = (runId: string, stepId: string, state: 'passed' | 'refused') => {
    const key = `${runId}/${stepId}`;
    const request = requests.get(key)!.request;
    requests.set(key, state === 'passed' ? { state, request, by: ['U0APPROVER'] } : { state, request, why: 'denied by U0APPROVER: not now' });
  };
  return { gates, opened, checked, end };
}

async function marks(runId: string): Promise<string[]> {
  return (await t.pool.query<{ step_id: string }>('SELECT step_id FROM runbook_test_marks WHERE run_id = $1 ORDER BY id', [runId])).rows.map((row) => row.step_id);
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const gated = () => scriptedRunbook(t.pool, 'gated', [{ id: 'check', kind: 'check' }, { id: 'approve', kind: 'gate', gate: { level: 2, pollEveryMs: 20 } }, { id: 'act' }]);

function executorWith(gates?: GatePorts): RunExecutor {
  return createRunExecutor({ store: t.store, registry: createRunbookRegistry([gated()]), leaseMs: 2000, renewEveryMs: 200, ports: gates ? { gates } : {} });
}

describe('a gate step', () => {
  it('holds the run until its request passes, then the act runs with who approved in the output', async () => {
    const fake = fakeGates();
    const executor = executorWith(fake.gates);
    const run = await executor.submit({ runbook: 'gated', args: {}, requester: 'U0ONCALL', origin: 'test' });
    await executor.scanNow();
    // Several looks at a request still waiting, and the act has not run.
    await until(async () => fake.checked.count, (n) => n >= 3);
    expect(await marks(run.id)).toEqual(['check']);
    expect((await executor.get(run.id)).state).toBe('running');
    fake.end(run.id, 'approve', 'passed');
    await executor.idle();
    const done = await executor.get(run.id);
    expect(done.state).toBe('succeeded');
    expect(await marks(run.id)).toEqual(['check', 'act']);
    const gate = (await t.store.attempts(run.id)).find((attempt) => attempt.stepId === 'approve')!;
    expect(gate.output).toEqual({ passed: true, request: 'req-1', approvedBy: ['U0APPROVER'] });
    await executor.stop();
  });

  it('stops the run for a decision when the request is refused, saying who and why; the act never runs', async () => {
    const fake = fakeGates();
    const executor = executorWith(fake.gates);
    const run = await executor.submit({ runbook: 'gated', args: {}, requester: 'U0ONCALL', origin: 'test' });
    await executor.scanNow();
    await until(async () => fake.opened.length, (n) => n > 0);
    fake.end(run.id, 'approve', 'refused');
    await executor.idle();
    const stopped = await executor.get(run.id);
    expect(stopped.state).toBe('needs_decision');
    expect(JSON.stringify(stopped.detail)).toContain('denied by U0APPROVER: not now');
    expect(await marks(run.id)).toEqual(['check']);
    // Skipping would let the run past its approvers.
    await expect(executor.decide(run.id, 'skip', 'U0ONCALL')).rejects.toThrow();
    // A retry asks again: a new request, since the first one was refused.
    await executor.decide(run.id, 'retry', 'U0ONCALL');
    await executor.scanNow();
    await until(async () => fake.opened.length, (n) => n > 1);
    fake.end(run.id, 'approve', 'passed');
    await executor.idle();
    expect((await executor.get(run.id)).state).toBe('succeeded');
    const gate = (await t.store.attempts(run.id)).filter((attempt) => attempt.stepId === 'approve').at(-1)!;
    expect(gate.output).toMatchObject({ request: 'req-2' });
    await executor.stop();
  });

  it('fails, asking nobody, in a process without approvals', async () => {
    const executor = executorWith(undefined);
    const run = await executor.submit({ runbook: 'gated', args: {}, requester: 'U0ONCALL', origin: 'test' });
    await executor.scanNow();
    await executor.idle();
    const stopped = await executor.get(run.id);
    expect(stopped.state).toBe('needs_decision');
    expect(JSON.stringify(stopped.detail)).toContain('StepPorts.gates is missing');
    expect(await marks(run.id)).toEqual(['check']);
    await executor.stop();
  });

  it('is refused at definition time when skippable, below Level 2, a gate kind without settings, or asking a count of approvers that is no whole number from 1 to 10', () => {
    const base = { source: import.meta.url, name: 'bad-gate', summary: 'x', level: 1 as const, args: z.object({}) };
    const act = { id: 'act', kind: 'act' as const, title: 'Act', timeoutMs: 1000, idempotent: true, run: async () => null, dryRun: async () => ({ mode: 'description' as const, text: 'x' }) };
    expect(() => defineRunbook({ ...base, steps: [{ ...gateStep({ id: 'g', title: 'Gate', level: 2, timeoutMs: 1000 }), skippable: true }] })).toThrow(RunbookDefinitionError);
    expect(() => defineRunbook({ ...base, steps: [gateStep({ id: 'g', title: 'Gate', level: 1 as never, timeoutMs: 1000 })] })).toThrow(/level is 2 to 4/);
    expect(() => defineRunbook({ ...base, steps: [{ ...act, kind: 'gate' }] })).toThrow(/only a gate step/);
    expect(() => defineRunbook({ ...base, steps: [{ ...act, gate: { level: 2 } }] })).toThrow(/only a gate step/);
    for (const approvals of [0, 1.5, 11, Number.NaN]) {
      expect(() => defineRunbook({ ...base, steps: [gateStep({ id: 'g', title: 'Gate', level: 2, timeoutMs: 1000, approvals })] })).toThrow(/approvals are a whole number from 1 to 10/);
    }
    const counted = defineRunbook({ ...base, steps: [gateStep({ id: 'g', title: 'Gate', level: 3, timeoutMs: 1000, approvals: 3 })] });
    expect(counted.steps[0]!.gate).toEqual({ level: 3, approvals: 3 });
  });
});
