import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const BENCH_PG_ADMIN_URL = process.env.KURABAN_BENCH_PG_URL ?? process.env.KURABAN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh database for one measurement, or undefined (with the reason) when PostgreSQL does not answer. */
export async function benchDatabase(): Promise<{ url: string; drop: () => Promise<void> } | { skipped: string }> {
  const name = `kuraban_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BENCH_PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch {
    return { skipped: `PostgreSQL not reachable at ${BENCH_PG_ADMIN_URL} (set KURABAN_BENCH_PG_URL)` };
  }
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(BENCH_PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: BENCH_PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
