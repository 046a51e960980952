import { closeCompletedJobs, withdrawDeadlinesOfClosedJobs } from './assimilator.ts';
import { configFromEnv, hashToken } from './config.ts';
import { loadCoordinatorKey } from './coordinator-key.ts';
import { openDatabase } from './db/database.ts';
import { loadOrCreateRequesterToken } from './requester-token.ts';
import { nativeSecp256k1 } from './secp256k1.ts';
import { buildServer } from './server.ts';
import { assertSurgeWasmBuilt } from './validators/surge-wasm-node.ts';
import { ValidationThreads } from './validators/validation-threads.ts';
import { abandonPreparingJobs, ensureDemoWork } from './work-generator.ts';

/** `npm start`: the coordinator with its embedded SQLite database, the page, and a demo job. */
async function main(): Promise<void> {
  const config = configFromEnv();
  // Matmul results are checked with the contributors' WebAssembly module: without it, say so now.
  assertSurgeWasmBuilt();
  const db = await openDatabase(config.database);
  const coordinator = loadCoordinatorKey(config.keyFile, config.coordinatorKey);
  await abandonPreparingJobs(db, Date.now(), { atStart: true });
  await closeCompletedJobs(db);
  await withdrawDeadlinesOfClosedJobs(db);
  if (config.demo) await ensureDemoWork(db, config.demo);
  const localToken = config.requesterTokens.size === 0 ? loadOrCreateRequesterToken(config.requesterTokenFile) : undefined;
  if (localToken) config.requesterTokens.set(hashToken(localToken), 'local');
  // Loaded only when rewards are on: the chain client and Merkle tree modules take a while to load.
  const rewards = config.rewards
    ? await (await import('./settlement/start-rewards.ts')).startRewards(db, config).catch((error: unknown) => {
        // A real chain that is misconfigured must stop the coordinator; the embedded
        // development chain that cannot start (no anvil for this platform) only turns rewards off.
        if (config.rewards?.rpcUrl) throw error;
        console.warn(
          `Rewards are off: the local anvil chain did not start (${error instanceof Error ? error.message : String(error)}). SURGE_CHAIN=0 hides this.`,
        );
        return undefined;
      })
    : undefined;
  const validator = config.validationThreads > 0 ? new ValidationThreads(config.validationThreads) : undefined;
  const app = await buildServer({ config, db, coordinator, ...(rewards ? { rewards: rewards.chain } : {}), ...(validator ? { validator } : {}) });
  rewards?.startSettler(app.log);
  if (!nativeSecp256k1)
    app.log.warn("libsecp256k1 (the secp256k1 package's addon) did not load on this platform: signatures are checked in JavaScript, about 30 times slower");

  // A job some process stopped making half way is failed once it is old enough (PostgreSQL:
  // another process's); closed jobs' units lose deadlines a replica's result set again.
  const abandoning = setInterval(() => {
    abandonPreparingJobs(db, Date.now(), { atStart: false }).catch((error: unknown) => app.log.error({ err: error }, 'failing abandoned jobs failed'));
    withdrawDeadlinesOfClosedJobs(db).catch((error: unknown) => app.log.error({ err: error }, 'withdrawing closed jobs’ deadlines failed'));
  }, 60_000);
  abandoning.unref();

  let closing = false;
  const close = async (signal: string) => {
    if (closing) return;
    closing = true;
    clearInterval(abandoning);
    app.log.info({ signal }, 'shutting down');
    await app.close();
    await validator?.close();
    await rewards?.stop();
    await db.destroy();
    process.exit(0);
  };
  process.on('SIGINT', () => void close('SIGINT'));
  process.on('SIGTERM', () => void close('SIGTERM'));

  await app.listen({ host: config.host, port: config.port });
  const shown = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  // The port actually bound (PORT=0 picks a free one).
  const port = (app.server.address() as { port: number }).port;
  const lines = [
    '',
    `  Surge is running. Open http://${shown}:${port}/ and press Start to contribute.`,
    `  Database: ${config.database.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@')}`,
    `  Coordinator: ${coordinator.address}`,
    ...(rewards ? [`  Rewards: ${rewards.describe()}`] : []),
    ...(localToken ? [`  Requester token for \`npx surge job …\`: ${config.requesterTokenFile}`] : []),
    '',
  ];
  console.log(lines.join('\n'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
