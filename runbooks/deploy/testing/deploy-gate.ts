/**
 * Holds chosen deploys of the runbooks' Stack until the test opens the gate, so that an abort (or
 * anything else) lands exactly where a test wants it: hand `wrap` to deployHarness as its
 * `runbookStack`. While closed, each deploy that `holds` picks waits; `arrivals` lists them.
 */
import type { ReleaseArtifact } from '../../../services/stack/releases/release.js';
import type { Stack } from '../../../services/stack/stack.js';

export interface DeployGate {
  /** The services whose deploys reached the closed gate, in order. */
  arrivals: string[];
  /** Closes the gate: deploys that `holds` picks wait from now on. */
  close(): void;
  /** Lets every held deploy through, and the later ones too. */
  open(): void;
  wrap(stack: Stack): Stack;
}

export function deployGate(holds: (service: string, artifact: ReleaseArtifact) => boolean): DeployGate {
  let closed = false;
  let release = () => undefined as void;
  let opened = Promise.resolve();
  const gate: DeployGate = {
    arrivals: [],
    close() {
      closed = true;
      opened = new Promise<void>((resolve) => (release = resolve));
    },
    open() {
      closed = false;
      release();
    },
    wrap: (stack) => ({
      ...stack,
      async deploy(service, artifact, options) {
        if (closed && holds(service, artifact)) {
          gate.arrivals.push(service);
          await opened;
        }
        return stack.deploy(service, artifact, options);
      },
    }),
  };
  return gate;
}
