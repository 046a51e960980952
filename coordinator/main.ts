import { configFromEnv } from './config.ts';
import { loadCoordinatorKey } from './coordinator-key.ts';
import { openDatabase } from './db/database.ts';
import { buildServer } from './server.ts';
import { ensureDemoWork } from './work-generator.ts';

/** `npm start`: the coordinator with its embedded SQLite database, the page, and a demo job. */
async function main(): Promise<void> {
  const config = configFromEnv();
  const db = await openDatabase(config.databaseFile);
  const coordinator = loadCoordinatorKey(config.keyFile, config.coordinatorKey);
  if (config.demo) await ensureDemoWork(db, config.demo);
  const app = await buildServer({ config, db, coordinator });

  let closing = false;
  const close = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    await app.close();
    await db.destroy();
    process.exit(0);
  };
  process.on('SIGINT', () => void close('SIGINT'));
  process.on('SIGTERM', () => void close('SIGTERM'));

  await app.listen({ host: config.host, port: config.port });
  const shown = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  console.log(
    `\n  Surge is running. Open http://${shown}:${config.port}/ and press Start to contribute.\n  Database: ${config.databaseFile}\n  Coordinator: ${coordinator.address}\n`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
