import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface PolicyWatcher {
  close(): void;
}

/**
 * Calls `onChange` once the wasm file has stopped changing for `debounceMs`.
 * It watches the directory, not the file: builds replace the file by renaming a new one over
 * it, and a watch on the old inode would never fire again.
 */
export function watchPolicyFile(
  path: string,
  debounceMs: number,
  onChange: () => void,
  onError: (error: Error) => void,
): PolicyWatcher {
  const name = basename(path);
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
    if (filename !== null && filename !== name) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, debounceMs);
  });
  // A watch error (the directory removed) must not crash the engine; reloads stay available by API.
  watcher.on('error', (error) => {
    watcher.close();
    onError(error);
  });
  return {
    close() {
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}
