import { describe, expect, it } from 'vitest';
import { LABELS, ORPHAN_GRACE_MS, type SandboxSpecInput, sandboxContainerSpec } from './container-spec.js';

const input: SandboxSpecInput = {
  sandboxId: '0b6c1e1e-1111-4222-8333-444455556666',
  agentId: 'agent-7',
  language: 'sh',
  code: 'echo "$HOME" > /tmp/x; cat /tmp/x',
  image: 'acgs-test/busybox:latest',
  runtime: 'runc',
  timeoutSeconds: 30,
  memoryMb: 256,
  cpu: 1.5,
  pidsLimit: 128,
  tmpfsMb: 64,
  controllerId: 'controller-1',
  now: new Date('2030-01-01T00:00:00.000Z'),
};

describe('sandbox container spec', () => {
  it('passes the code as the single argument of the interpreter, overriding any image entrypoint', () => {
    const spec = sandboxContainerSpec(input);
    expect(spec.Entrypoint).toEqual(['sh', '-c']);
    expect(spec.Cmd).toEqual([input.code]);
    const node = sandboxContainerSpec({ ...input, language: 'node', code: 'console.log(1)' });
    expect(node.Entrypoint).toEqual(['node', '-e']);
    expect(node.Cmd).toEqual(['console.log(1)']);
  });

  it('hardens the container: no network, read-only root, nobody, no capabilities, no new privileges', () => {
    const spec = sandboxContainerSpec(input);
    const host = spec.HostConfig!;
    expect(spec.NetworkDisabled).toBe(true);
    expect(host.NetworkMode).toBe('none');
    expect(host.ReadonlyRootfs).toBe(true);
    expect(spec.User).toBe('65534:65534');
    expect(host.CapDrop).toEqual(['ALL']);
    expect(host.CapAdd).toBeUndefined();
    expect(host.SecurityOpt).toContain('no-new-privileges');
    expect(host.Privileged).toBe(false);
  });

  it('mounts nothing from the host: only a size-limited tmpfs at /tmp', () => {
    const host = sandboxContainerSpec(input).HostConfig!;
    expect(host.Binds).toEqual([]);
    expect(host.Mounts).toEqual([]);
    expect(Object.keys(host.Tmpfs ?? {})).toEqual(['/tmp']);
    expect(host.Tmpfs!['/tmp']).toMatch(/size=64m/);
    expect(host.Tmpfs!['/tmp']).toMatch(/nosuid/);
  });

  it('keeps the tmpfs below half the memory limit, since its pages count against it', () => {
    const host = sandboxContainerSpec({ ...input, memoryMb: 32 }).HostConfig!;
    expect(host.Tmpfs!['/tmp']).toMatch(/size=16m/);
  });

  it('limits memory without swap, CPU in nano-CPUs and the number of processes', () => {
    const host = sandboxContainerSpec(input).HostConfig!;
    expect(host.Memory).toBe(256 * 1024 * 1024);
    expect(host.MemorySwap).toBe(host.Memory);
    expect(host.NanoCpus).toBe(1_500_000_000);
    expect(host.PidsLimit).toBe(128);
  });

  it('keeps no log copy on the engine and removes nothing automatically (the controller does)', () => {
    const host = sandboxContainerSpec(input).HostConfig!;
    expect(host.LogConfig?.Type).toBe('none');
    expect(host.AutoRemove).toBe(false);
  });

  it('selects the runtime it is given', () => {
    expect(sandboxContainerSpec({ ...input, runtime: 'runsc' }).HostConfig!.Runtime).toBe('runsc');
    expect(sandboxContainerSpec(input).HostConfig!.Runtime).toBe('runc');
  });

  it('labels the container for listing and pruning, with a deadline past the timeout', () => {
    const labels = sandboxContainerSpec(input).Labels!;
    expect(labels[LABELS.sandbox]).toBe('1');
    expect(labels[LABELS.agentId]).toBe('agent-7');
    expect(labels[LABELS.id]).toBe(input.sandboxId);
    expect(labels[LABELS.controller]).toBe('controller-1');
    expect(Date.parse(labels[LABELS.deadline]!)).toBe(input.now!.getTime() + 30_000 + ORPHAN_GRACE_MS);
  });

  it('labels runtime probes apart from sandboxes so they are not listed as agent work', () => {
    const labels = sandboxContainerSpec({ ...input, probe: true }).Labels!;
    expect(labels[LABELS.sandbox]).toBeUndefined();
    expect(labels[LABELS.probe]).toBe('1');
  });
});
