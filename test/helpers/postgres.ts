import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL of this machine (trust authentication on loopback). A test that needs it fails when it does not answer. */
export const POSTGRES_URL = process.env.VITRINE_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A schema of its own for one test file (random name), dropped with everything in it by `drop`. */
export async function scratchSchema(prefix = 'vitrine_test'): Promise<{ schema: string; url: string; drop: () => Promise<void> }> {
  const schema = `${prefix}_${randomBytes(6).toString('hex')}`;
  const drop = async (): Promise<void> => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await client.end();
    }
  };
  return { schema, url: `${POSTGRES_URL}?schema=${schema}`, drop };
}

/** Runs one query on the schema (for assertions on what the catalog wrote). */
export async function queryIn<T extends pg.QueryResultRow>(schema: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}
