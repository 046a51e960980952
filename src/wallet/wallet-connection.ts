import { type Address, createWalletClient, custom, type WalletClient } from 'viem';
import type { CoordinatorClient } from '../contributor/coordinator-client.ts';
import type { OwnerLinkResponse } from '../protocol/schemas.ts';
import { ownerLinkMessage } from '../protocol/wallet-messages.ts';
import type { StoredSession, SurgeDb } from '../storage/surge-db.ts';
import { ownerAccount } from './owner-key.ts';
import { createSession } from './session-keys.ts';
import type { WalletChoice } from './wallet-discovery.ts';

/** A wallet the visitor connected: its client (for signatures and the claim) and account. */
export interface ConnectedWallet {
  choice: WalletChoice;
  client: WalletClient;
  address: Address;
}

/** Asks the wallet for its account (the wallet's own prompt). */
export async function connectWallet(choice: WalletChoice): Promise<ConnectedWallet> {
  const client = createWalletClient({ transport: custom(choice.provider) });
  const [address] = await client.requestAddresses();
  if (!address) throw new Error(`${choice.name} shared no account.`);
  return { choice, client, address };
}

/**
 * Makes the connected wallet the owner: a new session key whose Sign-In with Ethereum grant
 * the wallet signs (the one prompt of the session). Results from then on earn for the wallet.
 */
export function createWalletSession(options: { db: SurgeDb; client: CoordinatorClient; wallet: ConnectedWallet; chainId: number }): Promise<StoredSession> {
  const { wallet } = options;
  return createSession({
    db: options.db,
    client: options.client,
    chainId: options.chainId,
    owner: {
      address: wallet.address,
      wallet: wallet.choice.name,
      signMessage: (message) => wallet.client.signMessage({ account: wallet.address, message }),
    },
  });
}

/**
 * Links the browser's own owner key to the wallet so what it earned, and earns, is paid to
 * the wallet: both sign the same message (the wallet prompts once), the coordinator records it.
 */
export async function linkOwnerToWallet(options: {
  db: SurgeDb;
  client: CoordinatorClient;
  wallet: ConnectedWallet;
  chainId: number;
}): Promise<OwnerLinkResponse> {
  const { wallet } = options;
  const owner = await ownerAccount(options.db);
  const message = ownerLinkMessage({ owner: owner.address, wallet: wallet.address, host: new URL(options.client.baseUrl).host, chainId: options.chainId });
  const walletSignature = await wallet.client.signMessage({ account: wallet.address, message });
  return options.client.linkOwner(owner.address, { wallet: wallet.address, ownerSignature: await owner.signMessage({ message }), walletSignature });
}
