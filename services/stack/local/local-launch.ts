/**
 * How a service of a release directory (a checkout under `<state>/releases/`) is started: node
 * with tsx on that directory's own `services/<service>/main.ts`, in that directory. The cwd matters:
 * `--import tsx` resolves tsx from it, and the service reads its version from that directory's
 * package.json. The absolute path in argv makes `ps` (and the pid files) show which release runs.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

export interface ServiceLaunch {
  command: string;
  args: string[];
  /** Where the child runs; undefined: this process's own working directory (the checkout of npm start). */
  cwd?: string;
}

export function releaseLaunch(directory: string, service: string): ServiceLaunch {
  return { command: process.execPath, args: ['--import', 'tsx', join(directory, 'services', service, 'main.ts')], cwd: directory };
}

/** Why `directory` cannot run `service`, or undefined when it can (an absolute path holding the service's main.ts). */
export function launchProblem(directory: string, service: string): string | undefined {
  if (!isAbsolute(directory)) return `${JSON.stringify(directory.slice(0, 200))} is not an absolute path`;
  const main = join(directory, 'services', service, 'main.ts');
  if (!existsSync(main)) return `${directory} has no ${join('services', service, 'main.ts')}: it is not a release of this stack`;
  return undefined;
}
