import type { CreateTableBuilder } from 'kysely';
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { DatabaseDialect } from './database.ts';
import type { Database } from './schema.ts';
import { trustMigration } from './trust-migration.ts';

/**
 * The schema's history, oldest first. Never edit a migration that has shipped: add one.
 * Written with Kysely's schema builder so the same steps run on SQLite and PostgreSQL.
 */
function migrations(dialect: DatabaseDialect): Record<string, Migration> {
  // An auto-numbered key: SQLite's INTEGER PRIMARY KEY AUTOINCREMENT, PostgreSQL's serial.
  const serialKey = (table: CreateTableBuilder<string, never>) =>
    dialect === 'postgres' ? table.addColumn('id', 'serial', (c) => c.primaryKey()) : table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  return {
    '0001-work-and-credit': {
      async up(db: Kysely<unknown>) {
        await serialKey(db.schema.createTable('jobs'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('purpose', 'text', (c) => c.notNull())
          .addColumn('kernel', 'text', (c) => c.notNull())
          .addColumn('params', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await serialKey(db.schema.createTable('units'))
          .addColumn('job_id', 'integer', (c) => c.notNull().references('jobs.id'))
          .addColumn('kernel', 'text', (c) => c.notNull())
          .addColumn('kernel_version', 'integer', (c) => c.notNull())
          .addColumn('params', 'text', (c) => c.notNull())
          .addColumn('credit', 'bigint', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('lease_deadline', 'bigint')
          .addColumn('errors', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('units_by_state').on('units').columns(['state', 'id']).execute();
        await db.schema
          .createTable('sessions')
          .addColumn('address', 'text', (c) => c.primaryKey())
          .addColumn('owner', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('grant_message', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('leases')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('unit_id', 'integer', (c) => c.notNull().references('units.id'))
          .addColumn('session', 'text', (c) => c.notNull().references('sessions.address'))
          .addColumn('owner', 'text', (c) => c.notNull())
          .addColumn('deadline', 'bigint', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('leases_by_unit').on('leases').column('unit_id').execute();
        await db.schema
          .createTable('results')
          .addColumn('digest', 'text', (c) => c.primaryKey())
          .addColumn('lease_id', 'text', (c) => c.notNull().references('leases.id'))
          .addColumn('unit_id', 'integer', (c) => c.notNull())
          .addColumn('owner', 'text', (c) => c.notNull())
          .addColumn('session', 'text', (c) => c.notNull())
          .addColumn('result_hash', 'text', (c) => c.notNull())
          .addColumn('seq', 'text', (c) => c.notNull())
          .addColumn('outcome', 'text', (c) => c.notNull())
          .addColumn('reason', 'text')
          .addColumn('credit', 'bigint', (c) => c.notNull())
          .addColumn('countersignature', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('credits')
          .addColumn('unit_id', 'integer', (c) => c.primaryKey().references('units.id'))
          .addColumn('owner', 'text', (c) => c.notNull())
          .addColumn('lease_id', 'text', (c) => c.notNull())
          .addColumn('amount', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('credits_by_owner').on('credits').column('owner').execute();
      },
    },
    '0002-unit-current-lease': {
      async up(db: Kysely<unknown>) {
        // The lease a unit is out on now, so a late or invalid result of an earlier lease cannot
        // reopen or close a unit that was offered again.
        await db.schema.alterTable('units').addColumn('current_lease', 'text').execute();
        await db.schema.createIndex('leases_by_unit_owner').on('leases').columns(['unit_id', 'owner']).execute();
      },
    },
    '0003-requesters-and-assimilation': {
      async up(db: Kysely<unknown>) {
        // Who submitted a job, how urgent it is, and how many units it has; a unit remembers
        // whether its output is in the job's output (the assimilator does it once).
        await db.schema.alterTable('jobs').addColumn('requester', 'text').execute();
        await db.schema
          .alterTable('jobs')
          .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .alterTable('jobs')
          .addColumn('units_total', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema.alterTable('jobs').addColumn('reason', 'text').execute();
        await db.schema
          .alterTable('units')
          .addColumn('assimilated', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
      },
    },
    '0004-unit-outputs': {
      async up(db: Kysely<unknown>) {
        // Validated outputs live in the database, not on one process's disk, so any coordinator
        // process can assemble any job's output.
        await db.schema
          .createTable('unit_outputs')
          .addColumn('unit_id', 'integer', (c) => c.primaryKey().references('units.id'))
          .addColumn('output', dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
          .execute();
      },
    },
    '0005-units-by-job': {
      async up(db: Kysely<unknown>) {
        // Job progress and completion count a job's units on every result.
        await db.schema.createIndex('units_by_job').on('units').columns(['job_id', 'state']).execute();
      },
    },
    '0006-job-units-done': {
      async up(db: Kysely<unknown>) {
        // Counted as units are assimilated, so closing a job needs no count over its units.
        await db.schema
          .alterTable('jobs')
          .addColumn('units_done', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
      },
    },
    '0007-trust': {
      async up(db: Kysely<unknown>) {
        await trustMigration(db, dialect);
      },
    },
    '0008-settlement': {
      async up(db: Kysely<unknown>) {
        // Epoch settlement: each epoch's Merkle root of cumulative rewards per distributor, and
        // every owner's amount and proof in it, so the coordinator can serve claims.
        await db.schema
          .createTable('settlement_epochs')
          .addColumn('distributor', 'text', (c) => c.notNull())
          .addColumn('epoch', 'integer', (c) => c.notNull())
          .addColumn('root', 'text', (c) => c.notNull())
          .addColumn('total', 'text', (c) => c.notNull())
          .addColumn('owners', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('tx_hash', 'text')
          .addColumn('active_at', 'bigint')
          .addColumn('revoked', 'integer', (c) => c.notNull().defaultTo(0))
          .addPrimaryKeyConstraint('settlement_epochs_pk', ['distributor', 'epoch'])
          .execute();
        await db.schema
          .createTable('settlement_payouts')
          .addColumn('distributor', 'text', (c) => c.notNull())
          .addColumn('epoch', 'integer', (c) => c.notNull())
          .addColumn('owner', 'text', (c) => c.notNull())
          .addColumn('cumulative', 'text', (c) => c.notNull())
          .addColumn('proof', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('settlement_payouts_pk', ['distributor', 'owner', 'epoch'])
          .execute();
      },
    },
    '0009-owner-links': {
      async up(db: Kysely<unknown>) {
        // A browser's own owner key linked to a wallet, signed by both: its earnings follow the wallet.
        await db.schema
          .createTable('owner_links')
          .addColumn('owner', 'text', (c) => c.primaryKey())
          .addColumn('wallet', 'text', (c) => c.notNull())
          .addColumn('message', 'text', (c) => c.notNull())
          .addColumn('owner_signature', 'text', (c) => c.notNull())
          .addColumn('wallet_signature', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('owner_links_by_wallet').on('owner_links').column('wallet').execute();
        // A revoked session's leases and receipts are refused (the same migration: one name per branch).
        await db.schema.alterTable('sessions').addColumn('revoked_at', 'bigint').execute();
        // Each receipt checks that its session has not used its sequence number before.
        await db.schema.createIndex('results_by_session_seq').on('results').columns(['session', 'seq']).execute();
      },
    },
    '0010-partners': {
      async up(db: Kysely<unknown>) {
        // The partner site whose widget made a session, so its visitors' work is attributed to it.
        await db.schema.alterTable('sessions').addColumn('partner', 'text').execute();
        await db.schema.createIndex('sessions_by_partner').on('sessions').column('partner').execute();
      },
    },
    '0011-batches': {
      async up(db: Kysely<unknown>) {
        // Result batches under one receipt: judged once, answered again with the same verdicts.
        await db.schema
          .createTable('result_batches')
          .addColumn('digest', 'text', (c) => c.primaryKey())
          .addColumn('session', 'text', (c) => c.notNull())
          .addColumn('seq', 'text', (c) => c.notNull())
          .addColumn('count', 'integer', (c) => c.notNull())
          .addColumn('verdicts', 'text', (c) => c.notNull())
          .addColumn('countersignature', 'text')
          .addColumn('validated_root', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('result_batches_by_session_seq').on('result_batches').columns(['session', 'seq']).execute();
        // The feeder finds units whose lease passed its deadline without sorting every leased unit.
        await db.schema.createIndex('units_by_state_deadline').on('units').columns(['state', 'lease_deadline']).execute();
      },
    },
    '0012-lean-indexes': {
      async up(db: Kysely<unknown>) {
        // Every lease and every result rewrites units' and leases' states and inserts leases:
        // each index on them is written each time (docs/decisions/0012). A unit has a handful of
        // leases, so its leases are found by unit alone; units by state come from
        // units_by_state_deadline; canaries are few, so only they are indexed as canaries.
        await db.schema.dropIndex('units_by_state').execute();
        await db.schema.dropIndex('units_by_canary').execute();
        await db.schema.dropIndex('leases_by_unit_owner').execute();
        await db.schema.dropIndex('leases_by_unit_state').execute();
        // The feeder walks a job's ready units in id order. SQLite keeps index entries in rowid
        // order after the named columns; PostgreSQL needs the id named, or it reads the units
        // table in id order and filters (hundreds of ms once many units are out).
        await db.schema.dropIndex('units_by_job').execute();
        await db.schema.createIndex('units_by_job_state').on('units').columns(['job_id', 'state', 'id']).execute();
        await db.schema.createIndex('units_canaries').on('units').column('id').where(sql.ref('canary'), '=', 1).execute();
      },
    },
    '0013-owner-epoch-credit': {
      async up(db: Kysely<unknown>) {
        // What each owner earned in each credit epoch, kept as credit is granted (epoch-credit.ts),
        // so the cap is checked without summing the owner's epoch of the ledger. Filled lazily:
        // an owner's first grant of an epoch sums the ledger once. An epoch is its start and its
        // length: epochs of another length (SURGE_CREDIT_EPOCH_SECONDS changed) are other rows.
        await db.schema
          .createTable('owner_epoch_credit')
          .addColumn('owner', 'text', (c) => c.notNull())
          .addColumn('epoch_start', 'bigint', (c) => c.notNull())
          .addColumn('epoch_ms', 'bigint', (c) => c.notNull())
          .addColumn('earned', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('owner_epoch_credit_key', ['owner', 'epoch_start', 'epoch_ms'])
          .execute();
      },
    },
    '0014-live-leases-by-owner': {
      async up(db: Kysely<unknown>) {
        // A lease is looked up by owner only while it is open (the leases an owner holds) or
        // pending (withheld after a wrong canary). Indexing every lease by (owner, state) wrote
        // each lease into it twice, into an owner's part that grew with every lease it ever held;
        // partial indexes hold only the live ones, a few pages (docs/decisions/0012). A query
        // names the state as a literal: with a bound value SQLite plans it without the index, and
        // again, with the index, each time the value is bound.
        await db.schema.dropIndex('leases_by_owner_state').execute();
        await db.schema.createIndex('leases_open_by_owner').on('leases').columns(['owner', 'deadline']).where(sql.ref('state'), '=', 'open').execute();
        await db.schema.createIndex('leases_pending_by_owner').on('leases').column('owner').where(sql.ref('state'), '=', 'pending').execute();
      },
    },
    '0015-deadlines-only-while-out': {
      async up(db: Kysely<unknown>) {
        // Only a unit out on a lease has a deadline, and only the feeder's search for overdue
        // units reads this index. Holding every unit, it moved each unit twice more, into
        // (leased, deadline) when leased and on to (done, null) when validated; holding only
        // units with a deadline, a unit enters when leased and leaves when done. A comparison
        // on lease_deadline implies it is not null, so both SQLite and PostgreSQL use it.
        await db.schema.dropIndex('units_by_state_deadline').execute();
        await db.schema
          .createIndex('units_by_state_deadline')
          .on('units')
          .columns(['state', 'lease_deadline'])
          .where(sql.ref('lease_deadline'), 'is not', null)
          .execute();
      },
    },
  };
}

class InlineMigrations implements MigrationProvider {
  constructor(private readonly dialect: DatabaseDialect) {}

  async getMigrations() {
    return migrations(this.dialect);
  }
}

/** Brings the database to the newest schema; throws with the failing migration's name. */
export async function migrateToLatest(db: Kysely<Database>, dialect: DatabaseDialect): Promise<void> {
  const { error, results } = await new Migrator({ db, provider: new InlineMigrations(dialect) }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`Database migration ${failed} failed`, { cause: error });
  }
}
