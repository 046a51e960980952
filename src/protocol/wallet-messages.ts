import type { Address } from 'viem';

/**
 * The plain-text messages (EIP-191 `personal_sign`) that revoke a session and link an owner
 * key to a wallet. The coordinator rebuilds them from the request and checks the signatures
 * over exactly these bytes, so both sides must use these functions.
 */

/** Signed by the session key itself or by its owner: the session signs nothing more. */
export function revocationMessage(options: { session: Address; host: string; chainId: number }): string {
  return [
    `${options.host} wants you to revoke a Surge session.`,
    '',
    `Session: ${options.session.toLowerCase()}`,
    `Chain ID: ${options.chainId}`,
    'After this, the coordinator refuses every lease and receipt of this session key.',
  ].join('\n');
}

/**
 * Signed by both the browser's own owner key and the wallet: what the owner key earns from
 * then on is paid to the wallet (what it earned before stays claimable with the key). A link
 * is made once and cannot be changed.
 */
export function ownerLinkMessage(options: { owner: Address; wallet: Address; host: string; chainId: number }): string {
  return [
    `${options.host} wants you to link a Surge owner key to a wallet.`,
    '',
    `Owner key: ${options.owner.toLowerCase()}`,
    `Wallet: ${options.wallet.toLowerCase()}`,
    `Chain ID: ${options.chainId}`,
    "The owner key's earnings are paid to the wallet from now on. A link cannot be undone.",
  ].join('\n');
}
