/**
 * `npm run bench:coordinator [-- --json] [-- --db postgres --processes 2] [-- --clients N --seconds S --batch B --think-ms T]`:
 * starts real coordinator processes (SQLite by default; PostgreSQL from SURGE_TEST_POSTGRES_URL
 * with --db postgres), a job of tiny prime units, and simulated clients in separate Node
 * processes that lease B units at once and send them back as one batch under one receipt
 * (`--batch 1`: one lease and one result per request, as the browser does). Once every client
 * has its session, it measures `--seconds` and prints validated results per second and lease
 * request latency p50/p99. With no think time (the default) every client asks again at once,
 * which measures the most the coordinator takes; lease latency is then mostly queueing. With
 * `--think-ms T` each client waits T ms between rounds, as a browser computing real units does:
 * {"db","processes","clients","batch","thinkMs","seconds","validatedPerSecond","leaseP50Ms","leaseP99Ms","failed","errors"}.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
    clients: { type: 'string', default: '2000' },
    batch: { type: 'string', default: '32' },
    'think-ms': { type: 'string', default: '0' },
    seconds: { type: 'string', default: '10' },
    'client-processes': { type: 'string', default: '2' },
    /** Write a CPU profile of each coordinator process (node --cpu-prof) into this folder. */
    profile: { type: 'string' },
  },
});
const processes = Number(values.processes);
const clients = Number(values.clients);
const seconds = Number(values.seconds);
if (values.db === 'sqlite' && processes > 1) throw new Error('several processes need --db postgres (one SQLite file has one writer process)');

const children: ChildProcess[] = [];
const dataDir = mkdtempSync(join(tmpdir(), 'surge-bench-'));

function run(
  args: string[],
  env: NodeJS.ProcessEnv,
  until?: RegExp,
  nodeOptions: string[] = [],
): Promise<{ child: ChildProcess; match?: RegExpExecArray; output: () => string }> {
  return new Promise((ready, fail) => {
    const child = spawn(process.execPath, [...nodeOptions, '--import', 'tsx', ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
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

/** CPU seconds (user + system) a process has used, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
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
  const profile = values.profile ? ['--cpu-prof', '--cpu-prof-dir', values.profile] : [];
  const coordinators: ChildProcess[] = [];
  for (let i = 0; i < processes; i++) {
    const started = await run(['coordinator/main.ts'], env, /Open (http:\/\/[^/\s]+)\//, profile);
    coordinators.push(started.child);
    bases.push(started.match![1]!);
  }
  // Enough tiny units (1024 numbers, one block) that no client runs dry.
  const units = Math.max(20_000, Math.min(200_000, clients * seconds * Number(values.batch)));
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

  const clientProcesses = Number(values['client-processes']);
  const perProcess = Math.ceil(clients / clientProcesses);
  // Every client process registers its sessions, then all start together.
  const simulators = await Promise.all(
    Array.from({ length: clientProcesses }, () =>
      run(
        [
          'bench/sim-client.ts',
          '--coordinators',
          bases.join(','),
          '--clients',
          String(perProcess),
          '--seconds',
          String(seconds),
          '--batch',
          values.batch,
          '--think-ms',
          values['think-ms'],
        ],
        {},
        /^ready$/m,
      ),
    ),
  );
  const finished = simulators.map(
    ({ child, output }) =>
      new Promise<string>((done, fail) =>
        child.on('exit', (code) => (code === 0 ? done(output()) : fail(new Error(`a simulator exited (${code}):\n${output()}`)))),
      ),
  );
  const coordinatorCpuBefore = coordinators.map((child) => cpuSeconds(child.pid!));
  for (const { child } of simulators) child.stdin!.end('go\n');
  const parsed = (await Promise.all(finished)).map(
    (output) =>
      JSON.parse(output.trim().split('\n').at(-1)!) as {
        validated: number;
        failed: number;
        seconds: number;
        errors: Record<string, number>;
        latencies: number[];
        cpuSeconds: number;
      },
  );
  const coordinatorCpu = coordinators.reduce((sum, child, i) => sum + cpuSeconds(child.pid!) - coordinatorCpuBefore[i]!, 0);
  const latencies = parsed.flatMap((p) => p.latencies).sort((a, b) => a - b);
  const quantile = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const validated = parsed.reduce((sum, p) => sum + p.validated, 0);
  const measured = Math.max(...parsed.map((p) => p.seconds));
  const errors: Record<string, number> = {};
  for (const p of parsed) for (const [code, n] of Object.entries(p.errors)) errors[code] = (errors[code] ?? 0) + n;
  const result = {
    db: values.db,
    processes,
    clients: perProcess * clientProcesses,
    batch: Number(values.batch),
    thinkMs: Number(values['think-ms']),
    seconds: Number(measured.toFixed(2)),
    validatedPerSecond: Math.round(validated / measured),
    leaseP50Ms: Number(quantile(0.5).toFixed(2)),
    leaseP99Ms: Number(quantile(0.99).toFixed(2)),
    // CPU time per 1000 validated results, of the coordinators and of the simulated clients: what
    // a result costs, whatever else shares the machine.
    coordinatorCpuMsPer1000: Math.round((coordinatorCpu * 1e6) / Math.max(1, validated)),
    clientCpuMsPer1000: Math.round((parsed.reduce((sum, p) => sum + p.cpuSeconds, 0) * 1e6) / Math.max(1, validated)),
    failed: parsed.reduce((sum, p) => sum + p.failed, 0),
    errors,
  };
  console.log(values.json ? JSON.stringify(result) : result);
  if (values.profile) {
    // A profile is written when the process exits on its own: stop them gracefully.
    await Promise.all(coordinators.map((child) => new Promise((exited) => child.once('exit', exited).kill('SIGTERM'))));
  }
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
