import type { LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, describe, expect, it } from 'vitest';
import { primesReference } from '../src/kernels/primes.ts';
import type { ReceiptDomain } from '../src/protocol/receipt.ts';
import type { InfoResponse, Lease, ResultRequest } from '../src/protocol/schemas.ts';
import { signWorkReceipt } from '../src/wallet/receipt-signer.ts';
import { sessionGrantMessage } from '../src/wallet/session-grant.ts';
import { registerContributor, type TestContributor } from '../test/helpers/contributor.ts';
import { startTestCoordinator, type TestCoordinator, testDatabases } from '../test/helpers/test-coordinator.ts';
import { makeCanary } from './canaries.ts';
import type { CoordinatorConfig } from './config.ts';
import type { TrustConfig } from './trust-config.ts';
import { createPrimesJob } from './work-generator.ts';

/**
 * Units near 10¹² in blocks of 1024: each block's cost is mostly the base sieve, so the primes
 * validator samples one block of four. With the validators' randomness fixed at 0 it samples
 * block 0, so an output wrong only in block 3 passes the cheap check, as a sly cheater's would.
 */
const kLo = 1e12;
const kSpan = 4096;
const kBlock = 1024;

/** The right output with block 3's prime count off by one. */
function wrongInBlock3(lease: Lease): Uint8Array {
  const output = correct(lease).slice();
  const view = new DataView(output.buffer);
  view.setUint32(3 * 8, view.getUint32(3 * 8, true) + 1, true);
  return output;
}

function correct(lease: Lease): Uint8Array {
  if (lease.kernel !== 'primes') throw new Error(`expected a primes unit, not ${lease.kernel}`);
  return primesReference(lease.params);
}

let coordinator: TestCoordinator;
let domain: ReceiptDomain;
/** What the coordinator's random draws return (canary draws, re-checks, validator samples). */
let draw = 0;

describe.each(testDatabases)('trust on $name', ({ name: database, skip }) => {
  if (skip) {
    it.skip('needs SURGE_TEST_POSTGRES_URL: a PostgreSQL server (.ci/run starts one)', () => {});
    return;
  }
  afterEach(() => coordinator.close());

  async function start(trust: Partial<TrustConfig>, config: Partial<CoordinatorConfig> = {}, units = 8): Promise<void> {
    draw = 0;
    coordinator = await startTestCoordinator(
      { demo: undefined, trust: { replication: 'adaptive', canaryRate: 0, newHostCanaries: 0, trustStreak: 3, ...trust }, ...config },
      database,
      { random: () => draw },
    );
    await createPrimesJob(coordinator.db, { name: 'Primes', purpose: 'test', lo: kLo, hi: kLo + units * kSpan, span: kSpan, blockSize: kBlock });
    domain = ((await coordinator.app.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse).domain as ReceiptDomain;
  }

  /** A contributor at its own network address. */
  type Host = TestContributor & { address: string };
  let hosts = 0;
  async function host(address = `10.0.0.${++hosts}`): Promise<Host> {
    return { ...(await registerContributor(coordinator.app)), address };
  }

  async function lease(who: Host): Promise<Lease | null> {
    const response = await coordinator.app.inject({
      method: 'POST',
      url: '/v1/leases',
      remoteAddress: who.address,
      payload: { session: who.session.address, backends: ['wasm'] },
    });
    expect(response.statusCode).toBe(200);
    return response.json().lease as Lease | null;
  }

  async function send(who: Host, l: Lease, output: Uint8Array, seq = 0) {
    const signed = await signWorkReceipt({ session: who.session, owner: who.owner.address, domain, lease: l, output, seq });
    const body: ResultRequest = { lease: l.id, output: Buffer.from(output).toString('base64'), receipt: signed.receipt, signature: signed.signature };
    return coordinator.app.inject({ method: 'POST', url: '/v1/results', remoteAddress: who.address, payload: body });
  }

  async function credit(who: Host): Promise<number> {
    return Number((await coordinator.app.inject({ method: 'GET', url: `/v1/owners/${who.owner.address}` })).json().credit);
  }

  async function standing(who: Host) {
    return coordinator.db.selectFrom('hosts').selectAll().where('owner', '=', who.owner.address.toLowerCase()).executeTakeFirstOrThrow();
  }

  async function trustHost(who: Host, streak: number): Promise<void> {
    await coordinator.db
      .insertInto('hosts')
      .values({ owner: who.owner.address.toLowerCase(), streak, quota: 1000, day: 0, leased_today: 0, probation: 0, invalid_results: 0, created_at: 0 })
      .execute();
  }

  it('never gives two replicas of a unit to one owner or one network address', async () => {
    await start({});
    const alice = await host('10.0.0.1');
    const bob = await host('10.0.0.1');
    const carol = await host('10.0.0.2');
    const first = (await lease(alice))!;
    const again = (await lease(alice))!;
    expect(again.unitId).not.toBe(first.unitId);
    const sameAddress = (await lease(bob))!;
    expect([first.unitId, again.unitId]).not.toContain(sameAddress.unitId);
    // Carol, elsewhere, gets the second replica of Alice's first unit.
    expect((await lease(carol))!.unitId).toBe(first.unitId);
    const replicas = await coordinator.db.selectFrom('leases').select(['owner', 'address']).where('unit_id', '=', first.unitId).execute();
    expect(new Set(replicas.map((r) => r.owner)).size).toBe(replicas.length);
    expect(new Set(replicas.map((r) => r.address)).size).toBe(replicas.length);
  });

  it('replicates a new owner and holds it to a small daily quota', async () => {
    await start({ initialQuota: 3 });
    const alice = await host();
    const leases = [(await lease(alice))!, (await lease(alice))!, (await lease(alice))!];
    const quorums = await coordinator.db
      .selectFrom('units')
      .select('quorum')
      .where(
        'id',
        'in',
        leases.map((l) => l.unitId),
      )
      .execute();
    expect(quorums.map((u) => u.quorum)).toEqual([2, 2, 2]);
    const refused = await coordinator.app.inject({
      method: 'POST',
      url: '/v1/leases',
      remoteAddress: alice.address,
      payload: { session: alice.session.address, backends: ['wasm'] },
    });
    expect(refused.json()).toMatchObject({ lease: null });
    expect(refused.json().retryAfterMs).toBeGreaterThan(0);
    coordinator.clock.now += refused.json().retryAfterMs;
    expect(await lease(alice)).not.toBeNull();
  });

  it('gives a trusted owner single replicas, still re-checked at random with probability 1/streak', async () => {
    await start({ trustStreak: 10 });
    const alice = await host();
    await trustHost(alice, 20);
    draw = 0.5; // above 1/20: no re-check
    const single = (await lease(alice))!;
    const answer = await send(alice, single, correct(single));
    expect(answer.json()).toMatchObject({ status: 'validated', duplicate: false });
    expect(Number(answer.json().credit)).toBeGreaterThan(0);
    draw = 0.01; // below 1/20: this one is re-checked by a second replica
    const checked = (await lease(alice))!;
    expect((await send(alice, checked, correct(checked), 1)).json()).toMatchObject({ status: 'pending', credit: '0' });
    expect((await standing(alice)).streak).toBe(21);
  });

  it('accepts replicas that agree by hash and rejects the odd one out, which passed the sampled check', async () => {
    await start({});
    const [alice, bob, carol] = [await host(), await host(), await host()];
    const a = (await lease(alice))!;
    const b = (await lease(bob))!;
    expect(b.unitId).toBe(a.unitId);
    expect((await send(alice, a, correct(a))).json()).toMatchObject({ status: 'pending', credit: '0', countersignature: '0x' });
    expect((await send(bob, b, wrongInBlock3(b))).json()).toMatchObject({ status: 'pending' });
    // Two replicas disagree: the unit asks for a third, and Carol's agrees with Alice's.
    const c = (await lease(carol))!;
    expect(c.unitId).toBe(a.unitId);
    const carolsAnswer = (await send(carol, c, correct(c))).json();
    expect(carolsAnswer).toMatchObject({ status: 'validated', duplicate: false });
    expect(carolsAnswer.countersignature).toMatch(/^0x[0-9a-f]{130}$/);
    // Alice sends her receipt again and now gets the verdict, with her countersignature.
    const again = (await send(alice, a, correct(a))).json();
    expect(again).toMatchObject({ status: 'validated', duplicate: true });
    expect(Number(again.credit)).toBe(Number(a.units));
    expect(await credit(alice)).toBe(Number(a.units));
    expect(await credit(carol)).toBe(Number(a.units));
    expect(await credit(bob)).toBe(0);
    const bobs = await send(bob, b, wrongInBlock3(b));
    expect(bobs.statusCode).toBe(422);
    expect(bobs.json().error.code).toBe('SURGE_E_RESULT_INVALID');
    expect(await standing(bob)).toMatchObject({ streak: 0, invalid_results: 1 });
    const unit = await coordinator.db.selectFrom('units').select(['state', 'assimilated']).where('id', '=', a.unitId).executeTakeFirstOrThrow();
    expect(unit).toEqual({ state: 'done', assimilated: 1 });
  });

  it('resets the streak and halves the quota after an invalid result', async () => {
    await start({ trustStreak: 10, initialQuota: 40 });
    const alice = await host();
    await trustHost(alice, 12);
    draw = 0.5;
    const l = (await lease(alice))!;
    const garbage = new Uint8Array(correct(l).byteLength).fill(0xff);
    expect((await send(alice, l, garbage)).statusCode).toBe(422);
    expect(await standing(alice)).toMatchObject({ streak: 0, quota: 500, invalid_results: 1 });
    // Untrusted again: its next unit is replicated.
    const next = (await lease(alice))!;
    expect((await coordinator.db.selectFrom('units').select('quorum').where('id', '=', next.unitId).executeTakeFirstOrThrow()).quorum).toBe(2);
  });

  it('makes at most four canaries for a job, however many requests make one at once', async () => {
    await start({}, {}, 20);
    const made = await Promise.all(Array.from({ length: 10 }, () => makeCanary(coordinator.db, ['primes'])));
    const canaries = await coordinator.db.selectFrom('units').select('id').where('canary', '=', 1).execute();
    expect(canaries).toHaveLength(4);
    expect(made.filter(Boolean)).toHaveLength(4);
    // The job's room is used up: another request makes none.
    expect(await makeCanary(coordinator.db, ['primes'])).toBe(false);
  });

  it('catches a wrong canary, pays nothing for it, and withholds the owner’s pending credit', async () => {
    await start({ newHostCanaries: 1, canaryRate: 0.1, probationAfterCanaryFailure: 2 });
    draw = 0.5; // no canary by chance: only the new owner's first
    const alice = await host();
    const first = (await lease(alice))!;
    const canary = await coordinator.db.selectFrom('units').select(['canary', 'state']).where('id', '=', first.unitId).executeTakeFirstOrThrow();
    expect(canary).toEqual({ canary: 1, state: 'done' });
    // On the wire a canary is a unit of the job like any other.
    expect(first).toMatchObject({ jobName: 'Primes', kernel: 'primes' });
    expect((await send(alice, first, correct(first))).json()).toMatchObject({ status: 'validated' });
    const paidForCanary = await credit(alice);
    expect(paidForCanary).toBe(Number(first.units));

    const real = (await lease(alice))!;
    expect(real.unitId).not.toBe(first.unitId);
    expect((await send(alice, real, correct(real), 1)).json()).toMatchObject({ status: 'pending' });

    draw = 0.05; // below canaryRate: Alice's next lease is a canary, and she gets it wrong
    const second = (await lease(alice))!;
    expect((await coordinator.db.selectFrom('units').select('canary').where('id', '=', second.unitId).executeTakeFirstOrThrow()).canary).toBe(1);
    const wrong = await send(alice, second, wrongInBlock3(second), 2);
    expect(wrong.statusCode).toBe(422);
    expect(await credit(alice)).toBe(paidForCanary);
    expect(await standing(alice)).toMatchObject({ streak: 0, probation: 2 });
    // Her pending result was withheld: invalid, and the unit wants another replica.
    const withheld = (await send(alice, real, correct(real), 1)).json();
    expect(withheld.error.code).toBe('SURGE_E_RESULT_INVALID');
    draw = 0.5;
    const bob = await host();
    await trustHost(bob, 0);
    const bobs = (await lease(bob))!;
    expect(bobs.unitId).toBe(real.unitId);
    expect((await send(bob, bobs, correct(bobs))).json()).toMatchObject({ status: 'pending' });
    expect(await credit(alice)).toBe(paidForCanary);
  });

  it('caps the credit one owner earns in an epoch, and pays again in the next', async () => {
    await start({ replication: 'off', creditCapPerEpoch: 5, creditEpochMs: 3_600_000 });
    const alice = await host();
    const granted: number[] = [];
    for (let seq = 0; seq < 4; seq++) {
      const l = (await lease(alice))!;
      granted.push(Number((await send(alice, l, correct(l), seq)).json().credit));
    }
    const unit = Number((await coordinator.db.selectFrom('units').select('credit').executeTakeFirstOrThrow()).credit);
    expect(unit).toBeGreaterThan(1);
    expect(granted.reduce((sum, c) => sum + c, 0)).toBe(5);
    expect(granted.at(-1)).toBe(0);
    coordinator.clock.now += 3_600_000;
    const next = (await lease(alice))!;
    expect(Number((await send(alice, next, correct(next), 4)).json().credit)).toBe(Math.min(unit, 5));
    expect(await credit(alice)).toBe(5 + Math.min(unit, 5));
  });

  it('extends a live lease by heartbeat (bounded), and reissues a lease whose deadline passed', async () => {
    await start({ replication: 'off' });
    const alice = await host();
    const bob = await host();
    const l = (await lease(alice))!;
    const beat = (session: string) =>
      coordinator.app.inject({ method: 'POST', url: `/v1/leases/${l.id}/heartbeat`, remoteAddress: alice.address, payload: { session } });
    const leaseMs = coordinator.config.leaseMs;
    const issued = coordinator.clock.now;
    coordinator.clock.now += leaseMs / 2;
    const extended = await beat(alice.session.address);
    expect(extended.statusCode).toBe(200);
    expect(Date.parse(extended.json().deadline)).toBe(coordinator.clock.now + leaseMs);
    // Not Bob's lease to extend.
    expect((await beat(bob.session.address)).json().error.code).toBe('SURGE_E_LEASE_NOT_YOURS');
    // Heartbeats never hold a unit past four lease times from when it was issued.
    for (let i = 0; i < 7; i++) {
      coordinator.clock.now += leaseMs / 2;
      expect((await beat(alice.session.address)).statusCode).toBe(200);
    }
    const bounded = Date.parse((await beat(alice.session.address)).json().deadline);
    expect(bounded).toBe(issued + 4 * leaseMs);
    // Past the deadline: no more heartbeats, and the unit goes to Bob.
    coordinator.clock.now = bounded + 1;
    const late = await beat(alice.session.address);
    expect(late.statusCode).toBe(410);
    expect(late.json().error.code).toBe('SURGE_E_LEASE_EXPIRED');
    expect((await lease(bob))!.unitId).toBe(l.unitId);
    expect((await send(alice, l, correct(l))).json().error.code).toBe('SURGE_E_LEASE_EXPIRED');
  });

  it('answers CORS preflights and requests from the allowed origins only', async () => {
    await start({ replication: 'off' }, { corsOrigins: ['https://partner.example'] });
    const info = (origin: string) => coordinator.app.inject({ method: 'GET', url: '/v1/info', headers: { origin } });
    expect((await info('https://partner.example')).headers['access-control-allow-origin']).toBe('https://partner.example');
    expect((await info('https://evil.example')).headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await coordinator.app.inject({
      method: 'OPTIONS',
      url: '/v1/results',
      headers: { origin: 'https://partner.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-methods']).toContain('POST');
    expect(preflight.headers['access-control-allow-headers']).toContain('content-type');
  });

  it('limits requests per session and per owner with 429 and Retry-After', async () => {
    await start({ replication: 'off' }, { sessionRateLimitPerMinute: 3, ownerRateLimitPerMinute: 5 });
    const alice = await host();
    const ask = (session: LocalAccount) =>
      coordinator.app.inject({ method: 'POST', url: '/v1/leases', remoteAddress: alice.address, payload: { session: session.address, backends: ['wasm'] } });
    for (let i = 0; i < 3; i++) expect((await ask(alice.session)).statusCode).toBe(200);
    // The fourth is over the session's limit (and, refused, is not counted against the owner).
    const limited = await ask(alice.session);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error).toMatchObject({ code: 'SURGE_E_RATE_LIMITED', field: 'session' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // A second session of the same owner has its own session budget, but shares the owner's.
    const second = privateKeyToAccount(generatePrivateKey());
    const message = sessionGrantMessage({
      owner: alice.owner.address,
      session: second.address,
      domain: 'localhost:80',
      uri: 'http://localhost',
      chainId: 31337,
    });
    await coordinator.app.inject({ method: 'POST', url: '/v1/sessions', payload: { message, signature: await alice.owner.signMessage({ message }) } });
    for (let i = 0; i < 2; i++) expect((await ask(second)).statusCode).toBe(200);
    const owner = await ask(second);
    expect(owner.statusCode).toBe(429);
    expect(owner.json().error.field).toBe('owner');
    // Another owner is not held back.
    const bob = await host();
    expect((await ask(bob.session)).statusCode).toBe(200);
  });
});
