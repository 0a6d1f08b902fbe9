/**
 * The CLI (bot/cli.ts, what `npx acgs` runs) in-process as an on-call operator: a config that maps
 * the test's operating-system user to U0CLIOPS with the on-call role (cli_users), a fresh database
 * of the real PostgreSQL as DATABASE_URL, the real Policy Engine for the stack's modes, and the
 * other three services at a loopback port where nothing listens.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../bot/cli.js';
import { unusedLoopbackUrl } from './loopback.js';
import { startPolicyEngine, type RunningPolicyEngine } from './policy-engine.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';

/** Who the CLI says the operator is. */
export const CLI_OPERATOR = `cli:${userInfo().username}`;

export interface CliAnswer {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOperator {
  db: TestDatabase;
  engine: RunningPolicyEngine;
  /** The config's and the state's directory (ACGS_STATE_DIR), removed by `close()`. */
  scratch: string;
  /** Runs `acgs <args>` with the operator's environment, `extra` over it. */
  acgs(args: string[], extra?: Record<string, string>): Promise<CliAnswer>;
  close(): Promise<void>;
}

/** `name` tells the suite's directory and database apart; `env` adds to (or overrides) the operator's. */
export async function startCliOperator(name: string, env: Record<string, string>): Promise<CliOperator> {
  const scratch = mkdtempSync(join(tmpdir(), `acgs-${name}-`));
  let db: TestDatabase | undefined;
  let engine: RunningPolicyEngine | undefined;
  const close = async () => {
    await engine?.close();
    await db?.drop();
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    const config = join(scratch, 'config.yaml');
    writeFileSync(config, `roles:\n  oncall: [U0CLIOPS]\ncli_users:\n  ${JSON.stringify(userInfo().username)}: U0CLIOPS\n`);
    db = await createTestDatabase(`acgs_${name.replace(/-/g, '_')}`);
    // The real Policy Engine: the command path reads its modes before anything Level 1 runs.
    engine = await startPolicyEngine();
    const unused = await unusedLoopbackUrl();
    const operatorEnv: Record<string, string> = {
      DATABASE_URL: db.url,
      ACGS_CONFIG: config,
      ACGS_STATE_DIR: scratch,
      POLICY_ENGINE_URL: engine.url,
      AUDIT_ENGINE_URL: unused,
      EVOLUTION_OVERSIGHT_URL: unused,
      SANDBOX_CONTROLLER_URL: unused,
      ACGS_CHECK_TIMEOUT_MS: '500',
      ACGS_CALL_TIMEOUT_MS: '500',
      ...env,
    };
    const acgs = async (args: string[], extra: Record<string, string> = {}): Promise<CliAnswer> => {
      let stdout = '';
      let stderr = '';
      const code = await runCli(args, { env: { ...operatorEnv, ...extra }, cwd: process.cwd(), stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
      return { code, stdout, stderr };
    };
    return { db, engine, scratch, acgs, close };
  } catch (error) {
    await close();
    throw error;
  }
}
