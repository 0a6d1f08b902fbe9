import { describe, expect, it } from 'vitest';
import { renderText } from '../bot/cli-render.js';
import { renderDocument } from '../bot/slack/render.js';
import { validateBlocks } from '../bot/slack/stand-in/block-kit.js';
import { backupIdArgument } from './backup-access.js';
import { backupsDocument } from './backup-documents.js';
import { backupArguments } from './backup.js';
import type { BackupListing } from './ports.js';
import type { ResultDocument } from './result.js';

const ROOT = '/var/lib/acgs/backups';

function listing(id: string, overrides: Partial<BackupListing> = {}): BackupListing {
  return { id, state: 'complete', bytes: 3 * 1024 * 1024 + 512 * 1024, ageSeconds: 240, verification: { state: 'never' }, ...overrides };
}

function slackValid(document: ResultDocument): void {
  expect(validateBlocks(renderDocument(document).blocks, 'message')).toEqual([]);
}

describe('the arguments of /acgs backup', () => {
  it('takes --dry-run and nothing else', () => {
    expect(backupArguments.parse({ line: '' })).toEqual({ dryRun: false });
    expect(backupArguments.parse({ line: '--dry-run' })).toEqual({ dryRun: true });
  });

  it.each([
    ['verfy 20261206T152000Z-a1b2c3', /`verfy` is not a word of `backup`; did you mean `backup verify <id>`\?/],
    ['now', /`now` is not a word of `backup`: `backup` makes a backup \(`--dry-run` shows its plan\), `backup verify <id>` checks one, `backups` lists them/],
    ['--force', /`--force` is not a word of `backup`/],
  ])('refuses %j, naming the word and what was meant', (line, message) => {
    const result = backupArguments.safeParse({ line });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.message).join('; ')).toMatch(message);
  });
});

describe('a backup id as an argument', () => {
  it('accepts the shape backups lists, and refuses anything else saying what one looks like', () => {
    expect(backupIdArgument.parse(' 20261206T152000Z-a1b2c3 ')).toBe('20261206T152000Z-a1b2c3');
    for (const bad of ['latest', '20261206T152000Z-A1B2C3', '../20261206T152000Z-a1b2c3', '20261206-a1b2c3']) {
      const result = backupIdArgument.safeParse(bad);
      expect(result.error?.issues[0]?.message).toMatch(/is not a backup id; a backup id looks like 20261206T152000Z-a1b2c3 \(`backups` lists them\)/);
    }
    expect(backupIdArgument.safeParse(undefined).error?.issues[0]?.message).toBe('name the backup to verify: its id, as `backups` lists it');
  });
});

describe('the backups document', () => {
  it('says there are none yet, where it looked, and how to make one', () => {
    const document = backupsDocument(ROOT, []);
    expect(document.summary).toBe('No backups yet. `backup` makes one (`backup --dry-run` shows its plan first).');
    expect(document.blocks).toEqual([{ type: 'fields', fields: [{ label: 'Backup directory', value: ROOT }] }]);
    slackValid(document);
  });

  it('lists each backup newest first with its state, size, age and verification', () => {
    const document = backupsDocument(ROOT, [
      listing('20261206T152000Z-a1b2c3', { verification: { state: 'verified', at: '2026-12-06T15:30:00.000Z' } }),
      listing('20261206T120000Z-0f0f0f', { ageSeconds: 12_000, verification: { state: 'failed', at: '2026-12-06T13:00:00.000Z', problem: 'bot.dump: 10 bytes, the manifest says 2048' } }),
      listing('20261206T110000Z-aaaaaa', { state: 'incomplete', bytes: 0, ageSeconds: 16_000, problem: 'no manifest.json: the backup did not finish' }),
      listing('20261205T020000Z-bbbbbb', { state: 'unreadable', bytes: 100, ageSeconds: 120_000, problem: 'manifest.json is not valid JSON' }),
    ]);
    expect(document.tone).toBe('warn');
    expect(document.summary).toBe('4 backups, newest 4 min 0 s ago: 2 complete (1 verified), 2 incomplete or unreadable, 1 failed verification. `backup verify <id>` checks one.');
    expect(document.blocks[1]).toEqual({
      type: 'table',
      columns: ['Backup', 'State', 'Size', 'Age', 'Verification'],
      rows: [
        ['20261206T152000Z-a1b2c3', 'complete', '3.5 MiB', '4 min 0 s ago', 'verified 2026-12-06 15:30:00Z'],
        ['20261206T120000Z-0f0f0f', 'complete', '3.5 MiB', '3 h 20 min ago', 'failed: bot.dump: 10 bytes, the manifest says 2048'],
        ['20261206T110000Z-aaaaaa', 'incomplete: no manifest.json: the backup did not finish', '0 B', '4 h 26 min ago', 'never'],
        ['20261205T020000Z-bbbbbb', 'unreadable: manifest.json is not valid JSON', '100 B', '1 d 9 h ago', 'never'],
      ],
    });
    slackValid(document);
    expect(renderText(document)).toContain(ROOT);
  });

  it('is calm when every backup is complete', () => {
    const document = backupsDocument(ROOT, [listing('20261206T152000Z-a1b2c3')]);
    expect(document.tone).toBe('info');
    expect(document.summary).toBe('1 backup, newest 4 min 0 s ago: 1 complete (0 verified). `backup verify <id>` checks one.');
  });
});
