import { type Kysely, sql } from 'kysely';
import type { DatabaseDialect } from './database.ts';

/**
 * Migration 0007-trust: host reputation, replicas and canaries (docs/decisions/0004).
 * The credit ledger is keyed by unit and owner from here on, so each agreeing replica of a
 * unit is paid once: the table is rebuilt, as neither SQLite nor Kysely can change a primary key.
 */
export async function trustMigration(db: Kysely<unknown>, _dialect: DatabaseDialect): Promise<void> {
  await db.schema
    .createTable('hosts')
    .addColumn('owner', 'text', (c) => c.primaryKey())
    .addColumn('streak', 'integer', (c) => c.notNull())
    .addColumn('quota', 'integer', (c) => c.notNull())
    .addColumn('day', 'integer', (c) => c.notNull())
    .addColumn('leased_today', 'integer', (c) => c.notNull())
    .addColumn('probation', 'integer', (c) => c.notNull())
    .addColumn('invalid_results', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .alterTable('units')
    .addColumn('quorum', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
  await db.schema
    .alterTable('units')
    .addColumn('canary', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('units').addColumn('expected_hash', 'text').execute();
  await db.schema.alterTable('leases').addColumn('address', 'text').execute();
  await db.schema.alterTable('leases').addColumn('result_hash', 'text').execute();
  await db.schema.createIndex('leases_by_owner_state').on('leases').columns(['owner', 'state']).execute();
  await db.schema.createIndex('leases_by_unit_state').on('leases').columns(['unit_id', 'state']).execute();
  await db.schema.createIndex('units_by_canary').on('units').columns(['canary', 'state', 'id']).execute();

  await db.schema
    .createTable('credits_by_replica')
    .addColumn('unit_id', 'integer', (c) => c.notNull().references('units.id'))
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('lease_id', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('credits_unit_owner', ['unit_id', 'owner'])
    .execute();
  await sql`insert into credits_by_replica (unit_id, owner, lease_id, amount, created_at) select unit_id, owner, lease_id, amount, created_at from credits`.execute(
    db,
  );
  await db.schema.dropTable('credits').execute();
  await db.schema.alterTable('credits_by_replica').renameTo('credits').execute();
  await db.schema.createIndex('credits_by_owner').on('credits').columns(['owner', 'created_at']).execute();
}
