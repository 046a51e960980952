import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { type Hex, zeroAddress } from 'viem';
import { generatePrivateKey } from 'viem/accounts';
import { type CoordinatorConfig, parseRequesterTokens } from '../../coordinator/config.ts';
import { fastSigningAccount } from '../../coordinator/secp256k1.ts';

/** The requester token every test coordinator accepts (as requester `tester`). */
export const kTestRequesterToken = 'test-requester-token';
/** A second requester, to show that one cannot see another's jobs. */
export const kOtherRequesterToken = 'other-requester-token';

import { type Db, openDatabase } from '../../coordinator/db/database.ts';
import { buildServer, type ServerDeps } from '../../coordinator/server.ts';
import { ValidationThreads } from '../../coordinator/validators/validation-threads.ts';

export interface TestCoordinator {
  app: FastifyInstance;
  db: Db;
  config: CoordinatorConfig;
  /** The coordinator's clock, which a test may move. */
  clock: { now: number };
  dataDir: string;
  /** Listens on a free local port (the first time) and answers the coordinator's base URL. */
  url(): Promise<string>;
  close(): Promise<void>;
}

/** The PostgreSQL server tests may use (an admin URL); .ci/run starts one and sets it. */
export const testPostgresUrl = process.env.SURGE_TEST_POSTGRES_URL;

/** The databases the coordinator's tests run on: SQLite always, PostgreSQL where a server is given. */
export const testDatabases = [
  { name: 'sqlite', skip: false },
  { name: 'postgres', skip: !testPostgresUrl },
] as const;
export type TestDatabase = (typeof testDatabases)[number]['name'];

/** A fresh, empty PostgreSQL database on the test server, and how to drop it. */
export async function freshPostgresDatabase(prefix = 'surge_test'): Promise<{ url: string; drop(): Promise<void> }> {
  if (!testPostgresUrl) throw new Error('Set SURGE_TEST_POSTGRES_URL to a PostgreSQL admin URL (.ci/run does) to use PostgreSQL.');
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: testPostgresUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(testPostgresUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: testPostgresUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/**
 * A real coordinator over a real database (a fresh SQLite file in a temporary folder, or a
 * fresh PostgreSQL database), with a clock the test controls and a tiny demo job unless
 * `overrides.demo` says otherwise.
 */
export async function startTestCoordinator(
  overrides: Partial<CoordinatorConfig> = {},
  database: TestDatabase = 'sqlite',
  extra: Pick<ServerDeps, 'rewards' | 'random'> = {},
): Promise<TestCoordinator> {
  const dataDir = mkdtempSync(join(tmpdir(), 'surge-test-'));
  const postgres = database === 'postgres' ? await freshPostgresDatabase() : undefined;
  const config: CoordinatorConfig = {
    host: '127.0.0.1',
    port: 0,
    database: postgres?.url ?? join(dataDir, 'surge.sqlite'),
    keyFile: join(dataDir, 'coordinator.key'),
    requesterTokens: parseRequesterTokens(`tester:${kTestRequesterToken},other:${kOtherRequesterToken}`),
    requesterTokenFile: join(dataDir, 'requester.token'),
    coordinatorKey: generatePrivateKey(),
    chainId: 31337,
    verifyingContract: zeroAddress,
    leaseMs: 60_000,
    // Checks on the test's own thread unless a test asks for validation threads.
    validationThreads: 0,
    demo: { size: 32, block: 16, k: 24 },
    logLevel: 'silent',
    rateLimitPerMinute: 100_000,
    bodyLimitBytes: 4 * 1024 * 1024,
    // Every owner trusted (single replicas, no quota or canaries) unless a test asks for adaptive replication.
    trust: { replication: 'off' },
    ...overrides,
  };
  const db = await openDatabase(config.database);
  const clock = { now: Date.now() };
  const validator = config.validationThreads > 0 ? new ValidationThreads(config.validationThreads) : undefined;
  const app = await buildServer({
    config,
    db,
    coordinator: fastSigningAccount(config.coordinatorKey as Hex),
    now: () => clock.now,
    ...(validator ? { validator } : {}),
    ...extra,
  });
  return {
    app,
    db,
    config,
    clock,
    dataDir,
    async url() {
      if (!app.server.listening) await app.listen({ host: '127.0.0.1', port: 0 });
      return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    },
    async close() {
      try {
        await app.close();
        await validator?.close();
        await db.destroy();
        await postgres?.drop();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}
