import { resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMandelbrotJob } from '../../coordinator/work-generator.ts';
import { mandelbrotReference } from '../../src/kernels/mandelbrot.ts';
import type { ReceiptDomain } from '../../src/protocol/receipt.ts';
import type { InfoResponse, Lease } from '../../src/protocol/schemas.ts';
import { signWorkReceipt } from '../../src/wallet/receipt-signer.ts';
import { launchChromium } from '../helpers/browser.ts';
import { registerContributor } from '../helpers/contributor.ts';
import { startTestCoordinator, type TestCoordinator } from '../helpers/test-coordinator.ts';

/**
 * Adaptive replication as a new contributor meets it: the page's results for an exact kernel
 * wait for a second opinion, stay in the outbox meanwhile, and are validated, credited and
 * countersigned once another contributor's replica agrees.
 */
let coordinator: TestCoordinator;
let baseUrl: string;
let browser: Browser;

beforeAll(async () => {
  // No canaries, so the page's first units are plain replicated ones (quorum 2 for a new owner).
  coordinator = await startTestCoordinator({
    staticDir: resolve('dist'),
    demo: undefined,
    trust: { replication: 'adaptive', canaryRate: 0, newHostCanaries: 0 },
  });
  await createMandelbrotJob(coordinator.db, {
    name: 'Two tiles',
    purpose: 'a quorum test',
    centerX: '-0.5',
    centerY: '0',
    pixelSize: '0.1',
    width: 16,
    height: 8,
    maxIterations: 64,
    tile: 8,
  });
  baseUrl = await coordinator.url();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await coordinator?.close();
});

describe('a result waiting for a quorum', () => {
  it('stays in the outbox as waiting for a second opinion, then is validated and countersigned when a replica agrees', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(baseUrl);
    await page.getByRole('button', { name: 'Start contributing' }).click();
    await expect.poll(() => page.getByTestId('awaiting-quorum').count(), { timeout: 90_000, interval: 250 }).toBe(1);
    expect(await page.getByTestId('validated').textContent()).toBe('0');
    const held = await page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((done) => {
        const open = indexedDB.open('surge');
        open.onsuccess = () => done(open.result);
      });
      const all = (store: string) =>
        new Promise<unknown[]>((done) => {
          const request = db.transaction(store).objectStore(store).getAll();
          request.onsuccess = () => done(request.result);
        });
      return { outbox: (await all('outbox')).length, receipts: (await all('receipts')).length };
    });
    expect(held.receipts).toBe(0);
    expect(held.outbox).toBeGreaterThanOrEqual(1);

    // Another contributor, at another network address, computes a replica of a unit the page sent.
    const other = await registerContributor(coordinator.app);
    const remoteAddress = '10.0.0.9';
    const { lease } = (
      await coordinator.app.inject({ method: 'POST', url: '/v1/leases', remoteAddress, payload: { session: other.session.address, backends: ['wasm'] } })
    ).json() as { lease: Lease };
    if (lease?.kernel !== 'mandelbrot') throw new Error('expected a replica of a Mandelbrot tile');
    const domain = ((await coordinator.app.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse).domain as ReceiptDomain;
    const output = new Uint8Array(mandelbrotReference(lease.params).buffer);
    const signed = await signWorkReceipt({ session: other.session, owner: other.owner.address, domain, lease, output, seq: 0 });
    const answer = await coordinator.app.inject({
      method: 'POST',
      url: '/v1/results',
      remoteAddress,
      payload: { lease: lease.id, output: Buffer.from(output).toString('base64'), receipt: signed.receipt, signature: signed.signature },
    });
    expect(answer.json()).toMatchObject({ status: 'validated' });

    // The page sends its receipt again (15 s ± half, the pending backoff) and gets the verdict.
    await expect.poll(() => page.getByTestId('validated').textContent(), { timeout: 90_000, interval: 500 }).not.toBe('0');
    const receipts = await page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((done) => {
        const open = indexedDB.open('surge');
        open.onsuccess = () => done(open.result);
      });
      return new Promise<{ credit: string; countersignature: string }[]>((done) => {
        const request = db.transaction('receipts').objectStore('receipts').getAll();
        request.onsuccess = () => done(request.result);
      });
    });
    expect(receipts.length).toBeGreaterThanOrEqual(1);
    expect(Number(receipts[0]!.credit)).toBeGreaterThan(0);
    expect(receipts[0]!.countersignature).toMatch(/^0x[0-9a-f]{130}$/);
  });
});
