import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type Hex, zeroAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { type CoordinatorConfig, parseRequesterTokens } from '../../coordinator/config.ts';

/** The requester token every test coordinator accepts (as requester `tester`). */
export const kTestRequesterToken = 'test-requester-token';
/** A second requester, to show that one cannot see another's jobs. */
export const kOtherRequesterToken = 'other-requester-token';

import { type Db, openDatabase } from '../../coordinator/db/database.ts';
import { buildServer } from '../../coordinator/server.ts';

export interface TestCoordinator {
  app: FastifyInstance;
  db: Db;
  config: CoordinatorConfig;
  /** The coordinator's clock, which a test may move. */
  clock: { now: number };
  dataDir: string;
  close(): Promise<void>;
}

/**
 * A real coordinator over a real SQLite file in a fresh temporary folder, with a clock the
 * test controls and a tiny demo job unless `overrides.demo` says otherwise.
 */
export async function startTestCoordinator(overrides: Partial<CoordinatorConfig> = {}): Promise<TestCoordinator> {
  const dataDir = mkdtempSync(join(tmpdir(), 'surge-test-'));
  const config: CoordinatorConfig = {
    host: '127.0.0.1',
    port: 0,
    databaseFile: join(dataDir, 'surge.sqlite'),
    keyFile: join(dataDir, 'coordinator.key'),
    outputDir: join(dataDir, 'outputs'),
    requesterTokens: parseRequesterTokens(`tester:${kTestRequesterToken},other:${kOtherRequesterToken}`),
    requesterTokenFile: join(dataDir, 'requester.token'),
    coordinatorKey: generatePrivateKey(),
    chainId: 31337,
    verifyingContract: zeroAddress,
    leaseMs: 60_000,
    demo: { size: 32, block: 16, k: 24 },
    logLevel: 'silent',
    bodyLimitBytes: 4 * 1024 * 1024,
    ...overrides,
  };
  const db = await openDatabase(config.databaseFile);
  const clock = { now: Date.now() };
  const app = await buildServer({ config, db, coordinator: privateKeyToAccount(config.coordinatorKey as Hex), now: () => clock.now });
  return {
    app,
    db,
    config,
    clock,
    dataDir,
    async close() {
      await app.close();
      await db.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
