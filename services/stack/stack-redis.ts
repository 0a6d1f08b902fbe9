/**
 * The stack's own Redis as commands see it (DESIGN.md: commands hold no Redis commands): the
 * readings `redis status` and `redis memory` show, and the one action `redis flush` takes, as plain
 * data. The implementation on ioredis is stack-redis-on-ioredis.ts; the composition roots open it
 * from REDIS_URL.
 */

/** What `INFO` says about the server, its memory, its keyspace and its clients. */
export interface RedisFigures {
  version: string;
  used_memory: number;
  maxmemory: number;
  maxmemory_policy: string;
  keyspace_hits: number;
  keyspace_misses: number;
  connected_clients: number;
  uptime_seconds: number;
  /** Keys per database, e.g. `{db0: 12}`. */
  keys: Record<string, number>;
}

/** What `INFO memory` says, with the eviction policy. */
export interface RedisMemoryFigures {
  used_memory: number;
  used_memory_peak: number;
  used_memory_rss: number;
  mem_fragmentation_ratio: number | null;
  maxmemory: number;
  maxmemory_policy: string;
}

/** The size of the one database a flush empties. */
export interface RedisFootprint {
  keys: number;
  usedMemoryBytes: number;
}

export interface StackRedis {
  /** `host:port` (or the socket path), for messages; never the password. */
  readonly location: string;
  /** "127.0.0.1:6379 db 9": the database `flushDatabase` empties, which is what an approval names. */
  readonly database: string;
  /** Connects when not yet connected, then asks the server's version; rejects saying why it is not connected. */
  serverVersion(): Promise<string>;
  status(): Promise<RedisFigures>;
  memory(): Promise<RedisMemoryFigures>;
  footprint(): Promise<RedisFootprint>;
  /** Empties the configured database only (FLUSHDB), never the server's other databases. */
  flushDatabase(): Promise<void>;
  close(): Promise<void>;
}
