import { recoverTypedSignature, SignTypedDataVersion } from '@metamask/eth-sig-util';
import { type Address, type Hex, hexToBigInt, numberToHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { matmulInputA, matmulInputB } from '../src/kernels/matmul.ts';
import { matmulF32Reference } from '../src/kernels/matmul-f32.ts';
import { type ReceiptDomain, receiptMessage, workReceiptTypes } from '../src/protocol/receipt.ts';
import type { InfoResponse, Lease, ResultRequest } from '../src/protocol/schemas.ts';
import { ownerLinkMessage, revocationMessage } from '../src/protocol/wallet-messages.ts';
import { signWorkReceipt } from '../src/wallet/receipt-signer.ts';
import { registerContributor, type TestContributor } from '../test/helpers/contributor.ts';
import { startTestCoordinator, type TestCoordinator, testDatabases } from '../test/helpers/test-coordinator.ts';
import { linkedWallets, payeeOf } from './owner-links.ts';

const kCurveOrder = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
/** `inject`'s default Host header, which messages bound to the coordinator's host name. */
const kHost = 'localhost:80';

describe.each(testDatabases)('session and receipt security on $name', ({ name: database, skip }) => {
  if (skip) {
    it.skip('needs SURGE_TEST_POSTGRES_URL: a PostgreSQL server (.ci/run starts one)', () => {});
    return;
  }
  let coordinator: TestCoordinator;
  let domain: ReceiptDomain;

  beforeEach(async () => {
    coordinator = await startTestCoordinator({}, database);
    domain = ((await coordinator.app.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse).domain as ReceiptDomain;
  });
  afterEach(() => coordinator.close());

  const post = (url: string, payload: unknown, on = coordinator) => on.app.inject({ method: 'POST', url, payload: payload as object });

  async function lease(who: TestContributor, on = coordinator): Promise<Lease> {
    const response = await post('/v1/leases', { session: who.session.address, backends: ['wasm'] }, on);
    expect(response.statusCode, response.body).toBe(200);
    return response.json().lease as Lease;
  }

  function correctOutput(l: Lease): Uint8Array {
    if (l.kernel !== 'matmul-f32') throw new Error(`the demo job should be matmul-f32, not ${l.kernel}`);
    const { m, n, k } = l.params;
    return new Uint8Array(Float32Array.from(matmulF32Reference(matmulInputA(l.params, 'f32'), matmulInputB(l.params, 'f32'), m, n, k)).buffer);
  }

  async function resultBody(who: TestContributor, l: Lease, seq = 0, signingDomain = domain): Promise<ResultRequest> {
    const output = correctOutput(l);
    const signed = await signWorkReceipt({ session: who.session, owner: who.owner.address, domain: signingDomain, lease: l, output, seq });
    return { lease: l.id, output: Buffer.from(output).toString('base64'), receipt: signed.receipt, signature: signed.signature };
  }

  async function credit(owner: Address) {
    return (await coordinator.app.inject({ method: 'GET', url: `/v1/owners/${owner}` })).json() as {
      validatedResults: number;
      credit: string;
      linkedOwners?: Address[];
    };
  }

  function expectError(response: { statusCode: number; json(): unknown; body: string }, status: number, code: string, field?: string) {
    expect(response.statusCode, response.body).toBe(status);
    const { error } = response.json() as { error: { code: string; message: string; field?: string } };
    expect(error.code).toBe(code);
    expect(error.message.length).toBeGreaterThan(10);
    if (field) expect(error.field).toBe(field);
  }

  /** The high-s twin of a 65-byte signature: (r, n − s, v ^ 1) recovers the same signer. */
  function malleate(signature: Hex): Hex {
    const s = hexToBigInt(`0x${signature.slice(66, 130)}`);
    const v = Number.parseInt(signature.slice(130), 16);
    return `${signature.slice(0, 66)}${numberToHex(kCurveOrder - s, { size: 32 }).slice(2)}${(v === 27 ? 28 : 27).toString(16)}` as Hex;
  }

  describe('revocation', () => {
    it('a session revoked by its own key gets no more leases, and its pending receipt is refused', async () => {
      const alice = await registerContributor(coordinator.app);
      const l = await lease(alice);
      const body = await resultBody(alice, l);
      const message = revocationMessage({ session: alice.session.address, host: kHost, chainId: domain.chainId });
      const revoked = await post(`/v1/sessions/${alice.session.address}/revoke`, { signature: await alice.session.signMessage({ message }) });
      expect(revoked.statusCode, revoked.body).toBe(200);
      expect(revoked.json()).toMatchObject({ session: alice.session.address, owner: alice.owner.address });

      expectError(await post('/v1/leases', { session: alice.session.address, backends: ['wasm'] }), 401, 'SURGE_E_SESSION_REVOKED', 'session');
      expectError(await post('/v1/results', body), 401, 'SURGE_E_SESSION_REVOKED', 'receipt.session');
      expect(await credit(alice.owner.address)).toMatchObject({ validatedResults: 0, credit: '0' });
    });

    it('the owner may revoke; a stranger may not; an unknown session is 404; a revoked key cannot be granted again', async () => {
      const alice = await registerContributor(coordinator.app);
      const message = revocationMessage({ session: alice.session.address, host: kHost, chainId: domain.chainId });
      const stranger = privateKeyToAccount(generatePrivateKey());
      expectError(
        await post(`/v1/sessions/${alice.session.address}/revoke`, { signature: await stranger.signMessage({ message }) }),
        401,
        'SURGE_E_REVOCATION_INVALID',
        'signature',
      );
      // Signed for another coordinator's host: refused too.
      const elsewhere = revocationMessage({ session: alice.session.address, host: 'evil.example', chainId: domain.chainId });
      expectError(
        await post(`/v1/sessions/${alice.session.address}/revoke`, { signature: await alice.owner.signMessage({ message: elsewhere }) }),
        401,
        'SURGE_E_REVOCATION_INVALID',
      );
      expect((await post(`/v1/sessions/${alice.session.address}/revoke`, { signature: await alice.owner.signMessage({ message }) })).statusCode).toBe(200);
      const other = privateKeyToAccount(generatePrivateKey());
      const otherMessage = revocationMessage({ session: other.address, host: kHost, chainId: domain.chainId });
      expectError(
        await post(`/v1/sessions/${other.address}/revoke`, { signature: await other.signMessage({ message: otherMessage }) }),
        404,
        'SURGE_E_SESSION_UNKNOWN',
      );

      const grant = (
        await coordinator.db.selectFrom('sessions').select('grant_message').where('address', '=', alice.session.address.toLowerCase()).executeTakeFirstOrThrow()
      ).grant_message;
      expectError(await post('/v1/sessions', { message: grant, signature: await alice.owner.signMessage({ message: grant }) }), 401, 'SURGE_E_SESSION_REVOKED');
    });
  });

  describe('receipts', () => {
    it('an expired session: its receipt is refused even for a lease it holds', async () => {
      const alice = await registerContributor(coordinator.app);
      const l = await lease(alice);
      const body = await resultBody(alice, l);
      coordinator.clock.now += 25 * 60 * 60 * 1000;
      expectError(await post('/v1/results', body), 401, 'SURGE_E_SESSION_EXPIRED', 'receipt.session');
    });

    it('a malleated (high-s) twin is refused, before and after the original is accepted; credit is granted once', async () => {
      const alice = await registerContributor(coordinator.app);
      const l = await lease(alice);
      const body = await resultBody(alice, l);
      const twin = { ...body, signature: malleate(body.signature as Hex) };
      expectError(await post('/v1/results', twin), 401, 'SURGE_E_RECEIPT_MALLEABLE', 'signature');
      expect((await post('/v1/results', body)).statusCode).toBe(200);
      expectError(await post('/v1/results', twin), 401, 'SURGE_E_RECEIPT_MALLEABLE', 'signature');
      expect(await credit(alice.owner.address)).toMatchObject({ validatedResults: 1, credit: l.units });
    });

    it('a replayed receipt earns nothing more; a reused sequence number is refused', async () => {
      const alice = await registerContributor(coordinator.app);
      const first = await lease(alice);
      const body = await resultBody(alice, first, 7);
      expect((await post('/v1/results', body)).json()).toMatchObject({ duplicate: false });
      expect((await post('/v1/results', body)).json()).toMatchObject({ duplicate: true });
      const second = await lease(alice);
      expectError(await post('/v1/results', await resultBody(alice, second, 7)), 409, 'SURGE_E_RECEIPT_REPLAYED', 'receipt.seq');
      expect((await post('/v1/results', await resultBody(alice, second, 8))).statusCode).toBe(200);
      expect(await credit(alice.owner.address)).toMatchObject({ validatedResults: 2 });
    });

    it('two receipts with one sequence number sent at the same moment: one is taken, the other refused', async () => {
      const alice = await registerContributor(coordinator.app);
      const [first, second] = [await lease(alice), await lease(alice)];
      const answers = await Promise.all([post('/v1/results', await resultBody(alice, first!, 3)), post('/v1/results', await resultBody(alice, second!, 3))]);
      expect(answers.map((answer) => answer.statusCode).sort()).toEqual([200, 409]);
      expect(answers.find((answer) => answer.statusCode === 409)!.json().error.code).toBe('SURGE_E_RECEIPT_REPLAYED');
      expect(await credit(alice.owner.address)).toMatchObject({ validatedResults: 1 });
    });

    it('a forged signature over a receipt already accepted gets no verdict back', async () => {
      const alice = await registerContributor(coordinator.app);
      const l = await lease(alice);
      const body = await resultBody(alice, l);
      expect((await post('/v1/results', body)).statusCode).toBe(200);
      const forger = privateKeyToAccount(generatePrivateKey());
      const forged = await forger.signTypedData({
        domain,
        types: workReceiptTypes,
        primaryType: 'WorkReceipt',
        message: receiptMessage(body.receipt as never),
      });
      expectError(await post('/v1/results', { ...body, signature: forged }), 401, 'SURGE_E_RECEIPT_SIGNATURE', 'signature');
    });

    it("a receipt for another coordinator's domain (verifying contract) is refused; under this one's it is accepted", async () => {
      const other = await startTestCoordinator({ verifyingContract: '0x00000000000000000000000000000000000000aa' }, database);
      try {
        const otherDomain = ((await other.app.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse).domain as ReceiptDomain;
        expect(otherDomain.verifyingContract).not.toBe(domain.verifyingContract);
        const alice = await registerContributor(coordinator.app);
        const l = await lease(alice);
        expectError(await post('/v1/results', await resultBody(alice, l, 0, otherDomain)), 401, 'SURGE_E_RECEIPT_SIGNATURE', 'signature');
        expectError(await post('/v1/results', await resultBody(alice, l, 0, { ...domain, chainId: 10 })), 401, 'SURGE_E_RECEIPT_SIGNATURE', 'signature');
        expect((await post('/v1/results', await resultBody(alice, l, 0))).statusCode).toBe(200);
      } finally {
        await other.close();
      }
    });

    it('verifies with a second EIP-712 implementation (@metamask/eth-sig-util)', async () => {
      const alice = await registerContributor(coordinator.app);
      const l = await lease(alice);
      const body = await resultBody(alice, l);
      expect((await post('/v1/results', body)).statusCode).toBe(200);
      const recovered = recoverTypedSignature({
        version: SignTypedDataVersion.V4,
        signature: body.signature,
        data: {
          types: {
            EIP712Domain: [
              { name: 'name', type: 'string' },
              { name: 'version', type: 'string' },
              { name: 'chainId', type: 'uint256' },
              { name: 'verifyingContract', type: 'address' },
            ],
            WorkReceipt: [...workReceiptTypes.WorkReceipt],
          },
          primaryType: 'WorkReceipt',
          domain: { name: domain.name, version: domain.version, chainId: domain.chainId, verifyingContract: domain.verifyingContract },
          message: body.receipt,
        },
      });
      expect(recovered).toBe(alice.session.address.toLowerCase());
    });
  });

  describe('owner links', () => {
    async function link(owner: TestContributor['owner'], wallet: TestContributor['owner'], signer = wallet) {
      const message = ownerLinkMessage({ owner: owner.address, wallet: wallet.address, host: kHost, chainId: domain.chainId });
      return post(`/v1/owners/${owner.address}/link`, {
        wallet: wallet.address,
        ownerSignature: await owner.signMessage({ message }),
        walletSignature: await signer.signMessage({ message }),
      });
    }

    it('a link signed by both keys makes the wallet the payee of what the owner key earns from then on', async () => {
      const browser = await registerContributor(coordinator.app);
      const l = await lease(browser);
      expect((await post('/v1/results', await resultBody(browser, l))).statusCode).toBe(200);
      const wallet = privateKeyToAccount(generatePrivateKey());
      expect(await credit(wallet.address)).toMatchObject({ validatedResults: 0, credit: '0' });

      coordinator.clock.now += 1000;
      const linked = await link(browser.owner, wallet);
      expect(linked.statusCode, linked.body).toBe(200);
      expect(linked.json()).toMatchObject({ owner: browser.owner.address, wallet: wallet.address });
      // What the key earned before the link stays its own (it may already be in a posted root)…
      expect(await credit(wallet.address)).toMatchObject({ validatedResults: 0, credit: '0', linkedOwners: [browser.owner.address] });
      coordinator.clock.now += 1000;
      const after = await lease(browser);
      expect((await post('/v1/results', await resultBody(browser, after, 1))).statusCode).toBe(200);
      // …and what it earns after is the wallet's.
      expect(await credit(wallet.address)).toMatchObject({ validatedResults: 1, credit: after.units });
      expect(await payeeOf(coordinator.db, browser.owner.address)).toBe(wallet.address.toLowerCase());
      expect(await payeeOf(coordinator.db, wallet.address)).toBe(wallet.address.toLowerCase());
      expect(await linkedWallets(coordinator.db)).toEqual(new Map([[browser.owner.address.toLowerCase(), wallet.address.toLowerCase()]]));
      // The same link again is answered the same; a link to another wallet is refused.
      expect((await link(browser.owner, wallet)).statusCode).toBe(200);
      expectError(await link(browser.owner, privateKeyToAccount(generatePrivateKey())), 409, 'SURGE_E_OWNER_LINKED', 'wallet');
    });

    it('a link without the wallet’s own signature is refused', async () => {
      const browser = await registerContributor(coordinator.app);
      const wallet = privateKeyToAccount(generatePrivateKey());
      expectError(await link(browser.owner, wallet, privateKeyToAccount(generatePrivateKey())), 401, 'SURGE_E_OWNER_LINK_INVALID', 'walletSignature');
      expectError(await link(browser.owner, wallet, browser.owner), 401, 'SURGE_E_OWNER_LINK_INVALID', 'walletSignature');
      expect(await payeeOf(coordinator.db, browser.owner.address)).toBe(browser.owner.address.toLowerCase());
    });
  });
});
