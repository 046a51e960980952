/**
 * `npm run sim [-- --clients 300] [-- --malicious 0.3] [-- --json]`: honest and cheating clients
 * side by side against a real coordinator (in this process, SQLite) with adaptive replication,
 * canaries and quorum by hash, on primes units. Cheaters send garbage, results right but for
 * one block's count, copies of other units' results, replayed and forged receipts, results for
 * leases they do not hold, and colluding groups send the same wrong answer. Each client has its
 * own owner, session key and network address.
 *
 * The clients work in rounds (one unit each a round) until most honest owners are trusted,
 * then `--measure` rounds more, then a few rounds of honest work that settle what waits for a
 * replica. It prints invalid results accepted, invalid results detected, credit granted to
 * cheaters, honest results wrongly rejected, and the verification overhead: the compute spent
 * on extra replicas and canaries, plus the coordinator's validation time, over the compute of
 * the units whose output was kept; once for the whole run and once for the rounds after honest
 * owners are trusted. An honest client's compute is measured once per unit and charged to each
 * replica of it (the sim does not burn the CPU twice for the same answer).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { keccak256, type LocalAccount, zeroAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { CoordinatorConfig } from '../coordinator/config.ts';
import { openDatabase } from '../coordinator/db/database.ts';
import { buildServer } from '../coordinator/server.ts';
import { defaultTrustConfig } from '../coordinator/trust-config.ts';
import { createPrimesJob } from '../coordinator/work-generator.ts';
import { primesReference } from '../src/kernels/primes.ts';
import type { ReceiptDomain } from '../src/protocol/receipt.ts';
import type { InfoResponse, Lease } from '../src/protocol/schemas.ts';
import { signWorkReceipt } from '../src/wallet/receipt-signer.ts';
import { sessionGrantMessage } from '../src/wallet/session-grant.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '300' },
    malicious: { type: 'string', default: '0.3' },
    measure: { type: 'string', default: '6' },
    'max-rounds': { type: 'string', default: '40' },
    json: { type: 'boolean', default: false },
  },
});
const clientCount = Number(values.clients);
const measureRounds = Number(values.measure);
const maxRounds = Number(values['max-rounds']);
const cheats = ['garbage', 'one-off', 'copy', 'replay', 'forged', 'foreign-lease', 'colluding'] as const;
type Behaviour = 'honest' | (typeof cheats)[number];
/** The share of honest owners that must be trusted before the measured rounds start. */
const kTrustedShare = 0.9;
const kSpan = 65_536;
const kBlock = 1024;

const dataDir = mkdtempSync(join(tmpdir(), 'surge-sim-'));
const db = await openDatabase(join(dataDir, 'surge.sqlite'));
const coordinatorKey = generatePrivateKey();
const trust = { ...defaultTrustConfig };
const config: CoordinatorConfig = {
  host: '127.0.0.1',
  port: 0,
  database: join(dataDir, 'surge.sqlite'),
  keyFile: join(dataDir, 'coordinator.key'),
  coordinatorKey,
  requesterTokens: new Map<string, string>(),
  requesterTokenFile: join(dataDir, 'requester.token'),
  chainId: 31337,
  verifyingContract: zeroAddress,
  // Units here take milliseconds, so a lease held by a client that never answers runs out soon.
  leaseMs: 10_000,
  // The simulation counts what validation costs on the coordinator's own thread.
  validationThreads: 0,
  logLevel: 'silent',
  rateLimitPerMinute: 100_000_000,
  bodyLimitBytes: 4 * 1024 * 1024,
  trust,
};
const app = await buildServer({ config, db, coordinator: privateKeyToAccount(coordinatorKey) });
const unitCount = clientCount * (maxRounds + 4);
await createPrimesJob(db, { name: 'Sim primes', purpose: 'simulation', lo: 1e9, hi: 1e9 + unitCount * kSpan, span: kSpan, blockSize: kBlock });
const domain = ((await app.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse).domain as ReceiptDomain;

// Warm up (the JIT, the base primes) so that the first units' times are not inflated.
for (let i = 0; i < 3; i++) primesReference({ lo: 1e9 + (unitCount + i) * kSpan, hi: 1e9 + (unitCount + i + 1) * kSpan, blockSize: kBlock });

/** Each unit's right answer and the time it took to compute, measured once. */
const answers = new Map<number, { output: Uint8Array; hash: string; seconds: number }>();
function answer(lease: Lease): { output: Uint8Array; hash: string; seconds: number } {
  let known = answers.get(lease.unitId);
  if (!known) {
    if (lease.kernel !== 'primes') throw new Error(`unexpected kernel ${lease.kernel}`);
    const started = performance.now();
    const output = primesReference(lease.params);
    known = { output, hash: keccak256(output), seconds: (performance.now() - started) / 1000 };
    answers.set(lease.unitId, known);
  }
  return known;
}

interface Client {
  index: number;
  behaviour: Behaviour;
  owner: LocalAccount;
  session: LocalAccount;
  address: string;
  seq: number;
}
/** Honest compute charged per round: which unit, how long. */
const honestWork: { round: number; unitId: number; seconds: number }[] = [];
const tally = { refusedAccepted: 0, cheatsRefused: 0, honestRefused: 0 };
const validatedBodies: object[] = [];
const openLeases: string[] = [];

async function register(index: number, behaviour: Behaviour): Promise<Client> {
  const owner = privateKeyToAccount(generatePrivateKey());
  const session = privateKeyToAccount(generatePrivateKey());
  const message = sessionGrantMessage({ owner: owner.address, session: session.address, domain: 'localhost:80', uri: 'http://localhost', chainId: 31337 });
  await app.inject({ method: 'POST', url: '/v1/sessions', payload: { message, signature: await owner.signMessage({ message }) } });
  return { index, behaviour, owner, session, address: `10.${(index >> 8) & 255}.${index & 255}.1`, seq: 0 };
}

function post(client: Client, url: string, payload: object) {
  return app.inject({ method: 'POST', url, payload, remoteAddress: client.address });
}

/** One unit of work, or one attempt at cheating, by one client. */
async function step(client: Client, round: number): Promise<void> {
  const { behaviour } = client;
  const { lease } = (await post(client, '/v1/leases', { session: client.session.address, backends: ['wasm'] })).json() as { lease: Lease | null };
  if (!lease) return;
  openLeases.push(lease.id);
  let output: Uint8Array;
  let leaseId = lease.id;
  let signer = client.session;
  switch (behaviour) {
    case 'honest': {
      const right = answer(lease);
      honestWork.push({ round, unitId: lease.unitId, seconds: right.seconds });
      output = right.output;
      break;
    }
    case 'garbage':
      output = crypto.getRandomValues(new Uint8Array(answer(lease).output.byteLength));
      break;
    case 'one-off': {
      // Right but for one block's prime count, which a sampled check usually misses.
      output = answer(lease).output.slice();
      const view = new DataView(output.buffer);
      const block = (client.index * 7 + client.seq) % (output.byteLength / 8);
      view.setUint32(block * 8, view.getUint32(block * 8, true) + 1, true);
      break;
    }
    case 'copy': {
      const other = [...answers.entries()].find(([unit, known]) => unit !== lease.unitId && known.output.byteLength === answer(lease).output.byteLength);
      output = other ? other[1].output : crypto.getRandomValues(new Uint8Array(answer(lease).output.byteLength));
      break;
    }
    case 'colluding': {
      // Every member of the group sends the same wrong answer for a unit: block 0 off by one.
      output = answer(lease).output.slice();
      const view = new DataView(output.buffer);
      view.setUint32(0, view.getUint32(0, true) + 1, true);
      break;
    }
    case 'replay': {
      // Sends someone's validated result again instead of computing: never paid twice.
      const old = validatedBodies.at(-1 - (client.seq % 5));
      client.seq++;
      if (!old) return;
      const response = await post(client, '/v1/results', old);
      if (response.statusCode === 200 && response.json().duplicate === false) tally.refusedAccepted++;
      else tally.cheatsRefused++;
      return;
    }
    case 'forged':
      output = answer(lease).output;
      signer = privateKeyToAccount(generatePrivateKey());
      break;
    case 'foreign-lease': {
      // Someone else's lease (any but the one it holds).
      output = answer(lease).output;
      const others = openLeases.filter((id) => id !== lease.id);
      leaseId = others[(client.index * 7 + client.seq) % others.length] ?? lease.id;
      if (leaseId === lease.id) return;
      break;
    }
  }
  const target = leaseId === lease.id ? lease : { ...lease, id: leaseId };
  const signed = await signWorkReceipt({ session: signer, owner: client.owner.address, domain, lease: target, output, seq: client.seq++ });
  const body = {
    lease: leaseId,
    output: Buffer.from(output).toString('base64'),
    receipt: { ...signed.receipt, session: client.session.address },
    signature: signed.signature,
  };
  const response = await post(client, '/v1/results', body);
  if (behaviour === 'forged' || behaviour === 'foreign-lease') {
    if (response.statusCode === 200) tally.refusedAccepted++;
    else tally.cheatsRefused++;
  } else if (behaviour === 'honest') {
    if (response.statusCode !== 200) tally.honestRefused++;
    else if (response.json().status === 'validated') validatedBodies.push(body);
  }
}

async function validationSeconds(): Promise<number> {
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  return [...metrics.matchAll(/^surge_validation_seconds_sum\{kernel="[^"]+"\} ([0-9.e+-]+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

const malicious = Math.round(clientCount * Number(values.malicious));
const behaviours: Behaviour[] = Array.from({ length: clientCount }, (_, i) => (i < malicious ? cheats[i % cheats.length]! : 'honest'));
// Interleave honest and cheating clients.
const order = behaviours.map((behaviour, i) => ({ behaviour, key: (i * 2654435761) % 4294967296 })).sort((x, y) => x.key - y.key);
const clients = await Promise.all(order.map(({ behaviour }, i) => register(i, behaviour)));
const honestOwners = clients.filter((c) => c.behaviour === 'honest').map((c) => c.owner.address.toLowerCase());
const cheaterOwners = new Set(clients.filter((c) => c.behaviour !== 'honest').map((c) => c.owner.address.toLowerCase()));

async function round(index: number, who: Client[]): Promise<void> {
  for (let i = 0; i < who.length; i += 25) await Promise.all(who.slice(i, i + 25).map((client) => step(client, index)));
}

async function trustedShare(): Promise<number> {
  const trusted = await db.selectFrom('hosts').select('owner').where('streak', '>=', trust.trustStreak).where('owner', 'in', honestOwners).execute();
  return trusted.length / honestOwners.length;
}

const started = performance.now();
let rounds = 0;
let trustedFrom: number | undefined;
let validationAtTrust = 0;
while (rounds < maxRounds && (trustedFrom === undefined || rounds < trustedFrom + measureRounds)) {
  await round(rounds++, clients);
  if (trustedFrom === undefined && (await trustedShare()) >= kTrustedShare) {
    trustedFrom = rounds;
    validationAtTrust = await validationSeconds();
  }
}
const validationAtEnd = await validationSeconds();
const measuredTo = rounds;
// Settle: honest clients finish the units that wait for another replica.
const honest = clients.filter((c) => c.behaviour === 'honest');
for (let settle = 0; settle < 4; settle++) {
  const waiting = await db.selectFrom('leases').select('id').where('state', '=', 'pending').limit(1).execute();
  if (waiting.length === 0) break;
  await round(rounds++, honest);
}
const wallSeconds = (performance.now() - started) / 1000;

// The verdicts, from the coordinator's own records.
const results = await db.selectFrom('results').select(['owner', 'unit_id', 'result_hash', 'outcome']).execute();
const acceptedBy: Partial<Record<Behaviour, number>> = {};
const verdicts = { invalidAccepted: tally.refusedAccepted, invalidDetected: 0, invalidPending: 0, honestRejected: tally.honestRefused, honestPending: 0 };
for (const result of results) {
  const cheater = cheaterOwners.has(result.owner);
  const right = answers.get(result.unit_id)?.hash === result.result_hash;
  if (cheater && !right) {
    if (result.outcome === 'validated') {
      verdicts.invalidAccepted++;
      const behaviour = clients.find((c) => c.owner.address.toLowerCase() === result.owner)!.behaviour;
      acceptedBy[behaviour] = (acceptedBy[behaviour] ?? 0) + 1;
    } else if (result.outcome === 'invalid') verdicts.invalidDetected++;
    else verdicts.invalidPending++;
  } else if (!cheater) {
    if (result.outcome === 'invalid') verdicts.honestRejected++;
    if (result.outcome === 'pending') verdicts.honestPending++;
  }
}
const credits = await db.selectFrom('credits').select(['owner', 'amount']).execute();
const creditToCheaters = credits.filter((c) => cheaterOwners.has(c.owner)).reduce((sum, c) => sum + Number(c.amount), 0);
const canaries = new Set((await db.selectFrom('units').select('id').where('canary', '=', 1).execute()).map((u) => u.id));

/** Extra compute (replicas beyond the first, canaries) plus validation, over the compute of the units kept. */
function overhead(from: number, to: number, validation: number) {
  const work = honestWork.filter((w) => w.round >= from && w.round < to);
  const canary = work.filter((w) => canaries.has(w.unitId)).reduce((sum, w) => sum + w.seconds, 0);
  const spent = work.reduce((sum, w) => sum + w.seconds, 0) - canary;
  const useful = [...new Set(work.map((w) => w.unitId))].filter((unit) => !canaries.has(unit)).reduce((sum, unit) => sum + answers.get(unit)!.seconds, 0);
  const share = (seconds: number) => Number((seconds / useful).toFixed(4));
  return { total: share(spent - useful + canary + validation), replicas: share(spent - useful), canaries: share(canary), validation: share(validation) };
}

const whole = overhead(0, measuredTo, validationAtEnd);
const trusted = trustedFrom === undefined ? undefined : overhead(trustedFrom, measuredTo, validationAtEnd - validationAtTrust);
const report = {
  clients: clientCount,
  malicious,
  rounds,
  trustedFromRound: trustedFrom ?? null,
  invalidAccepted: verdicts.invalidAccepted,
  invalidDetected: verdicts.invalidDetected,
  invalidPending: verdicts.invalidPending,
  cheatsRefused: tally.cheatsRefused,
  creditToCheaters,
  honestValidated: results.filter((r) => !cheaterOwners.has(r.owner) && r.outcome === 'validated').length,
  honestRejected: verdicts.honestRejected,
  honestPending: verdicts.honestPending,
  verificationOverhead: whole.total,
  verificationOverheadTrusted: trusted?.total ?? null,
  overheadParts: { whole, trusted: trusted ?? null },
  invalidAcceptedBy: acceptedBy,
  seconds: Number(wallSeconds.toFixed(1)),
};
console.log(values.json ? JSON.stringify(report) : report);
await app.close();
await db.destroy();
rmSync(dataDir, { recursive: true, force: true });
