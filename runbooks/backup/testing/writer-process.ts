/**
 * A stand-in for a service that writes a database, for the restore tests: it inserts a row into
 * `writer_ticks` every few milliseconds and answers GET /health with 200, so the local Stack driver
 * can supervise, stop and start it like the Audit Engine. Ends on SIGTERM or when its supervisor's
 * IPC channel closes (the supervisor died).
 *
 * With `audit-engine` it is the real Audit Engine besides (its settings from the AUDIT_*, ACGS_*
 * variables, as main.ts reads them; /health is the engine's), closed gracefully on SIGTERM as the
 * service is, so that it signs its last checkpoint. The ticks then go through the engine's own
 * pool: an embedded PGlite database serves one session.
 *
 *   node --import tsx runbooks/backup/testing/writer-process.ts <database url> <port> [audit-engine]
 */
import { createServer } from 'node:http';
import pg from 'pg';
import { buildApp } from '../../../services/audit-engine/app.js';
import { loadConfig } from '../../../services/audit-engine/config.js';

const [databaseUrl, port, role] = process.argv.slice(2);
let running = true;

interface Writer {
  tick(): Promise<unknown>;
  close(): Promise<void>;
}

async function bareWriter(): Promise<Writer> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'acgs-test-writer' });
  const server = createServer((request, response) => {
    response.writeHead(request.url === '/health' ? 200 : 404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ status: 'healthy', pid: process.pid }));
  });
  await client.connect();
  server.listen(Number(port), '127.0.0.1');
  return {
    tick: () => client.query('INSERT INTO writer_ticks (pid) VALUES ($1)', [process.pid]),
    async close() {
      server.close();
      await client.end().catch(() => undefined);
    },
  };
}

async function auditEngineWriter(): Promise<Writer> {
  const settings = Object.fromEntries(Object.entries(process.env).filter(([name]) => /^(AUDIT_|ACGS_)/.test(name)));
  const app = buildApp(loadConfig({ ...settings, DATABASE_URL: databaseUrl, PORT: port, DATABASE_POOL_MAX: '1' }), { logger: false });
  await app.ready();
  await app.listen({ host: '127.0.0.1', port: Number(port) });
  return {
    tick: () => app.auditDb.query('INSERT INTO writer_ticks (pid) VALUES ($1)', [process.pid]),
    close: () => app.close(),
  };
}

const writer = role === 'audit-engine' ? await auditEngineWriter() : await bareWriter();

async function writeTicks(): Promise<void> {
  while (running) {
    await writer.tick().catch((error: Error) => process.stderr.write(`tick failed: ${error.message}\n`));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
const ticking = writeTicks();

let stopping: Promise<void> | undefined;
function stop(): Promise<void> {
  stopping ??= (async () => {
    running = false;
    await ticking;
    await writer.close();
    process.exit(0);
  })();
  return stopping;
}
process.on('SIGTERM', () => void stop());
process.on('disconnect', () => void stop());
