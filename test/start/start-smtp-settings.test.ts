/**
 * `npm start` with e-mail settings that do not parse: the start stops before anything is started,
 * with a sentence naming the variable, and the SMTP password is never shown.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unusedLoopbackPort } from '../testing/loopback.js';

const stateDirs: string[] = [];
afterAll(() => {
  for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs bot/main.ts with `extra`. ACGS_STACK is a value no driver accepts: should the refusal be
 * missing, the start stops at the stack choice instead of starting services on the firm ports.
 */
async function start(extra: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const stateDir = mkdtempSync(join(tmpdir(), 'acgs-smtp-refusal-'));
  stateDirs.push(stateDir);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ACGS_STATE_DIR: stateDir, LOG_LEVEL: 'warn', PORT: String(await unusedLoopbackPort()), ACGS_STACK: 'no-driver', ...extra };
  const child = spawn(process.execPath, ['--import', 'tsx', 'bot/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const stopUnrefused = setTimeout(() => child.kill('SIGKILL'), 45_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(stopUnrefused);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('npm start with e-mail notice settings', () => {
  it('refuses an SMTP_URL that does not parse, naming it, without the password, before starting anything', async () => {
    const result = await start({ SMTP_URL: 'smtp://notices:hunter2@mail example.com:587', ACGS_NOTICE_EMAIL_TO: 'oncall@example.com' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[acgs] could not start: SMTP_URL is not a URL: write it as smtp://user:password@host:587');
    expect(result.stderr + result.stdout).not.toContain('hunter2');
    expect(result.stdout).not.toContain('stack:');
  }, 60_000);

  it('refuses SMTP_URL without anyone to send to, naming ACGS_NOTICE_EMAIL_TO', async () => {
    const result = await start({ SMTP_URL: 'smtp://127.0.0.1:2525', ACGS_NOTICE_EMAIL_FROM: 'acgs@example.com' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[acgs] could not start: SMTP_URL is set but ACGS_NOTICE_EMAIL_TO names nobody');
  }, 60_000);
});
