/**
 * The two releases the bench deploys: v9.0.0 and v9.1.0 of the release fixture repository, built
 * by the Docker release builder on acgs-test/node-npm, before any timing starts. The images are
 * tagged under a version word of this run only (9.0.0-bench<hex>), so that the release tests,
 * which remove acgs/*:9.* around themselves, and this bench never take each other's images.
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { releaseImage } from '../../services/stack/releases/docker-releases.js';
import { testDockerReleaseBuilder } from '../../test/testing/docker-releases.js';
import { createReleaseRepo, type ReleaseRepo } from '../../test/testing/release-repo.js';

export interface BenchRelease {
  /** What the services report in /health: the package.json version. */
  served: string;
  /** The image tag's version word (ACGS_RELEASE_VERSION in test/fixtures/compose/release-images.yml). */
  tag: string;
  images: Record<ServiceName, string>;
}

export interface BenchReleases {
  from: BenchRelease;
  to: BenchRelease;
  /** Untags every image tagged here (an image goes with its last tag) and removes the repository. */
  remove(): Promise<void>;
}

export async function buildBenchReleases(docker: Docker, say: (line: string) => void): Promise<BenchReleases> {
  const run = randomBytes(3).toString('hex');
  const repo: ReleaseRepo = createReleaseRepo();
  const tagged: string[] = [];
  const remove = async () => {
    for (const image of tagged) await docker.getImage(image).remove().catch(() => undefined);
    repo.remove();
  };
  try {
    const builder = await testDockerReleaseBuilder(docker, repo.dir);
    const build = async (fixtureTag: 'v9.0.0' | 'v9.1.0'): Promise<BenchRelease> => {
      const served = repo.versions[fixtureTag];
      const tag = `${served}-bench${run}`;
      const ref = await builder.resolve(fixtureTag);
      // Known before the build, so that a build failing half way is cleaned up too.
      tagged.push(...SERVICE_NAMES.map((service) => releaseImage(service, tag)));
      const started = Date.now();
      const prepared = await builder.prepare({ ...ref, version: tag });
      const images = Object.fromEntries(
        SERVICE_NAMES.map((service) => {
          const artifact = prepared.artifacts[service];
          if (artifact.kind !== 'image') throw new Error(`the Docker builder gave ${service} a ${artifact.kind}`);
          return [service, artifact.image];
        }),
      ) as Record<ServiceName, string>;
      say(`built ${fixtureTag} as ${images['policy-engine']} (and the other three tags) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      return { served, tag, images };
    };
    const from = await build('v9.0.0');
    const to = await build('v9.1.0');
    return { from, to, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
