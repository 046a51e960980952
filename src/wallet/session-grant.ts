import type { Address, Hex, LocalAccount } from 'viem';
import { createSiweMessage } from 'viem/siwe';
import { sessionResource } from '../protocol/receipt.ts';

/** How long a session key may sign receipts. */
export const kSessionLifetimeMs = 24 * 60 * 60 * 1000;

/**
 * A Sign-In with Ethereum (EIP-4361) message by which the owner authorises a fresh session
 * key: its resources name the key, and it expires. The owner signs it once; the session
 * key then signs every receipt with no prompt.
 */
export function sessionGrantMessage(options: { owner: Address; session: Address; domain: string; uri: string; chainId: number; now?: Date }): string {
  const now = options.now ?? new Date();
  return createSiweMessage({
    address: options.owner,
    chainId: options.chainId,
    domain: options.domain,
    uri: options.uri,
    version: '1',
    nonce: randomNonce(),
    issuedAt: now,
    expirationTime: new Date(now.getTime() + kSessionLifetimeMs),
    statement: 'Authorise this browser session key to sign Surge work receipts.',
    resources: [sessionResource(options.session)],
  });
}

function randomNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function signSessionGrant(owner: LocalAccount, message: string): Promise<Hex> {
  return owner.signMessage({ message });
}
