import { resolve } from 'node:path';
import type { InjectOptions } from 'fastify';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReceiptDomain } from '../src/protocol/receipt.ts';
import type { InfoResponse, Lease } from '../src/protocol/schemas.ts';
import { signWorkBatchReceipt } from '../src/wallet/batch-receipt-signer.ts';
import { signWorkReceipt } from '../src/wallet/receipt-signer.ts';
import { sessionGrantMessage } from '../src/wallet/session-grant.ts';
import { kTestRequesterToken, startTestCoordinator, type TestCoordinator } from '../test/helpers/test-coordinator.ts';

/**
 * Thousands of random and mutated requests against every endpoint: none may answer 5xx or
 * take the coordinator down. Seeded, so a failure can be replayed.
 */
let coordinator: TestCoordinator;
const valid: { method: 'GET' | 'POST' | 'DELETE'; url: string; body?: unknown; headers?: Record<string, string> }[] = [];

function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return state / 2 ** 32;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  return { next, int, pick };
}

const nasty = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  2 ** 64,
  Number.MAX_SAFE_INTEGER,
  '',
  ' ',
  '0x',
  '0x00',
  'a'.repeat(5000),
  '💥',
  '../../etc/passwd',
  '<script>',
  [],
  {},
  [1, 2],
  { a: { b: { c: {} } } },
];

beforeAll(async () => {
  // With the built page (npm test builds it first), as a real coordinator serves it.
  coordinator = await startTestCoordinator({ staticDir: resolve('dist') });
  const info = (await coordinator.app.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse;
  const owner = privateKeyToAccount(generatePrivateKey());
  const session = privateKeyToAccount(generatePrivateKey());
  const message = sessionGrantMessage({ owner: owner.address, session: session.address, domain: 'localhost:80', uri: 'http://localhost', chainId: 31337 });
  const grant = { message, signature: await owner.signMessage({ message }) };
  await coordinator.app.inject({ method: 'POST', url: '/v1/sessions', payload: grant });
  const leaseBody = { session: session.address, backends: ['wasm'] };
  const { lease } = (await coordinator.app.inject({ method: 'POST', url: '/v1/leases', payload: leaseBody })).json() as { lease: Lease };
  const output = new Uint8Array(lease.kernel === 'matmul-f32' ? lease.params.m * lease.params.n * 4 : 4);
  const signed = await signWorkReceipt({ session, owner: owner.address, domain: info.domain as ReceiptDomain, lease, output, seq: 0 });
  const auth = { authorization: `Bearer ${kTestRequesterToken}` };
  // A batch of the next two leases under one receipt, and a batched lease request.
  const batchLeaseBody = { ...leaseBody, count: 2 };
  const { leases } = (await coordinator.app.inject({ method: 'POST', url: '/v1/leases', payload: batchLeaseBody })).json() as { leases: Lease[] };
  const batchResults = leases.map((l) => ({ lease: l, output }));
  const batch = await signWorkBatchReceipt({ session, owner: owner.address, domain: info.domain as ReceiptDomain, results: batchResults, seq: 1 });
  valid.push(
    { method: 'GET', url: '/v1/info' },
    { method: 'POST', url: '/v1/sessions', body: grant },
    { method: 'POST', url: '/v1/leases', body: leaseBody },
    {
      method: 'POST',
      url: '/v1/results',
      body: { lease: lease.id, output: Buffer.from(output).toString('base64'), receipt: signed.receipt, signature: signed.signature },
    },
    { method: 'POST', url: '/v1/leases', body: batchLeaseBody },
    {
      method: 'POST',
      url: '/v1/results/batch',
      body: {
        receipt: batch.receipt,
        signature: batch.signature,
        results: batch.entries.map((entry) => ({ ...entry, output: Buffer.from(output).toString('base64') })),
      },
    },
    { method: 'GET', url: `/v1/owners/${owner.address}` },
    {
      method: 'POST',
      url: '/v1/jobs',
      headers: auth,
      body: { name: 'f', purpose: 'f', kernel: 'primes', params: { lo: 0, hi: 1_000_000, span: 65_536, blockSize: 8192 } },
    },
    { method: 'GET', url: '/v1/jobs/1', headers: auth },
    { method: 'GET', url: '/v1/jobs/1/output', headers: auth },
    { method: 'DELETE', url: '/v1/jobs/2', headers: auth },
  );
});

afterAll(() => coordinator.close());

/** A copy of a JSON value with one random change somewhere inside it. */
function mutate(value: unknown, random: ReturnType<typeof generator>, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > 4 || random.next() < 0.25) {
    const choice = random.int(4);
    if (choice === 0) return random.pick(nasty);
    if (choice === 1 && typeof value === 'string') return value.slice(0, random.int(value.length + 1)) + random.pick(['x', '0', 'Z', '\u0000', '"']);
    if (choice === 2 && typeof value === 'number') return value * random.pick([-1, 0, 2 ** 40, 0.5]);
    return random.pick(nasty);
  }
  if (Array.isArray(value)) return value.map((item) => (random.next() < 0.5 ? mutate(item, random, depth + 1) : item));
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const action = random.int(4);
  if (action === 0 && keys.length) delete copy[random.pick(keys)];
  else if (action === 1) copy[random.pick(['extra', '__proto__', 'constructor', 'x'.repeat(200)])] = random.pick(nasty);
  else if (keys.length) {
    const key = random.pick(keys);
    copy[key] = mutate(copy[key], random, depth + 1);
  }
  return copy;
}

describe('fuzzing the API', () => {
  it('answers thousands of random and mutated requests without a 5xx, and stays up', async () => {
    const random = generator(20261127);
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const base = random.pick(valid);
      const kind = random.int(10);
      const request: InjectOptions & { headers: Record<string, string> } = { method: base.method, url: base.url, headers: { ...base.headers } };
      if (kind < 6 && base.body !== undefined) request.payload = JSON.stringify(mutate(base.body, random));
      else if (kind === 6) request.payload = random.pick(['{', '[]', 'null', '"x"', '{"a":', '\u0000\u0001', '{}'.repeat(1000)]);
      else if (kind === 7) request.url = `${base.url}${random.pick(['/', '/x', '?a=1', '%00', '/../../', '//'])}`;
      else if (kind === 8) request.method = random.pick(['PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'GET', 'POST'] as const);
      else request.url = random.pick(['/v1/jobs/0', '/v1/jobs/-1', '/v1/jobs/99999999999999999999', '/v1/owners/0x12', '/v1/leases', '/nope']);
      if (request.payload !== undefined)
        request.headers['content-type'] =
          random.next() < 0.9 ? 'application/json' : random.pick(['text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream']);
      const response = await coordinator.app.inject(request);
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
      if (response.statusCode >= 500)
        failures.push(`${request.method} ${request.url} ${String(request.payload).slice(0, 200)} → ${response.statusCode} ${response.body.slice(0, 200)}`);
    }
    expect(failures).toEqual([]);
    expect([...statuses.keys()].some((status) => status >= 400)).toBe(true);
    expect((await coordinator.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  }, 120_000);
});
