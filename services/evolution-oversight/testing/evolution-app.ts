import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Service } from '../../kit/service.js';
import { TEST_SERVICE_TOKEN } from '../../../test/testing/tokens.js';
import { buildApp } from '../app.js';

export interface EvolutionAppOptions {
  databaseUrl: string;
  policyEngineUrl: string;
  auditEngineUrl: string;
  /** Reuse a spool (to test a restart); a fresh temporary one otherwise. */
  spoolDir?: string;
  poolMax?: number;
  /** What its write routes require and its outbox sends; the kits' TEST_SERVICE_TOKEN unless given. */
  serviceToken?: string;
}

export interface RunningEvolutionApp {
  app: Service;
  spoolDir: string;
  close(): Promise<void>;
}

/** The service under test, ready (migrations applied), not listening: use inject() or listen(). */
export async function startEvolutionApp(options: EvolutionAppOptions): Promise<RunningEvolutionApp> {
  const ownSpool = options.spoolDir === undefined;
  const spoolDir = options.spoolDir ?? mkdtempSync(join(tmpdir(), 'eo-spool-'));
  const app = buildApp({
    port: 0,
    host: '127.0.0.1',
    databaseUrl: options.databaseUrl,
    databasePoolMax: options.poolMax ?? 10,
    policyEngineUrl: options.policyEngineUrl,
    policyEngineTimeoutMs: 2000,
    auditEngineUrl: options.auditEngineUrl,
    auditSpoolDir: spoolDir,
    auditFlushIntervalMs: 20,
    serviceToken: options.serviceToken ?? TEST_SERVICE_TOKEN,
  });
  try {
    await app.ready();
  } catch (error) {
    await app.close().catch(() => undefined);
    if (ownSpool) rmSync(spoolDir, { recursive: true, force: true });
    throw error;
  }
  return {
    app,
    spoolDir,
    async close() {
      await app.close();
      if (ownSpool) rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}
