import { describe, expect, it } from 'vitest';
import { renderDocument } from '../bot/slack/render.js';
import { deployStatusDocument, deployUnlockedDocument, releasesDocument, versionText } from './deploy-documents.js';
import type { DeploymentRecordInfo, DeployLockInfo } from './ports.js';

const COMMIT = '3010ff20247c8a0bfd99493ca28e0653c96e3b36';

describe('deployment words', () => {
  it('show a version with what it resolved to only when that says more', () => {
    expect(versionText({ version: '1.4.0', ref: 'v1.4.0', commit: COMMIT })).toBe('1.4.0 (v1.4.0 · 3010ff2)');
    expect(versionText({ version: 'v1.4.0', ref: 'v1.4.0', commit: COMMIT })).toBe('v1.4.0 (3010ff2)');
    // A commit typed as the version: its full hash as the ref and its short one say nothing more.
    expect(versionText({ version: '3010ff2', ref: COMMIT, commit: COMMIT })).toBe('3010ff2');
    // Found running, then rolled back to: the version its /health said, and its commit once.
    expect(versionText({ version: '0.1.0', ref: COMMIT, commit: COMMIT })).toBe('0.1.0 (3010ff2)');
    expect(versionText({ version: '0.1.0', ref: null, commit: null })).toBe('0.1.0');
    // A hex-looking tag that is not the commit is still shown.
    expect(versionText({ version: '1.4.0', ref: 'deadbeef', commit: COMMIT })).toBe('1.4.0 (deadbeef · 3010ff2)');
  });

  it('show the version before a rollback as the release it took back', () => {
    const record = (fields: Partial<DeploymentRecordInfo>): DeploymentRecordInfo => ({
      id: 1, service: 'policy-engine', version: '0.1.0', ref: null, commit: null, artifact: null, kind: 'initial', runId: null, requestedBy: 'stack start', at: '2026-12-07T03:30:48.000Z', outcome: 'live', replacedVersion: null, ...fields,
    });
    const current = record({ id: 3, kind: 'rollback', requestedBy: 'U0ONCALL', replacedVersion: '0.1.1' });
    const document = releasesDocument([{ service: 'policy-engine', current, previous: record({ id: 2, version: '0.1.1', kind: 'deploy', outcome: 'rolled-back' }) }]);
    expect(document.blocks[0]).toMatchObject({ rows: [['policy-engine', '0.1.0', '0.1.1 (rolled back)', 'rollback', 'U0ONCALL, 2026-12-07 03:30:48Z']] });
  });

  it('name the people holding, taking and freeing the lock as mentions in Slack', () => {
    const lock: DeployLockInfo = {
      stack: 'local',
      runId: '852a3aa7-f9bb-4d8c-ac39-04f96d356bee',
      runbook: 'rollback',
      heldBy: 'U0ONCALL',
      since: '2026-12-07T03:30:48.000Z',
      takenFrom: { runId: '9e52a342-dbb5-4320-a050-05a5b9f19453', heldBy: 'U0DEPLOYER' },
    };
    const status = JSON.stringify(renderDocument(deployStatusDocument(lock)).blocks);
    expect(status).toContain('<@U0ONCALL> holds the deploy lock');
    expect(status).toContain('<@U0DEPLOYER>, run 9e52a342');
    const unlocked = JSON.stringify(renderDocument(deployUnlockedDocument(lock, 'runner hung, incident 42', 'U0ADMIN')).blocks);
    expect(unlocked).toContain('<@U0ADMIN> freed the deploy lock <@U0ONCALL> held');
  });
});
