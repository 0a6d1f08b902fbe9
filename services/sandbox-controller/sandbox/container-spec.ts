import type Docker from 'dockerode';
import type { Language, Runtime } from '../contract.js';

/** Labels on every container this service creates; `docker ps --filter label=acgs.sandbox=1`. */
export const LABELS = {
  sandbox: 'acgs.sandbox',
  probe: 'acgs.sandbox.probe',
  id: 'acgs.sandbox.id',
  agentId: 'acgs.sandbox.agent_id',
  runtime: 'acgs.sandbox.runtime',
  controller: 'acgs.sandbox.controller',
  /** When the container is overdue (ISO 8601): past it, any controller may prune it as an orphan. */
  deadline: 'acgs.sandbox.deadline',
  timeoutSeconds: 'acgs.sandbox.timeout_seconds',
  memoryMb: 'acgs.sandbox.memory_mb',
  cpu: 'acgs.sandbox.cpu',
} as const;

/** Slack after the timeout before a container counts as orphaned (creation, teardown). */
export const ORPHAN_GRACE_MS = 60_000;

export interface SandboxSpecInput {
  sandboxId: string;
  agentId: string;
  language: Language;
  code: string;
  image: string;
  runtime: Runtime;
  timeoutSeconds: number;
  memoryMb: number;
  cpu: number;
  pidsLimit: number;
  tmpfsMb: number;
  controllerId: string;
  /** A runtime self-test rather than an agent's code: kept out of listings of sandboxes. */
  probe?: boolean;
  now?: Date;
}

/** How each language receives the code: as the one argument after the interpreter's flag. */
const INTERPRETER: Record<Language, string[]> = {
  sh: ['sh', '-c'],
  node: ['node', '-e'],
};

const MIB = 1024 * 1024;

/**
 * The Docker create options for one sandbox, as a pure function so the hardening is reviewable
 * and testable without an engine. The code travels in argv (never via a host file or mount);
 * the entrypoint is set explicitly so an image's own entrypoint cannot change how it is run.
 */
export function sandboxContainerSpec(input: SandboxSpecInput): Docker.ContainerCreateOptions {
  const now = input.now ?? new Date();
  const deadline = new Date(now.getTime() + input.timeoutSeconds * 1000 + ORPHAN_GRACE_MS);
  const memoryBytes = input.memoryMb * MIB;
  // tmpfs pages count against the memory limit; keeping it below the limit leaves room to run.
  const tmpfsMb = Math.max(1, Math.min(input.tmpfsMb, Math.floor(input.memoryMb / 2)));
  return {
    name: `acgs-sandbox-${input.sandboxId}`,
    Image: input.image,
    Entrypoint: INTERPRETER[input.language],
    Cmd: [input.code],
    Env: ['HOME=/tmp', 'TMPDIR=/tmp', 'LANG=C.UTF-8'],
    WorkingDir: '/tmp',
    User: '65534:65534',
    Hostname: 'sandbox',
    NetworkDisabled: true,
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: false,
    Tty: false,
    Labels: {
      [input.probe ? LABELS.probe : LABELS.sandbox]: '1',
      [LABELS.id]: input.sandboxId,
      [LABELS.agentId]: input.agentId,
      [LABELS.runtime]: input.runtime,
      [LABELS.controller]: input.controllerId,
      [LABELS.deadline]: deadline.toISOString(),
      [LABELS.timeoutSeconds]: String(input.timeoutSeconds),
      [LABELS.memoryMb]: String(input.memoryMb),
      [LABELS.cpu]: String(input.cpu),
    },
    HostConfig: {
      Runtime: input.runtime,
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': `rw,nosuid,nodev,noexec,size=${tmpfsMb}m,mode=1777` },
      Binds: [],
      Mounts: [],
      Privileged: false,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      IpcMode: 'private',
      PidsLimit: input.pidsLimit,
      Memory: memoryBytes,
      MemorySwap: memoryBytes,
      NanoCpus: Math.round(input.cpu * 1e9),
      Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 1024 }],
      // The output is read from the attach stream and capped there; a log driver would keep an
      // uncapped copy on the engine's disk.
      LogConfig: { Type: 'none', Config: {} },
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      AutoRemove: false,
    },
  };
}
