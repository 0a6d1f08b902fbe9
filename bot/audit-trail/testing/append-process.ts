/**
 * A separate bot process for the trail's tests: appends records and prints one JSON line per
 * append that returned, so a test can run two writers at once, or kill one right after an append.
 *
 *   tsx bot/audit-trail/testing/append-process.ts '{"databaseUrl": "...", "spoolDir": "...", "label": "a", "count": 50}'
 *
 * `count` omitted: appends until killed. `concurrency`: appends in flight at once (default 1).
 * `waitForGo`: after `{"started": true}`, waits for a line on stdin, so several writers start together.
 */
import { createInterface } from 'node:readline';
import { createPool } from '../../../services/kit/postgres.js';
import { createAuditTrail } from '../audit-trail.js';

interface ChildOptions {
  databaseUrl: string;
  spoolDir: string;
  label: string;
  count?: number;
  concurrency?: number;
  writeTimeoutMs?: number;
  waitForGo?: boolean;
}

const options = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;
const pool = createPool({ databaseUrl: options.databaseUrl, max: 2, applicationName: `acgs-trail-test-${options.label}` });
const trail = createAuditTrail({
  pool,
  spoolDir: options.spoolDir,
  writeTimeoutMs: options.writeTimeoutMs ?? 5000,
  retryMinMs: 50,
  retryMaxMs: 200,
});
await trail.start();
console.log(JSON.stringify({ started: true }));
if (options.waitForGo) {
  const lines = createInterface({ input: process.stdin });
  await new Promise((resolve) => lines.once('line', resolve));
  lines.close();
}

const concurrency = options.concurrency ?? 1;
let next = 0;
async function writer(): Promise<void> {
  while (options.count === undefined || next < options.count) {
    const index = next;
    next += 1;
    const receipt = await trail.append({
      kind: 'command',
      actor: options.label,
      origin: 'cli',
      command: 'scale',
      args: { service: 'policy-engine', replicas: index },
      details: { writer: options.label, index },
      key: `${options.label}-${index}`,
    });
    console.log(JSON.stringify({ acked: index, stored: receipt.stored }));
  }
}
await Promise.all(Array.from({ length: concurrency }, writer));
await trail.close();
await pool.end();
console.log(JSON.stringify({ done: true }));
