import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../store.js';

/**
 * Policies: each tenant's Cedar policy set and its list of purposes of use, versioned — a push adds
 * version n+1 and the highest version is the active one (old versions are kept: who could read what,
 * when, stays answerable). API keys gain the roles and duties their service account holds.
 */
export function policiesSchema(dialect: Dialect): Migration {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('policies')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('version', bigint, (c) => c.notNull())
        .addColumn('policy_text', 'text', (c) => c.notNull())
        .addColumn('purposes', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('policies_pk', ['tenant_id', 'version'])
        .execute();
      await db.schema.alterTable('api_keys').addColumn('roles', 'text', (c) => c.notNull().defaultTo('[]')).execute();
      await db.schema.alterTable('api_keys').addColumn('duties', 'text', (c) => c.notNull().defaultTo('[]')).execute();
    },
  };
}
