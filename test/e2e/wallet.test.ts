import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.ts';
import { startTestCoordinator, type TestCoordinator } from '../helpers/test-coordinator.ts';

/**
 * The wallet panel as a visitor uses it, on the built page against a real coordinator: the
 * test page announces a wallet by EIP-6963 whose answers come from a real viem account in
 * this process (the wallet's side, which is not Surge's code).
 */
const distDir = resolve('dist');

let coordinator: TestCoordinator;
let baseUrl: string;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(resolve(distDir, 'index.html'))) throw new Error('The page is not built: run `npm run build` first (npm test does).');
  coordinator = await startTestCoordinator({ staticDir: distDir });
  baseUrl = await coordinator.url();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await coordinator?.close();
});

/** A page with a test wallet announced by EIP-6963; returns the wallet's account and how many signatures it gave. */
async function openPageWithWallet(): Promise<{ page: Page; wallet: ReturnType<typeof privateKeyToAccount>; signatures: () => number; requested: string[] }> {
  const wallet = privateKeyToAccount(generatePrivateKey());
  let signatures = 0;
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error.message));
  const requested: string[] = [];
  page.on('request', (request) => requested.push(new URL(request.url()).pathname));
  await page.exposeFunction('testWalletRequest', async (method: string, params: unknown[]) => {
    if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [wallet.address];
    if (method === 'eth_chainId') return '0x7a69';
    if (method === 'personal_sign') {
      signatures++;
      return wallet.signMessage({ message: { raw: params[0] as Hex } });
    }
    throw new Error(`the test wallet does not support ${method}`);
  });
  await page.addInitScript(() => {
    const request = (window as unknown as { testWalletRequest(method: string, params: unknown[]): Promise<unknown> }).testWalletRequest;
    const provider = { request: ({ method, params }: { method: string; params?: unknown[] }) => request(method, params ?? []), on() {}, removeListener() {} };
    const info = {
      uuid: '6c3b7a52-1c1e-4a8e-9a43-1b2c3d4e5f60',
      name: 'Test Wallet',
      icon: 'data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22/%3E',
      rdns: 'org.example.testwallet',
    };
    const announce = () => window.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail: Object.freeze({ info, provider }) }));
    window.addEventListener('eip6963:requestProvider', announce);
    announce();
  });
  await page.goto(baseUrl);
  return { page, wallet, signatures: () => signatures, requested };
}

// Computing and a reload on a shared machine: more than the default 30 s.
describe('the wallet panel', { timeout: 120_000 }, () => {
  it('loads on demand; a connected wallet signs once and earns; the session can be revoked', async () => {
    const { page, wallet, signatures, requested } = await openPageWithWallet();
    await page.getByRole('button', { name: 'Start contributing' }).waitFor();
    expect(requested.some((path) => /surge-wallet-.*\.js$/.test(path))).toBe(false);

    await page.getByRole('button', { name: 'Wallet and rewards' }).click();
    await page.getByRole('button', { name: 'Connect Test Wallet' }).click();
    expect(requested.some((path) => /surge-wallet-.*\.js$/.test(path))).toBe(true);
    await expect.poll(() => page.getByTestId('wallet-message').textContent(), { timeout: 10_000 }).toContain('signed this session');
    expect(signatures()).toBe(1);
    const sessions = await coordinator.db.selectFrom('sessions').selectAll().where('owner', '=', wallet.address.toLowerCase()).execute();
    expect(sessions).toHaveLength(1);

    // Results are signed by the session key, with no further prompt, and earn for the wallet.
    await page.getByRole('button', { name: 'Start contributing' }).click();
    await expect
      .poll(async () => (await coordinator.db.selectFrom('credits').select('unit_id').where('owner', '=', wallet.address.toLowerCase()).execute()).length, {
        timeout: 60_000,
        interval: 250,
      })
      .toBeGreaterThanOrEqual(1);
    expect(signatures()).toBe(1);
    await expect.poll(() => page.getByTestId('wallet-owner').textContent()).toContain(wallet.address);
    await page.getByRole('button', { name: 'Pause' }).click();

    // Results in flight when Pause came are delivered first, so what follows is signed after the reload.
    await expect.poll(() => page.getByTestId('waiting').textContent(), { timeout: 10_000 }).toBe('0');
    await page.waitForTimeout(1000);
    // After a reload the sealed session key still signs: more credit, no new session, no prompt.
    const creditedBefore = (await coordinator.db.selectFrom('credits').select('unit_id').execute()).length;
    await page.reload();
    await page.getByRole('button', { name: 'Start contributing' }).click();
    await expect
      .poll(async () => (await coordinator.db.selectFrom('credits').select('unit_id').where('owner', '=', wallet.address.toLowerCase()).execute()).length, {
        timeout: 60_000,
        interval: 250,
      })
      .toBeGreaterThan(creditedBefore);
    expect((await coordinator.db.selectFrom('sessions').select('address').execute()).length).toBe(1);
    expect(signatures()).toBe(1);
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('button', { name: 'Wallet and rewards' }).click();

    await page.getByRole('button', { name: 'Revoke this session' }).click();
    await expect.poll(() => page.getByTestId('wallet-message').textContent(), { timeout: 10_000 }).toContain('is revoked');
    const revoked = await coordinator.db.selectFrom('sessions').select('revoked_at').where('address', '=', sessions[0]!.address).executeTakeFirstOrThrow();
    expect(revoked.revoked_at).not.toBeNull();
    expect(signatures()).toBe(1);
    await page.context().close();
  });

  it("exports this browser's key behind a warning, and links it to the wallet so its earnings follow", async () => {
    const { page, wallet } = await openPageWithWallet();
    await page.getByRole('button', { name: 'Wallet and rewards' }).click();
    await expect.poll(() => page.getByTestId('browser-owner').textContent(), { timeout: 10_000 }).toMatch(/^0x[0-9a-fA-F]{40}$/);

    await page.getByRole('button', { name: "Export this browser's key…" }).click();
    expect(await page.getByRole('alert').textContent()).toContain('full control');
    await page.getByRole('button', { name: 'Show the private key' }).click();
    const exported = (await page.getByTestId('exported-key').textContent())!.trim() as Hex;
    const owner = (await page.getByTestId('browser-owner').textContent())!;
    expect(privateKeyToAccount(exported).address).toBe(owner);

    await page.getByRole('button', { name: 'Connect Test Wallet' }).click();
    await expect.poll(() => page.getByTestId('wallet-message').textContent(), { timeout: 10_000 }).toContain('signed this session');
    await page.getByRole('button', { name: "Link this browser's key to Test Wallet" }).click();
    await expect.poll(() => page.getByTestId('wallet-message').textContent(), { timeout: 10_000 }).toContain('is linked to');
    const links = await coordinator.db.selectFrom('owner_links').selectAll().execute();
    expect(links.map((link) => [link.owner, link.wallet])).toEqual([[owner.toLowerCase(), wallet.address.toLowerCase()]]);
    await page.context().close();
  });
});
