/**
 * Simulated contributors for the coordinator benchmark: one process runs `--clients` honest
 * clients, each with its own owner and session key. Once every client has its session it
 * prints `ready`, then runs one phase per line it reads on stdin, a JSON object
 * `{"warmupSeconds","seconds","periodMs","drain"}`: until `warmupSeconds` + `seconds` pass each client leases `--batch` tiny units at
 * once (batched leases), computes them with the reference kernel, signs one WorkBatchReceipt
 * over them and sends them in one batch (POST /v1/results/batch; `--batch 1` uses the
 * single-result endpoint instead). With `periodMs` 0 a client asks again at once (the most the
 * coordinator takes); otherwise it starts a round every `periodMs` (from a random offset), as
 * a browser computing real units would, so the clients together offer a fixed load. Only what
 * completes after the first `warmupSeconds` is counted (the coordinator's JIT and caches warm
 * up first); rounds still going at the end are finished, and counted only with `drain`.
 * After each phase it prints one JSON line: results validated and refused, CPU seconds used in
 * the window, its length, and every lease latency in milliseconds.
 */
import http from 'node:http';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { LocalAccount } from 'viem';
import { generatePrivateKey } from 'viem/accounts';
import { fastKeccak256 } from '../coordinator/keccak.ts';
import { batchReceiptDigest } from '../coordinator/receipts.ts';
import { fastSigningAccount } from '../coordinator/secp256k1.ts';
import { primesReference } from '../src/kernels/primes.ts';
import type { ResultBatchResponse } from '../src/protocol/batch-schemas.ts';
import type { ReceiptDomain } from '../src/protocol/receipt.ts';
import type { InfoResponse, Lease } from '../src/protocol/schemas.ts';
import { signWorkBatchReceipt } from '../src/wallet/batch-receipt-signer.ts';
import { signWorkReceipt } from '../src/wallet/receipt-signer.ts';
import { sessionGrantMessage } from '../src/wallet/session-grant.ts';

const { values } = parseArgs({
  options: {
    coordinators: { type: 'string' },
    clients: { type: 'string' },
    seconds: { type: 'string' },
    batch: { type: 'string', default: '32' },
  },
});
const bases = values.coordinators!.split(',');
const batchSize = Number(values.batch);
let latencies: number[] = [];
let validated = 0;
let failed = 0;
let errors = new Map<string, number>();

/**
 * A pool of keep-alive connections per process, shared by its clients: thousands of clients
 * need not mean thousands of sockets (as thousands of browsers behind a load balancer would not).
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** An HTTP request through the pool; the answer's status and body text. */
function request(url: string, body?: unknown): Promise<{ status: number; ok: boolean; text: string }> {
  return new Promise((answered, fail) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const sent = http.request(
      url,
      { method: payload ? 'POST' : 'GET', agent, headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {} },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          answered({ status, ok: status >= 200 && status < 300, text: Buffer.concat(chunks).toString() });
        });
      },
    );
    sent.on('error', fail);
    sent.end(payload);
  });
}

function post(base: string, path: string, body: unknown) {
  return request(`${base}${path}`, body);
}

interface Client {
  base: string;
  domain: ReceiptDomain;
  owner: LocalAccount;
  session: LocalAccount;
  /** The next receipt's sequence number: it carries on from one phase to the next. */
  seq: number;
}

async function join(index: number): Promise<Client> {
  const base = bases[index % bases.length]!;
  const domain = (JSON.parse((await request(`${base}/v1/info`)).text) as InfoResponse).domain as ReceiptDomain;
  // Keys that sign natively: the clients share the machine with the coordinator, so what they spend counts.
  const owner = fastSigningAccount(generatePrivateKey());
  const session = fastSigningAccount(generatePrivateKey());
  const message = sessionGrantMessage({ owner: owner.address, session: session.address, domain: new URL(base).host, uri: base, chainId: domain.chainId });
  const answer = await post(base, '/v1/sessions', { message, signature: await owner.signMessage({ message }) });
  if (!answer.ok) throw new Error(`session refused: ${answer.status} ${answer.text}`);
  return { base, domain, owner, session, seq: 0 };
}

function note(code: string): void {
  errors.set(code, (errors.get(code) ?? 0) + 1);
}

interface Phase {
  /** When counting starts (the end of the warm-up) and when clients stop starting rounds, in ms since the epoch. */
  measureFrom: number;
  deadline: number;
  /** A round every periodMs (paced), or 0: the next round at once (saturated). */
  periodMs: number;
  /** Whether rounds still going at the deadline are finished and counted. */
  drain: boolean;
}

const sleep = (ms: number) => new Promise((wait) => setTimeout(wait, ms));

async function contribute(client: Client, phase: Phase): Promise<void> {
  const { measureFrom, deadline, periodMs, drain } = phase;
  const { base, domain, owner, session } = client;
  // Paced: rounds every periodMs from a random offset, so that clients do not all ask at once.
  let next = Date.now() + Math.random() * periodMs;
  while (Date.now() < deadline) {
    if (periodMs > 0) {
      if (next >= deadline) return;
      await sleep(next - Date.now());
      next = Math.max(next + periodMs, Date.now());
    }
    // Counted only what completes inside the measured window: after the warm-up, and before the deadline unless the rounds still going count too.
    const counted = () => Date.now() >= measureFrom && (drain || Date.now() < deadline);
    const tally = {
      validate(n: number) {
        if (counted()) validated += n;
      },
      fail(n: number) {
        if (counted()) failed += n;
      },
      note(code: string) {
        if (counted()) note(code);
      },
    };
    const started = performance.now();
    const answer = await post(base, '/v1/leases', { session: session.address, backends: ['wasm'], ...(batchSize > 1 ? { count: batchSize } : {}) });
    if (counted()) latencies.push(performance.now() - started);
    if (!answer.ok) {
      tally.note(`lease ${answer.status}`);
      continue;
    }
    const body = JSON.parse(answer.text) as { lease: Lease | null; leases?: Lease[] };
    const leases = body.leases ?? (body.lease ? [body.lease] : []);
    if (leases.length === 0 || leases.some((lease) => lease.kernel !== 'primes')) {
      // The benchmark's job ran dry (or holds other work): say so rather than look idle.
      tally.note(leases.length === 0 ? 'no work left' : 'not a primes unit');
      return;
    }
    const results: { lease: Lease; output: Uint8Array }[] = [];
    for (const lease of leases) {
      results.push({ lease, output: primesReference((lease as Extract<Lease, { kernel: 'primes' }>).params) });
      // A browser computes in a worker, so its answers are read while it computes: here the other
      // clients' answers are let in between units, or this process's own computing would count
      // as the coordinator's latency.
      await new Promise((next) => setImmediate(next));
    }
    if (batchSize === 1) {
      const { lease, output } = results[0]!;
      const signed = await signWorkReceipt({ session, owner: owner.address, domain, lease, output, seq: client.seq++ });
      const sent = await post(base, '/v1/results', {
        lease: lease.id,
        output: Buffer.from(output).toString('base64'),
        receipt: signed.receipt,
        signature: signed.signature,
      });
      if (sent.ok) tally.validate(1);
      else {
        tally.fail(1);
        tally.note(`result ${sent.status}`);
      }
      continue;
    }
    const signed = await signWorkBatchReceipt({
      session,
      owner: owner.address,
      domain,
      results,
      seq: client.seq++,
      hash: fastKeccak256,
      digest: (receipt) => batchReceiptDigest(domain, receipt),
    });
    const sent = await post(base, '/v1/results/batch', {
      receipt: signed.receipt,
      signature: signed.signature,
      results: signed.entries.map((entry, i) => ({ ...entry, output: Buffer.from(results[i]!.output).toString('base64') })),
    });
    if (!sent.ok) {
      tally.fail(results.length);
      tally.note(`batch ${sent.status}`);
      continue;
    }
    for (const verdict of (JSON.parse(sent.text) as ResultBatchResponse).results) {
      if (verdict.status === 'validated') tally.validate(1);
      else {
        tally.fail(1);
        tally.note(verdict.code ?? verdict.status);
      }
    }
  }
}

// Sessions first, a few at a time, so the measured window holds only leases and results.
const count = Number(values.clients);
const clients: Client[] = [];
for (let i = 0; i < count; i += 50) clients.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, j) => join(i + j)))));
console.log('ready');
for await (const line of createInterface({ input: process.stdin })) {
  const phase = JSON.parse(line) as { warmupSeconds: number; seconds: number; periodMs: number; drain: boolean };
  latencies = [];
  validated = 0;
  failed = 0;
  errors = new Map();
  const measureFrom = Date.now() + phase.warmupSeconds * 1000;
  const deadline = measureFrom + phase.seconds * 1000;
  let cpuAtStart = process.cpuUsage();
  let cpu: NodeJS.CpuUsage | undefined;
  const warmedUp = setTimeout(() => (cpuAtStart = process.cpuUsage()), phase.warmupSeconds * 1000);
  const ended = phase.drain ? undefined : setTimeout(() => (cpu ??= process.cpuUsage(cpuAtStart)), (phase.warmupSeconds + phase.seconds) * 1000);
  await Promise.all(
    clients.map((client) =>
      contribute(client, { measureFrom, deadline, periodMs: phase.periodMs, drain: phase.drain }).catch((error: unknown) => {
        failed++;
        note(error instanceof Error ? error.message : String(error));
      }),
    ),
  );
  clearTimeout(warmedUp);
  clearTimeout(ended);
  // Paced clients can all be done a little before the deadline.
  cpu ??= process.cpuUsage(cpuAtStart);
  const seconds = ((phase.drain ? Date.now() : Math.min(Date.now(), deadline)) - measureFrom) / 1000;
  console.log(JSON.stringify({ validated, failed, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, errors: Object.fromEntries(errors), latencies }));
}
