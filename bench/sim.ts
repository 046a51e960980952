/**
 * `npm run sim [-- --clients 300] [-- --malicious 0.3] [-- --json]`: honest and cheating clients
 * side by side against a real coordinator (in this process, SQLite), on matmul-f32 and primes
 * units. Cheaters send garbage, results right but for one element or block, copies of other
 * results, replayed and forged receipts, results for leases they do not hold, and colluding
 * groups send the same wrong answer. Prints invalid results accepted, invalid detected, credit
 * granted to cheaters, honest results wrongly rejected, and validation time as a fraction of
 * the clients' compute time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type LocalAccount, zeroAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { openDatabase } from '../coordinator/db/database.ts';
import { buildServer } from '../coordinator/server.ts';
import { createMatmulJob, createPrimesJob } from '../coordinator/work-generator.ts';
import { matmulInputA, matmulInputB } from '../src/kernels/matmul.ts';
import { matmulF32Reference } from '../src/kernels/matmul-f32.ts';
import { primesReference } from '../src/kernels/primes.ts';
import type { ReceiptDomain } from '../src/protocol/receipt.ts';
import type { InfoResponse, Lease } from '../src/protocol/schemas.ts';
import { signWorkReceipt } from '../src/wallet/receipt-signer.ts';
import { sessionGrantMessage } from '../src/wallet/session-grant.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '300' },
    malicious: { type: 'string', default: '0.3' },
    units: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const clientCount = Number(values.clients);
const unitsPerClient = Number(values.units);
const cheats = ['garbage', 'one-off', 'copy', 'replay', 'forged', 'foreign-lease', 'colluding'] as const;
type Behaviour = 'honest' | (typeof cheats)[number];

const dataDir = mkdtempSync(join(tmpdir(), 'surge-sim-'));
const db = await openDatabase(join(dataDir, 'surge.sqlite'));
const coordinatorKey = generatePrivateKey();
const config = {
  host: '127.0.0.1',
  port: 0,
  database: join(dataDir, 'surge.sqlite'),
  keyFile: join(dataDir, 'coordinator.key'),
  coordinatorKey,
  requesterTokens: new Map<string, string>(),
  requesterTokenFile: join(dataDir, 'requester.token'),
  staticDir: undefined,
  chainId: 31337,
  verifyingContract: zeroAddress,
  leaseMs: 600_000,
  logLevel: 'silent',
  rateLimitPerMinute: 100_000_000,
  bodyLimitBytes: 4 * 1024 * 1024,
} as const;
const app = await buildServer({ config: { ...config, requesterTokens: new Map() }, db, coordinator: privateKeyToAccount(coordinatorKey) });
const units = clientCount * unitsPerClient;
await createMatmulJob(db, {
  name: 'Sim matmul',
  purpose: 'simulation',
  seed: '0x00000000005eed01',
  rows: 32 * Math.ceil(units / 2 / 4),
  cols: 128,
  k: 64,
  block: 32,
});
await createPrimesJob(db, { name: 'Sim primes', purpose: 'simulation', lo: 1e9, hi: 1e9 + Math.ceil(units / 2) * 32_768, span: 32_768, blockSize: 8192 });
const domain = ((await app.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse).domain as ReceiptDomain;

const tally = { invalidAccepted: 0, invalidDetected: 0, honestRejected: 0, honestValidated: 0, cheatsRefused: 0, computeSeconds: 0 };
const cheaterOwners = new Set<string>();
const seenOutputs: { lease: Lease; output: Uint8Array; body: unknown }[] = [];
const openLeases: string[] = [];

function correct(lease: Lease): Uint8Array {
  const started = performance.now();
  let output: Uint8Array;
  if (lease.kernel === 'matmul-f32') {
    const { m, n, k } = lease.params;
    output = new Uint8Array(Float32Array.from(matmulF32Reference(matmulInputA(lease.params, 'f32'), matmulInputB(lease.params, 'f32'), m, n, k)).buffer);
  } else if (lease.kernel === 'primes') {
    output = primesReference(lease.params);
  } else {
    throw new Error(`unexpected kernel ${lease.kernel}`);
  }
  tally.computeSeconds += (performance.now() - started) / 1000;
  return output;
}

/** The same wrong answer every member of the colluding group gives: the right one with its first word changed. */
function colludingAnswer(lease: Lease): Uint8Array {
  const output = correct(lease).slice();
  output[0]! ^= 0x01;
  return output;
}

async function client(index: number, behaviour: Behaviour): Promise<void> {
  const owner = privateKeyToAccount(generatePrivateKey());
  const session: LocalAccount = privateKeyToAccount(generatePrivateKey());
  if (behaviour !== 'honest') cheaterOwners.add(owner.address.toLowerCase());
  const message = sessionGrantMessage({ owner: owner.address, session: session.address, domain: 'localhost:80', uri: 'http://localhost', chainId: 31337 });
  await app.inject({ method: 'POST', url: '/v1/sessions', payload: { message, signature: await owner.signMessage({ message }) } });
  for (let seq = 0; seq < unitsPerClient; seq++) {
    const { lease } = (await app.inject({ method: 'POST', url: '/v1/leases', payload: { session: session.address, backends: ['wasm'] } })).json() as {
      lease: Lease | null;
    };
    if (!lease) return;
    openLeases.push(lease.id);
    let output: Uint8Array;
    const wrong = behaviour !== 'honest';
    let leaseId = lease.id;
    let signer = session;
    switch (behaviour) {
      case 'garbage':
        output = crypto.getRandomValues(new Uint8Array(correct(lease).byteLength));
        break;
      case 'one-off':
        output = correct(lease).slice();
        output[(index * 97) % output.length]! ^= 0x40;
        break;
      case 'copy': {
        const other = seenOutputs.find((seen) => seen.lease.kernel === lease.kernel && seen.output.byteLength === correct(lease).byteLength);
        output = other ? other.output : crypto.getRandomValues(new Uint8Array(correct(lease).byteLength));
        break;
      }
      case 'colluding':
        output = colludingAnswer(lease);
        break;
      case 'replay': {
        // Sends someone's validated result again instead of computing: never paid twice.
        const old = seenOutputs.at(-1);
        if (old) {
          const response = await app.inject({ method: 'POST', url: '/v1/results', payload: old.body as object });
          if (response.statusCode === 200 && response.json().duplicate === false) tally.invalidAccepted++;
          else tally.cheatsRefused++;
        }
        continue;
      }
      case 'forged':
        output = correct(lease);
        signer = privateKeyToAccount(generatePrivateKey());
        break;
      case 'foreign-lease':
        output = correct(lease);
        leaseId = openLeases[(index * 7) % openLeases.length]!;
        break;
      default:
        output = correct(lease);
    }
    const target = leaseId === lease.id ? lease : { ...lease, id: leaseId };
    const signed = await signWorkReceipt({ session: signer, owner: owner.address, domain, lease: target, output, seq });
    const body = {
      lease: leaseId,
      output: Buffer.from(output).toString('base64'),
      receipt: { ...signed.receipt, session: session.address },
      signature: signed.signature,
    };
    const response = await app.inject({ method: 'POST', url: '/v1/results', payload: body });
    const accepted = response.statusCode === 200 && response.json().duplicate === false;
    if (behaviour === 'forged' || behaviour === 'foreign-lease') {
      if (accepted) tally.invalidAccepted++;
      else tally.cheatsRefused++;
    } else if (wrong) {
      if (accepted) tally.invalidAccepted++;
      else tally.invalidDetected++;
    } else if (accepted) {
      tally.honestValidated++;
      seenOutputs.push({ lease, output, body });
    } else if (behaviour === 'honest') {
      tally.honestRejected++;
    }
  }
}

const malicious = Math.round(clientCount * Number(values.malicious));
const behaviours: Behaviour[] = Array.from({ length: clientCount }, (_, i) => (i < malicious ? cheats[i % cheats.length]! : 'honest'));
// Interleave honest and cheating clients.
behaviours.sort((a, b) => (a === b ? 0 : a === 'honest' ? -1 : 1));
const started = performance.now();
const order = behaviours.map((b, i) => ({ b, key: (i * 2654435761) % 4294967296 })).sort((x, y) => x.key - y.key);
for (let i = 0; i < order.length; i += 20) await Promise.all(order.slice(i, i + 20).map(({ b }, j) => client(i + j, b)));
const wallSeconds = (performance.now() - started) / 1000;

const credits = await db.selectFrom('credits').select(['owner', 'amount']).execute();
const creditToCheaters = credits.filter((c) => cheaterOwners.has(c.owner)).reduce((sum, c) => sum + Number(c.amount), 0);
const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
const validationSeconds = [...metrics.matchAll(/^surge_validation_seconds_sum\{kernel="[^"]+"\} ([0-9.e+-]+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
const report = {
  clients: clientCount,
  malicious,
  invalidAccepted: tally.invalidAccepted,
  invalidDetected: tally.invalidDetected,
  cheatsRefused: tally.cheatsRefused,
  creditToCheaters,
  honestValidated: tally.honestValidated,
  honestRejected: tally.honestRejected,
  verificationOverhead: Number((validationSeconds / tally.computeSeconds).toFixed(4)),
  seconds: Number(wallSeconds.toFixed(1)),
};
console.log(values.json ? JSON.stringify(report) : report);
await app.close();
await db.destroy();
rmSync(dataDir, { recursive: true, force: true });
