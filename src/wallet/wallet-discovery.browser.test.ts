import { type EIP1193Provider, type Hex, recoverMessageAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, describe, expect, it } from 'vitest';
import { connectWallet } from './wallet-connection.ts';
import { discoverWallets } from './wallet-discovery.ts';

/** The wallet's side, as an extension would answer: a real viem account behind a minimal EIP-1193 handler. */
function testWallet() {
  const account = privateKeyToAccount(generatePrivateKey());
  const provider = {
    async request({ method, params }: { method: string; params?: unknown[] }) {
      if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [account.address];
      if (method === 'eth_chainId') return '0x7a69';
      if (method === 'personal_sign') return account.signMessage({ message: { raw: (params as [Hex, Hex])[0] } });
      throw Object.assign(new Error(`unsupported: ${method}`), { code: 4200 });
    },
    on() {},
    removeListener() {},
  } as unknown as EIP1193Provider;
  return { account, provider };
}

const info = {
  uuid: 'a6b3c1a0-0000-4000-8000-000000000001',
  name: 'Test Wallet',
  icon: 'data:image/svg+xml,<svg xmlns="http://www.w3.org/2000/svg"/>',
  rdns: 'org.example.testwallet',
};
let cleanup: (() => void) | undefined;

afterEach(() => {
  cleanup?.();
  cleanup = undefined;
  delete (window as { ethereum?: unknown }).ethereum;
});

describe('wallet discovery', () => {
  it('finds a wallet announced by EIP-6963, connects it and signs through it', async () => {
    const { account, provider } = testWallet();
    const announce = () => window.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail: Object.freeze({ info, provider }) }));
    window.addEventListener('eip6963:requestProvider', announce);
    cleanup = () => window.removeEventListener('eip6963:requestProvider', announce);
    // window.ethereum is there too, but EIP-6963 answers win: they name the wallet.
    (window as { ethereum?: unknown }).ethereum = testWallet().provider;

    const wallets = await discoverWallets();
    expect(wallets.map((w) => ({ name: w.name, rdns: w.rdns, uuid: w.uuid }))).toEqual([{ name: 'Test Wallet', rdns: info.rdns, uuid: info.uuid }]);
    const wallet = await connectWallet(wallets[0]!);
    expect(wallet.address).toBe(account.address);
    const signature = await wallet.client.signMessage({ account: wallet.address, message: 'one signature per session' });
    expect(await recoverMessageAddress({ message: 'one signature per session', signature })).toBe(account.address);
  });

  it('falls back to window.ethereum when no wallet announces itself, and finds none when there is neither', async () => {
    expect(await discoverWallets()).toEqual([]);
    const { account, provider } = testWallet();
    (window as { ethereum?: unknown }).ethereum = provider;
    const wallets = await discoverWallets();
    expect(wallets).toHaveLength(1);
    expect(wallets[0]).toMatchObject({ uuid: 'injected', name: 'Browser wallet' });
    expect((await connectWallet(wallets[0]!)).address).toBe(account.address);
  });
});
