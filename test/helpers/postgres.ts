import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server tests create throwaway databases on. CI starts it (see .ci/run). */
export const ADMIN_URL = process.env.KURABAN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const HOW_TO_START =
  'PostgreSQL is required by the test suite and was not reachable at ' +
  ADMIN_URL +
  '. Start it (Debian: `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or run .ci/run which installs and starts it), ' +
  'or point KURABAN_TEST_PG_URL at a server where the user may CREATE DATABASE.';

export interface ThrowawayDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** Creates an empty database for one test file; `drop()` removes it. Fails (never skips) without PostgreSQL. */
export async function createThrowawayDatabase(): Promise<ThrowawayDatabase> {
  const name = `kuraban_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (e) {
    throw new Error(HOW_TO_START, { cause: e });
  }
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}
