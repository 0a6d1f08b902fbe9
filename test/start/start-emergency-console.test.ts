/**
 * The constitutional emergency as a person runs it: `npm start` with nothing configured, the line
 * typed into the local Slack console as on-call. The bot's own wiring (bot/main.ts) hands the run
 * its incidents, its command path and its Slack: the lockdown's approval request must appear in
 * the run's thread with its buttons, the incident must be listed, and the lockdown
 * must not be applied.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_PORTS } from '../../services/kit/service-ports.js';
import { openConsoleSession, type ConsoleSession } from '../testing/console-session.js';
import { FIRM_PORTS_WAIT_MS, takeFirmPorts } from '../testing/firm-ports.js';
import { unusedLoopbackPort } from '../testing/loopback.js';
import { requireFreePorts, startNpmStart, waitForHealth } from '../testing/npm-start.js';

type ConsoleMessage = { text: string; blocks: unknown[]; ts: string };

let child: ChildProcess | undefined;
let stateDir: string | undefined;
let output = () => '';
let releaseFirmPorts: (() => Promise<void>) | undefined;
let session: ConsoleSession;

beforeAll(async () => {
  releaseFirmPorts = await takeFirmPorts();
  await requireFreePorts(SERVICE_PORTS);
  stateDir = mkdtempSync(join(tmpdir(), 'acgs-start-emergency-'));
  const started = startNpmStart({ stateDir, botPort: await unusedLoopbackPort() });
  child = started.child;
  output = started.output;
  for (const port of Object.values(SERVICE_PORTS)) await waitForHealth(port, 90_000, output);
  const deadline = Date.now() + 60_000;
  let link: string | undefined;
  while (!link && Date.now() < deadline) {
    link = /local Slack console: (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(output())?.[1];
    if (!link) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  if (!link) throw new Error(`npm start printed no console link\n${output().slice(-4000)}`);
  session = await openConsoleSession(link);
}, FIRM_PORTS_WAIT_MS + 120_000);

afterAll(async () => {
  const running = child;
  if (running && running.exitCode === null) {
    running.kill('SIGTERM');
    await new Promise((resolve) => running.once('exit', resolve));
  }
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  await releaseFirmPorts?.();
}, 30_000);

async function channelId(name: string): Promise<string> {
  const workspace = await session.get<{ channels: { id: string; name: string }[] }>('workspace');
  return workspace.channels.find((channel) => channel.name === name)!.id;
}

async function waitForMessage(channel: string, matches: (message: ConsoleMessage) => boolean, timeoutMs: number): Promise<ConsoleMessage | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const listed = await session.get<{ messages: ConsoleMessage[] }>(`messages?channel=${channel}&as=U0ONCALL`);
    const found = listed.messages.find(matches);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return undefined;
}

describe('the constitutional emergency from the console', () => {
  it("declares the incident, posts the lockdown as an approval request with buttons in the run's thread, and leaves the engine unlocked", async () => {
    const ops = await channelId('acgs-ops');
    const sent = await session.post('compose', { as: 'U0ONCALL', channel: ops, text: '/acgs run constitutional-emergency title="Console emergency"' });
    expect(sent.json).toEqual({ ok: true });

    // The request goes where the run is shown (its message's thread in ops; the approvals channel too when the config names one).
    const runMessage = await waitForMessage(ops, (message) => message.text.startsWith('Runbook constitutional-emergency succeeded'), 30_000);
    expect(runMessage, `the run did not succeed\n${output().slice(-3000)}`).toBeDefined();
    expect(JSON.stringify(runMessage!.blocks)).toContain('nothing is locked down until approvers approve');
    let card: ConsoleMessage | undefined;
    for (const deadline = Date.now() + 15_000; !card && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 250))) {
      const thread = await session.get<{ messages: ConsoleMessage[] }>(`thread?channel=${ops}&ts=${runMessage!.ts}&as=U0ONCALL`);
      card = thread.messages.find((message) => message.text.startsWith('Approval pending: lockdown constitutional violation emergency, INC-'));
    }
    expect(card, 'no lockdown approval card in the run thread').toBeDefined();
    expect(JSON.stringify(card!.blocks)).toMatch(/"action_id":"[^"]*approve/i);

    const incidents = await session.post('compose', { as: 'U0ONCALL', channel: ops, text: '/acgs incidents' });
    expect(incidents.json).toEqual({ ok: true });
    const listed = await waitForMessage(ops, (message) => JSON.stringify(message).includes('Console emergency'), 15_000);
    expect(listed, 'the incident is not listed').toBeDefined();

    const metrics = (await (await fetch(`http://127.0.0.1:${SERVICE_PORTS['policy-engine']}/v1/metrics`)).json()) as { mode: { lockdown: boolean } };
    expect(metrics.mode.lockdown).toBe(false);
  }, 90_000);
});
