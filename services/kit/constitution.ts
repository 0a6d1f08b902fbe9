/** The constitutional hash every service response and audit record carries (DESIGN.md §3). */
export const CONSTITUTIONAL_HASH = 'cdd01ef066bc6cf2' as const;

export const CONSTITUTIONAL_HASH_HEADER = 'x-constitutional-hash' as const;
