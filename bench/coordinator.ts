/**
 * `npm run bench:coordinator [-- --json] [-- --db postgres --processes 2] [-- --clients N --batch B --mode M --seconds S --rate R --paced-seconds P --warmup W]`:
 * starts real coordinator processes (SQLite by default; PostgreSQL from SURGE_TEST_POSTGRES_URL
 * with --db postgres), a job of tiny prime units, and simulated clients in separate Node
 * processes that lease B units at once and send them back as one batch under one receipt
 * (`--batch 1`: one lease and one result per request, as the browser does). Once every client
 * has its session it runs up to two phases and prints one line for each:
 * - `saturated` (`--seconds`, default 10): every client asks again as soon as it has its answer,
 *   which measures the most the coordinator takes (lease latency is then time spent queued);
 * - `paced` (`--paced-seconds`, default 40): each client starts a round every
 *   clients × batch / rate seconds, as browsers computing real units would, so together they
 *   offer `--rate` results a second (default 5000): the latency a client sees at that load.
 * `--mode saturated|paced|both` (default both) picks them. The saturated phase counts from its
 * start until the last round is answered; the paced one starts with `--warmup` seconds (default
 * 5) that are not counted (the coordinator's JIT, statement cache and page cache warm up, and
 * the WAL of the benchmark's job is copied back), then counts what completes in its window. Each line:
 * {"mode","db","processes","clients","batch","offeredPerSecond","seconds","validatedPerSecond","leaseP50Ms","leaseP99Ms","coordinatorCpuMsPer1000","coordinatorMainThreadCpuMsPer1000","clientCpuMsPer1000","failed","errors","machine"}.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { generatePrivateKey } from 'viem/accounts';
import { freshPostgresDatabase } from '../test/helpers/test-coordinator.ts';
import { machineName } from './machine-name.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    db: { type: 'string', default: 'sqlite' },
    processes: { type: 'string', default: '1' },
    clients: { type: 'string', default: '2000' },
    batch: { type: 'string', default: '32' },
    mode: { type: 'string', default: 'both' },
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '5000' },
    'paced-seconds': { type: 'string', default: '40' },
    warmup: { type: 'string', default: '5' },
    'client-processes': { type: 'string', default: '2' },
    /** Write a CPU profile of each coordinator process (node --cpu-prof) into this folder, and of each client process into its `clients` folder. */
    profile: { type: 'string' },
  },
});
const processes = Number(values.processes);
const clients = Number(values.clients);
const batch = Number(values.batch);
const rate = Number(values.rate);
const warmupSeconds = Number(values.warmup);
const phases = [
  ...(values.mode !== 'paced' ? [{ mode: 'saturated', seconds: Number(values.seconds), periodMs: 0 }] : []),
  ...(values.mode !== 'saturated' ? [{ mode: 'paced', seconds: Number(values['paced-seconds']), periodMs: ((clients * batch) / rate) * 1000 }] : []),
];
if (!['both', 'saturated', 'paced'].includes(values.mode)) throw new Error('--mode is saturated, paced or both');
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

/** CPU seconds (user + system) a process has used, from /proc (Linux); with `thread`, that thread's alone. */
function cpuSeconds(pid: number, thread?: number): number {
  const stat = thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`;
  const fields = readFileSync(stat, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The coordinators' CPU seconds so far: all their threads, and their main threads (the event loop, whose thread id is the process id). */
function coordinatorCpu(coordinators: readonly ChildProcess[]): { all: number; main: number } {
  let all = 0;
  let main = 0;
  for (const { pid } of coordinators) {
    all += cpuSeconds(pid!);
    main += cpuSeconds(pid!, pid!);
  }
  return { all, main };
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
    // The young generation `npm run coordinator` gives it (docs/decisions/0014-prepared-statements.md).
    const started = await run(['coordinator/main.ts'], env, /Open (http:\/\/[^/\s]+)\//, ['--max-semi-space-size=64', ...profile]);
    coordinators.push(started.child);
    bases.push(started.match![1]!);
  }
  // Enough tiny units (1024 numbers, one block) that no client runs dry: a saturated phase at
  // up to 10,000 results a second, a paced one at its rate, and a round of every client's.
  const wanted = phases.reduce(
    (sum, phase) => sum + (phase.periodMs > 0 ? (phase.seconds + warmupSeconds) * rate * 1.2 : phase.seconds * 10_000) + clients * batch,
    0,
  );
  const units = Math.round(Math.min(600_000, wanted));
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
        ['bench/sim-client.ts', '--coordinators', bases.join(','), '--clients', String(perProcess), '--batch', values.batch],
        {},
        /^ready$/m,
        values.profile ? ['--cpu-prof', '--cpu-prof-dir', join(values.profile, 'clients')] : [],
      ),
    ),
  );
  // Each simulator answers a phase with one JSON line.
  const answers = simulators.map(({ child, output }) => {
    const lines: string[] = [];
    const waiting: ((line: string) => void)[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const waiter = waiting.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    });
    child.on('exit', (code) => {
      if (code !== 0) for (const fail of waiting.splice(0)) fail(JSON.stringify({ exited: code, output: output() }));
    });
    return () => new Promise<string>((answered) => (lines.length > 0 ? answered(lines.shift()!) : waiting.push(answered)));
  });
  for (const phase of phases) {
    // Saturated, every client's rounds are long queues (with 2,000 clients, seconds on SQLite and a
    // minute on PostgreSQL): the phase counts everything from its start until the last round is
    // answered. Paced, it counts what completes in a fixed window after the warm-up.
    const drain = phase.periodMs === 0;
    const warmup = drain ? 0 : warmupSeconds;
    for (const { child } of simulators)
      child.stdin!.write(`${JSON.stringify({ warmupSeconds: warmup, seconds: phase.seconds, periodMs: phase.periodMs, drain })}\n`);
    // The coordinators' CPU time in the measured window.
    const cpuSince = (before: { all: number; main: number }) => {
      const now = coordinatorCpu(coordinators);
      return { all: now.all - before.all, main: now.main - before.main };
    };
    let cpuBefore = coordinatorCpu(coordinators);
    let cpuInWindow: { all: number; main: number } | undefined;
    const warmedUp = setTimeout(() => (cpuBefore = coordinatorCpu(coordinators)), warmup * 1000);
    const ended = drain ? undefined : setTimeout(() => (cpuInWindow ??= cpuSince(cpuBefore)), (warmup + phase.seconds) * 1000);
    const parsed = (await Promise.all(answers.map((next) => next()))).map((line) => {
      const answer = JSON.parse(line) as {
        validated: number;
        failed: number;
        seconds: number;
        errors: Record<string, number>;
        latencies: number[];
        cpuSeconds: number;
        exited?: number;
        output?: string;
      };
      if (answer.exited !== undefined) throw new Error(`a simulator exited (${answer.exited}):\n${answer.output}`);
      return answer;
    });
    clearTimeout(warmedUp);
    clearTimeout(ended);
    cpuInWindow ??= cpuSince(cpuBefore);
    const latencies = parsed.flatMap((p) => p.latencies).sort((a, b) => a - b);
    const quantile = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    const validated = parsed.reduce((sum, p) => sum + p.validated, 0);
    const measured = Math.max(...parsed.map((p) => p.seconds));
    const errors: Record<string, number> = {};
    for (const p of parsed) for (const [code, n] of Object.entries(p.errors)) errors[code] = (errors[code] ?? 0) + n;
    const result = {
      mode: phase.mode,
      db: values.db,
      processes,
      clients: perProcess * clientProcesses,
      batch,
      offeredPerSecond: phase.periodMs > 0 ? rate : null,
      seconds: Number(measured.toFixed(2)),
      validatedPerSecond: measured > 0 ? Math.round(validated / measured) : 0,
      leaseP50Ms: Number(quantile(0.5).toFixed(2)),
      leaseP99Ms: Number(quantile(0.99).toFixed(2)),
      // CPU time per 1000 validated results, of the coordinators and of the simulated clients:
      // what a result costs, whatever else shares the machine.
      coordinatorCpuMsPer1000: Math.round((cpuInWindow.all * 1e6) / Math.max(1, validated)),
      // The share of it on the coordinators' event loops: what one core must hold for the rate.
      coordinatorMainThreadCpuMsPer1000: Math.round((cpuInWindow.main * 1e6) / Math.max(1, validated)),
      clientCpuMsPer1000: Math.round((parsed.reduce((sum, p) => sum + p.cpuSeconds, 0) * 1e6) / Math.max(1, validated)),
      failed: parsed.reduce((sum, p) => sum + p.failed, 0),
      errors,
      // Where the figures came from: they change by half from one machine to another.
      machine: machineName(),
    };
    console.log(values.json ? JSON.stringify(result) : result);
  }
  const simulatorsExited = simulators.map(({ child }) => new Promise((exited) => child.once('exit', exited)));
  for (const { child } of simulators) child.stdin!.end();
  if (values.profile) {
    await Promise.all(simulatorsExited);
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
