/**
 * The runbooks this process can run, by name and by version. Registering a changed definition
 * adds a version and leaves the older ones: a run started on an older version finishes on it
 * while this process lives. After a restart only the versions in the code are there, and a run
 * whose version is gone stops for a decision (run-executor.ts).
 */
import type { AnyRunbook } from './definition.js';
import { RunbookInputError } from './errors.js';

export interface RunbookRegistry {
  /** Adds the definition; the same version again changes nothing. The last one registered is the current one. */
  register(runbook: AnyRunbook): void;
  /** The current version of each runbook, by name. */
  list(): AnyRunbook[];
  /** The current version; throws RunbookInputError (`unknown-runbook`) naming the known ones. */
  current(name: string): AnyRunbook;
  /** That exact version, or undefined when this process does not have it. */
  version(name: string, version: string): AnyRunbook | undefined;
}

export function createRunbookRegistry(runbooks: readonly AnyRunbook[] = []): RunbookRegistry {
  const versions = new Map<string, Map<string, AnyRunbook>>();
  const current = new Map<string, AnyRunbook>();
  const registry: RunbookRegistry = {
    register(runbook) {
      let byVersion = versions.get(runbook.name);
      if (!byVersion) versions.set(runbook.name, (byVersion = new Map()));
      byVersion.set(runbook.version, runbook);
      current.set(runbook.name, runbook);
    },
    list() {
      return [...current.values()].sort((a, b) => a.name.localeCompare(b.name));
    },
    current(name) {
      const runbook = current.get(name);
      if (runbook) return runbook;
      const known = [...current.keys()].sort();
      throw new RunbookInputError(
        'unknown-runbook',
        `There is no runbook "${name}". ${known.length ? `Runbooks: ${known.join(', ')}.` : 'No runbooks are registered.'}`,
      );
    },
    version(name, version) {
      return versions.get(name)?.get(version);
    },
  };
  for (const runbook of runbooks) registry.register(runbook);
  return registry;
}
