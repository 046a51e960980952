/**
 * `npm run bench:coordinator [-- --json] [-- --db postgres --processes 2] [-- --clients N --seconds S]`:
 * starts real coordinator processes (SQLite by default; PostgreSQL from SURGE_TEST_POSTGRES_URL
 * with --db postgres), a job of tiny prime units, and simulated clients in separate Node
 * processes, then prints validated results per second and lease latency p50/p99:
 * {"db","processes","clients","seconds","validatedPerSecond","leaseP50Ms","leaseP99Ms","failed"}.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generatePrivateKey } from 'viem/accounts';
import { freshPostgresDatabase } from '../test/helpers/test-coordinator.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    db: { type: 'string', default: 'sqlite' },
    processes: { type: 'string', default: '1' },
    clients: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '10' },
    'client-processes': { type: 'string', default: '2' },
  },
});
const processes = Number(values.processes);
const clients = Number(values.clients);
const seconds = Number(values.seconds);
if (values.db === 'sqlite' && processes > 1) throw new Error('several processes need --db postgres (one SQLite file has one writer process)');

const children: ChildProcess[] = [];
const dataDir = mkdtempSync(join(tmpdir(), 'surge-bench-'));

function run(args: string[], env: NodeJS.ProcessEnv, until?: RegExp): Promise<{ child: ChildProcess; match?: RegExpExecArray; output: () => string }> {
  return new Promise((ready, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = until?.exec(output);
      if (match) ready({ child, match, output: () => output });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => (until ? fail(new Error(`${args.join(' ')} exited (${code}):\n${output}`)) : ready({ child, output: () => output })));
  });
}

async function main(): Promise<void> {
  const postgres = values.db === 'postgres' ? await freshPostgresDatabase('surge_bench') : undefined;
  const database = postgres?.url;
  const dropDatabase = postgres?.drop;
  const env = {
    SURGE_DATA_DIR: dataDir,
    PORT: '0',
    SURGE_DEMO: '0',
    SURGE_CHAIN: '0',
    SURGE_RATE_LIMIT: '100000000',
    // Every simulated client comes from 127.0.0.1, so replicas could never be placed: this
    // measures throughput with every owner trusted (npm run sim measures replication).
    SURGE_REPLICATION: 'off',
    SURGE_SESSION_RATE_LIMIT: '0',
    SURGE_OWNER_RATE_LIMIT: '0',
    SURGE_COORDINATOR_KEY: generatePrivateKey(),
    SURGE_REQUESTER_TOKENS: 'bench:bench-token',
    LOG_LEVEL: 'warn',
    ...(database ? { DATABASE_URL: database } : {}),
  };
  const bases: string[] = [];
  for (let i = 0; i < processes; i++) bases.push((await run(['coordinator/main.ts'], env, /Open (http:\/\/[^/\s]+)\//)).match![1]!);
  // Enough tiny units (1024 numbers, one block) that no client runs dry.
  const units = Math.max(20_000, clients * seconds * 30);
  const job = await fetch(`${bases[0]}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: 'Bearer bench-token', 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'Bench',
      purpose: 'coordinator benchmark',
      kernel: 'primes',
      params: { lo: 1e9, hi: 1e9 + units * 1024, span: 1024, blockSize: 1024 },
    }),
  });
  if (!job.ok) throw new Error(`could not create the benchmark job: ${await job.text()}`);

  const perProcess = Math.ceil(clients / Number(values['client-processes']));
  const reports = await Promise.all(
    Array.from({ length: Number(values['client-processes']) }, () =>
      run(['bench/sim-client.ts', '--coordinators', bases.join(','), '--clients', String(perProcess), '--seconds', String(seconds)], {}),
    ),
  );
  const parsed = reports.map((r) => JSON.parse(r.output().trim().split('\n').at(-1)!) as { validated: number; failed: number; latencies: number[] });
  const latencies = parsed.flatMap((p) => p.latencies).sort((a, b) => a - b);
  const quantile = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const validated = parsed.reduce((sum, p) => sum + p.validated, 0);
  const result = {
    db: values.db,
    processes,
    clients: perProcess * Number(values['client-processes']),
    seconds,
    validatedPerSecond: Math.round(validated / seconds),
    leaseP50Ms: Number(quantile(0.5).toFixed(2)),
    leaseP99Ms: Number(quantile(0.99).toFixed(2)),
    failed: parsed.reduce((sum, p) => sum + p.failed, 0),
  };
  console.log(values.json ? JSON.stringify(result) : result);
  await dropDatabase?.();
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });
