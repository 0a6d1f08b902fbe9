/**
 * A stand-in for a service that writes a database, for the restore tests: it inserts a row into
 * `writer_ticks` every few milliseconds and answers GET /health with 200, so the local Stack driver
 * can supervise, stop and start it like the Audit Engine. Ends on SIGTERM or when its supervisor's
 * IPC channel closes (the supervisor died).
 *
 *   node --import tsx runbooks/backup/testing/writer-process.ts <database url> <port>
 */
import { createServer } from 'node:http';
import pg from 'pg';

const [databaseUrl, port] = process.argv.slice(2);
const client = new pg.Client({ connectionString: databaseUrl, application_name: 'acgs-test-writer' });
let running = true;

const server = createServer((request, response) => {
  response.writeHead(request.url === '/health' ? 200 : 404, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ status: 'healthy', pid: process.pid }));
});

async function stop(): Promise<void> {
  running = false;
  server.close();
  await client.end().catch(() => undefined);
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('disconnect', () => void stop());

await client.connect();
server.listen(Number(port), '127.0.0.1');
while (running) {
  await client.query('INSERT INTO writer_ticks (pid) VALUES ($1)', [process.pid]).catch((error: Error) => process.stderr.write(`tick failed: ${error.message}\n`));
  await new Promise((resolve) => setTimeout(resolve, 10));
}
