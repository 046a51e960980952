import { type Address, createPublicClient, type Hex, hashMessage, http, type PublicClient } from 'viem';
import { verifySiweMessage } from 'viem/siwe';
import { recoverSigner } from './secp256k1.ts';

/**
 * Checks owner signatures (session grants, revocations, links). With an RPC URL it asks the
 * chain through a public client, so contract wallets (ERC-1271) and counterfactual ones
 * (ERC-6492) sign too; without one it checks EOA signatures (ecrecover) locally.
 */
export class SignatureVerifier {
  private readonly client: PublicClient | undefined;

  constructor(rpcUrl?: string) {
    this.client = rpcUrl ? createPublicClient({ transport: http(rpcUrl) }) : undefined;
  }

  /** Whether a chain is asked (contract wallets supported). */
  get onChain(): boolean {
    return this.client !== undefined;
  }

  /** An EIP-191 signature of `message` by `address`; false (never a throw) when it is not one. */
  async message(address: Address, message: string, signature: Hex): Promise<boolean> {
    if (this.client) return this.client.verifyMessage({ address, message, signature }).catch(() => false);
    // An EOA's signature, recovered natively (secp256k1.ts): every session begins with one.
    return (await recoverSigner(hashMessage(message), signature)) === address.toLowerCase();
  }

  /**
   * A Sign-In with Ethereum message signed by the address it names. The caller has already
   * checked its fields (domain, chain, expiry, resources).
   */
  async siwe(address: Address, message: string, signature: Hex, context: { domain: string; time: Date }): Promise<boolean> {
    if (!this.client) return this.message(address, message, signature);
    return verifySiweMessage(this.client, { address, message, signature, domain: context.domain, time: context.time }).catch(() => false);
  }
}
