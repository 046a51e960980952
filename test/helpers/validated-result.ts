import type { FastifyInstance } from 'fastify';
import { matmulInputA, matmulInputB } from '../../src/kernels/matmul.ts';
import { matmulF32Reference } from '../../src/kernels/matmul-f32.ts';
import type { ReceiptDomain } from '../../src/protocol/receipt.ts';
import type { InfoResponse, Lease } from '../../src/protocol/schemas.ts';
import { signWorkReceipt } from '../../src/wallet/receipt-signer.ts';
import type { TestContributor } from './contributor.ts';

/** The next receipt sequence number of each test session: a session never reuses one. */
const nextSeq = new Map<string, number>();

/**
 * Leases a demo matmul-f32 unit, computes it with the reference kernel, signs the receipt
 * with the contributor's session key and submits it; returns the credit the coordinator granted.
 */
export async function contributeValidatedResult(app: FastifyInstance, who: TestContributor): Promise<bigint> {
  const domain = ((await app.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse).domain as ReceiptDomain;
  const leased = await app.inject({ method: 'POST', url: '/v1/leases', payload: { session: who.session.address, backends: ['wasm'] } });
  const lease = (leased.json() as { lease: Lease | null }).lease;
  if (lease?.kernel !== 'matmul-f32') throw new Error(`expected a matmul-f32 lease, got ${leased.statusCode} ${leased.body}`);
  const { m, n, k } = lease.params;
  const output = new Uint8Array(Float32Array.from(matmulF32Reference(matmulInputA(lease.params, 'f32'), matmulInputB(lease.params, 'f32'), m, n, k)).buffer);
  const seq = nextSeq.get(who.session.address) ?? 0;
  nextSeq.set(who.session.address, seq + 1);
  const signed = await signWorkReceipt({ session: who.session, owner: who.owner.address, domain, lease, output, seq });
  const body = { lease: lease.id, output: Buffer.from(output).toString('base64'), receipt: signed.receipt, signature: signed.signature };
  const response = await app.inject({ method: 'POST', url: '/v1/results', payload: body });
  const answer = response.json() as { status?: string; credit?: string };
  if (response.statusCode !== 200 || answer.status !== 'validated') throw new Error(`the result was not validated: ${response.statusCode} ${response.body}`);
  return BigInt(answer.credit ?? 0);
}
