/**
 * `npm run bench:stats [-- --json] [-- --rows N]`: how the network dashboard's figures
 * (`GET /v1/stats`) behave as the credit ledger grows. It fills a fresh SQLite file with N
 * validated results (default 1,000,000: under four minutes of work at 5,000 results a second),
 * then makes the figures twice, and prints for each time:
 * {"rows","statsMs","longestEventLoopStallMs"}: how long the figures took, and the longest the
 * coordinator's event loop went without turning meanwhile (Node's event-loop delay at its largest), which is
 * what leases and results wait behind (docs/decisions/0018).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { openDatabase } from '../coordinator/db/database.ts';
import { networkStats } from '../coordinator/network-stats.ts';

const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, rows: { type: 'string', default: '1000000' } } });
const rows = Number(values.rows);
if (!Number.isSafeInteger(rows) || rows < 1) throw new Error(`--rows must be a positive integer, not ${values.rows}`);

const folder = mkdtempSync(join(tmpdir(), 'surge-bench-stats-'));
const file = join(folder, 'surge.sqlite');
await (await openDatabase(file)).destroy();

// The ledger and the leases it names, from 2,000 owners over the last ten minutes, written
// directly (no units or jobs: the figures read neither).
const fill = new Database(file);
fill.pragma('foreign_keys = OFF');
const credit = fill.prepare('insert into credits (unit_id, owner, lease_id, amount, created_at) values (?, ?, ?, ?, ?)');
const lease = fill.prepare(
  "insert into leases (id, unit_id, session, owner, address, deadline, state, created_at) values (?, ?, ?, ?, null, 0, 'validated', ?)",
);
const now = Date.now();
fill.transaction(() => {
  for (let i = 1; i <= rows; i++) {
    const owner = `0x${(i % 2000).toString(16).padStart(40, '0')}`;
    const id = `0x${i.toString(16).padStart(64, '0')}`;
    const at = now - (i % 600_000);
    credit.run(i, owner, id, 4096, at);
    lease.run(id, i, `0x${(i % 2000).toString(16).padStart(40, '1')}`, owner, at);
  }
})();
fill.close();

const db = await openDatabase(file);
try {
  for (let round = 0; round < 2; round++) {
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const started = performance.now();
    await networkStats(db, Date.now());
    const statsMs = Math.round(performance.now() - started);
    // One more turn, so a stall that lasted to the end is measured too.
    await new Promise((next) => setTimeout(next, 10));
    delay.disable();
    const line = { rows, statsMs, longestEventLoopStallMs: Math.round(delay.max / 1e6) };
    console.log(
      values.json ? JSON.stringify(line) : `${rows} ledger rows: figures in ${line.statsMs} ms, event loop held at most ${line.longestEventLoopStallMs} ms`,
    );
  }
} finally {
  await db.destroy();
  rmSync(folder, { recursive: true, force: true });
}
