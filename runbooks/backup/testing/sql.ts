import pg from 'pg';

/** One statement on a database of the test, on a connection of its own (closed after it). */
export async function sqlOnce(url: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}
