import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { localAdminToken, localServiceToken } from './local-services.js';
import { localToken, readTokenFile, tokenFile } from './local-tokens.js';

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length > 0) rmSync(dirs.pop()!, { recursive: true, force: true });
});

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'acgs-tokens-'));
  dirs.push(dir);
  return dir;
}

const NO_ENV = {};

describe('the local stack’s tokens', () => {
  it('generates the admin and the service token once, 64 hex characters each, mode 0600, different from each other', () => {
    const dir = stateDir();
    const admin = localAdminToken(dir, NO_ENV);
    const service = localServiceToken(dir, NO_ENV);
    expect(admin).toEqual({ token: expect.stringMatching(/^[0-9a-f]{64}$/), file: join(dir, 'admin-token') });
    expect(service).toEqual({ token: expect.stringMatching(/^[0-9a-f]{64}$/), file: join(dir, 'service-token') });
    expect(service.token).not.toBe(admin.token);
    for (const file of [admin.file!, service.file!]) expect(statSync(file).mode & 0o777).toBe(0o600);
    // The next start reads the same tokens back.
    expect(localAdminToken(dir, NO_ENV).token).toBe(admin.token);
    expect(localServiceToken(dir, NO_ENV).token).toBe(service.token);
  });

  it('takes a token from its variable when it is long enough, writing no file', () => {
    const dir = stateDir();
    const token = 'e'.repeat(32);
    expect(localToken('service', dir, { ACGS_SERVICE_TOKEN: token })).toEqual({ token, file: undefined });
    expect(() => statSync(tokenFile(dir, 'service'))).toThrow(/ENOENT/);
  });

  it('refuses a variable shorter than 32 characters, naming it but not its value', () => {
    const dir = stateDir();
    for (const [kind, name] of [['admin', 'ACGS_ADMIN_TOKEN'], ['service', 'ACGS_SERVICE_TOKEN']] as const) {
      const attempt = () => localToken(kind, dir, { [name]: 'hunter2' });
      expect(attempt).toThrow(`${name} holds a token of 7 characters; at least 32 are required (generate one with: openssl rand -hex 32)`);
      expect(attempt).not.toThrow(/hunter2/);
    }
  });

  it('refuses, at every start, a token file that group or others may read or write, and leaves it as it was', () => {
    const dir = stateDir();
    const { token, file } = localServiceToken(dir, NO_ENV);
    for (const mode of [0o640, 0o604, 0o660, 0o602, 0o644]) {
      chmodSync(file!, mode);
      const attempt = () => localServiceToken(dir, NO_ENV);
      expect(attempt).toThrow(`may be read or written by group or others (mode 0${mode.toString(8)})`);
      expect(attempt).toThrow(`run chmod 600 ${file}, or remove the file to have a new token generated`);
      expect(attempt).not.toThrow(token);
      expect(statSync(file!).mode & 0o777).toBe(mode);
      expect(readFileSync(file!, 'utf8')).toBe(token);
    }
    chmodSync(file!, 0o600);
    expect(localServiceToken(dir, NO_ENV).token).toBe(token);
    chmodSync(file!, 0o400);
    expect(localServiceToken(dir, NO_ENV).token).toBe(token);
  });

  it('refuses a token file holding fewer than 32 characters', () => {
    const dir = stateDir();
    writeFileSync(tokenFile(dir, 'admin'), 'short\n', { mode: 0o600 });
    expect(() => localAdminToken(dir, NO_ENV)).toThrow(`${tokenFile(dir, 'admin')} holds a token of 5 characters; at least 32 are required`);
    writeFileSync(tokenFile(dir, 'service'), '', { mode: 0o600 });
    expect(() => localServiceToken(dir, NO_ENV)).toThrow('holds a token of 0 characters');
  });

  it('never writes a token through a link planted where the file belongs', () => {
    const dir = stateDir();
    const elsewhere = join(stateDir(), 'not-yet-there');
    symlinkSync(elsewhere, tokenFile(dir, 'service'));
    expect(() => localServiceToken(dir, NO_ENV)).toThrow(/could not be created nor read/);
    expect(() => statSync(elsewhere)).toThrow(/ENOENT/);
  });

  it('reads no token, and says nothing, where there is no file (the CLI without npm start)', () => {
    expect(readTokenFile(join(stateDir(), 'service-token'))).toBeUndefined();
  });

  it.runIf(process.getuid?.() === 0)('refuses a token file that belongs to another user (checked when the tests run as root, who can chown)', () => {
    const dir = stateDir();
    const { file } = localAdminToken(dir, NO_ENV);
    chownSync(file!, 65534, 65534);
    expect(() => localAdminToken(dir, NO_ENV)).toThrow(`belongs to user 65534, not to this user (0)`);
  });
});
