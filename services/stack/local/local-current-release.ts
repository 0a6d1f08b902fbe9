/**
 * Which release directory each local service runs from after a deploy, kept in
 * `<state>/releases/current.json` (written whole or not at all), so that the next `npm start`
 * brings the services back on the deployed release rather than on the checkout it runs from.
 * A service without an entry runs the checkout's own code.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './local-state.js';

export interface CurrentReleaseEntry {
  directory: string;
  deployedAt: string;
}

export function currentReleaseFile(stateDir: string): string {
  return join(stateDir, 'releases', 'current.json');
}

/** The recorded directory per service; an unreadable or malformed file counts as none (the checkout's code runs, and start says so). */
export function readCurrentReleases(stateDir: string): Record<string, CurrentReleaseEntry> {
  try {
    const value = JSON.parse(readFileSync(currentReleaseFile(stateDir), 'utf8')) as { services?: Record<string, Partial<CurrentReleaseEntry>> };
    const entries: Record<string, CurrentReleaseEntry> = {};
    for (const [service, entry] of Object.entries(value.services ?? {})) {
      if (typeof entry?.directory === 'string' && typeof entry.deployedAt === 'string') entries[service] = { directory: entry.directory, deployedAt: entry.deployedAt };
    }
    return entries;
  } catch {
    return {};
  }
}

export function recordCurrentRelease(stateDir: string, service: string, directory: string): void {
  const services = { ...readCurrentReleases(stateDir), [service]: { directory, deployedAt: new Date().toISOString() } };
  writeFileAtomic(currentReleaseFile(stateDir), `${JSON.stringify({ services }, null, 2)}\n`);
}
