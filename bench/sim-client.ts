/**
 * Simulated contributors for the coordinator benchmark: one process runs `--clients` honest
 * clients, each with its own owner and session key, that lease tiny units, compute them with
 * the reference kernels, sign receipts and send results, until `--seconds` pass. Prints one
 * JSON line: results validated, leases, and every lease latency in milliseconds.
 */
import { parseArgs } from 'node:util';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { primesReference } from '../src/kernels/primes.ts';
import type { ReceiptDomain } from '../src/protocol/receipt.ts';
import type { InfoResponse, Lease } from '../src/protocol/schemas.ts';
import { signWorkReceipt } from '../src/wallet/receipt-signer.ts';
import { sessionGrantMessage } from '../src/wallet/session-grant.ts';

const { values } = parseArgs({ options: { coordinators: { type: 'string' }, clients: { type: 'string' }, seconds: { type: 'string' } } });
const bases = values.coordinators!.split(',');
const deadline = Date.now() + Number(values.seconds) * 1000;
const latencies: number[] = [];
let validated = 0;
let failed = 0;

async function post(base: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function client(index: number): Promise<void> {
  const base = bases[index % bases.length]!;
  const domain = ((await (await fetch(`${base}/v1/info`)).json()) as InfoResponse).domain as ReceiptDomain;
  const owner = privateKeyToAccount(generatePrivateKey());
  const session = privateKeyToAccount(generatePrivateKey());
  const message = sessionGrantMessage({ owner: owner.address, session: session.address, domain: new URL(base).host, uri: base, chainId: domain.chainId });
  await post(base, '/v1/sessions', { message, signature: await owner.signMessage({ message }) });
  let seq = 0;
  while (Date.now() < deadline) {
    const started = performance.now();
    const answer = await post(base, '/v1/leases', { session: session.address, backends: ['wasm'] });
    latencies.push(performance.now() - started);
    const { lease } = (await answer.json()) as { lease: Lease | null };
    if (lease?.kernel !== 'primes') break;
    const output = primesReference(lease.params);
    const signed = await signWorkReceipt({ session, owner: owner.address, domain, lease, output, seq: seq++ });
    const result = await post(base, '/v1/results', {
      lease: lease.id,
      output: Buffer.from(output).toString('base64'),
      receipt: signed.receipt,
      signature: signed.signature,
    });
    if (result.ok) validated++;
    else failed++;
  }
}

await Promise.all(Array.from({ length: Number(values.clients) }, (_, i) => client(i)));
console.log(JSON.stringify({ validated, failed, latencies }));
