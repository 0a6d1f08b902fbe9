/**
 * One start line per store whose tables changed, readable beside the other `[acgs]` lines. The
 * migration tool's own chatter ("> Migrating files:", one banner per file) says the same in
 * several JSON log lines per store, and nothing at all is worth a line when nothing was applied.
 */
export function describeMigrations(component: string, applied: readonly string[]): string | undefined {
  if (applied.length === 0) return undefined;
  return `${component}: applied ${applied.length === 1 ? 'migration' : `${applied.length} migrations`} ${applied.join(', ')}`;
}
