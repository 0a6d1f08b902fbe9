/** Which artifact a rollback deploys as its record kept it, and which it checks out again. */
import { describe, expect, it } from 'vitest';
import { keptArtifact } from './rollback-plan.js';

const COMMIT = '71fe34457f6ee83bf3b4c3291cb11b3ad78463ce';

describe('the artifact a rollback goes back to', () => {
  it('is a deployed checkout or image as recorded', () => {
    const checkout = { kind: 'directory', directory: '/repo/.acgs/releases/3010ff2-3010ff2' } as const;
    expect(keptArtifact({ kind: 'deploy', artifact: checkout, commit: COMMIT })).toEqual(checkout);
    expect(keptArtifact({ kind: 'rollback', artifact: checkout, commit: COMMIT })).toEqual(checkout);
    const image = { kind: 'image', image: 'acgs/policy-engine:0.1.0' } as const;
    expect(keptArtifact({ kind: 'initial', artifact: image, commit: COMMIT })).toEqual(image);
  });

  it('is not the working tree the local stack was found running from: its commit is checked out instead', () => {
    expect(keptArtifact({ kind: 'initial', artifact: { kind: 'directory', directory: '/repo' }, commit: COMMIT })).toBeNull();
    // Without a commit there is nothing else to go back to.
    expect(keptArtifact({ kind: 'initial', artifact: { kind: 'directory', directory: '/repo' }, commit: null })).toEqual({ kind: 'directory', directory: '/repo' });
    expect(keptArtifact({ kind: 'deploy', artifact: null, commit: COMMIT })).toBeNull();
  });
});
