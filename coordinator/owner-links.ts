import { getAddress, type Hex } from 'viem';
import { errorCodes } from '../src/protocol/error-codes.ts';
import type { OwnerLinkRequest, OwnerLinkResponse } from '../src/protocol/schemas.ts';
import { ownerLinkMessage } from '../src/protocol/wallet-messages.ts';
import type { Db } from './db/database.ts';
import { HttpError } from './http-error.ts';
import type { SignatureVerifier } from './signature-verifier.ts';

/**
 * Links a browser's own owner key to a wallet: `ownerLinkMessage` signed by both. The link
 * is made once (a stolen owner key cannot redirect earnings later), one level deep (a
 * wallet that is itself linked to another cannot be linked to), and settlement pays the
 * wallet what the owner key earns from the link on (`cumulativeCreditByPayee`).
 */
export async function linkOwner(
  db: Db,
  ownerAddress: string,
  body: OwnerLinkRequest,
  context: { host: string; chainId: number; now: number; verifier: SignatureVerifier },
): Promise<OwnerLinkResponse> {
  const owner = getAddress(ownerAddress);
  const wallet = getAddress(body.wallet);
  if (owner === wallet) throw new HttpError(400, errorCodes.ownerLinkInvalid, 'An owner key cannot be linked to itself.', 'wallet');
  const existing = await db.selectFrom('owner_links').selectAll().where('owner', '=', owner.toLowerCase()).executeTakeFirst();
  if (existing) {
    if (existing.wallet === wallet.toLowerCase()) return { owner, wallet, linkedAt: new Date(existing.created_at).toISOString() };
    throw new HttpError(
      409,
      errorCodes.ownerLinked,
      `Owner ${owner} is already linked to wallet ${getAddress(existing.wallet)}; a link cannot be changed.`,
      'wallet',
    );
  }
  const walletLinked = await db.selectFrom('owner_links').select('owner').where('owner', '=', wallet.toLowerCase()).executeTakeFirst();
  if (walletLinked) throw new HttpError(400, errorCodes.ownerLinkInvalid, `Wallet ${wallet} is itself linked to another wallet; link to that one.`, 'wallet');
  const message = ownerLinkMessage({ owner, wallet, host: context.host, chainId: context.chainId });
  if (!(await context.verifier.message(owner, message, body.ownerSignature as Hex))) {
    throw new HttpError(
      401,
      errorCodes.ownerLinkInvalid,
      `ownerSignature is not the owner key's signature of the link message for ${context.host}.`,
      'ownerSignature',
    );
  }
  if (!(await context.verifier.message(wallet, message, body.walletSignature as Hex))) {
    throw new HttpError(
      401,
      errorCodes.ownerLinkInvalid,
      `walletSignature is not the wallet's signature of the link message for ${context.host}.`,
      'walletSignature',
    );
  }
  await db
    .insertInto('owner_links')
    .values({
      owner: owner.toLowerCase(),
      wallet: wallet.toLowerCase(),
      message,
      owner_signature: body.ownerSignature,
      wallet_signature: body.walletSignature,
      created_at: context.now,
    })
    .onConflict((oc) => oc.column('owner').doNothing())
    .execute();
  const stored = await db.selectFrom('owner_links').selectAll().where('owner', '=', owner.toLowerCase()).executeTakeFirstOrThrow();
  if (stored.wallet !== wallet.toLowerCase()) throw new HttpError(409, errorCodes.ownerLinked, `Owner ${owner} was just linked to another wallet.`, 'wallet');
  return { owner, wallet, linkedAt: new Date(stored.created_at).toISOString() };
}

/** Every link, owner → wallet (lowercase addresses): settlement folds each owner's earnings into its wallet. */
export async function linkedWallets(db: Db): Promise<Map<string, string>> {
  const rows = await db.selectFrom('owner_links').select(['owner', 'wallet']).execute();
  return new Map(rows.map((row) => [row.owner, row.wallet]));
}

/** Who is paid for an owner's work: its linked wallet, else the owner itself (lowercase). */
export async function payeeOf(db: Db, owner: string): Promise<string> {
  const link = await db.selectFrom('owner_links').select('wallet').where('owner', '=', owner.toLowerCase()).executeTakeFirst();
  return link?.wallet ?? owner.toLowerCase();
}

/** The owner keys linked to a wallet (lowercase), whose credit the wallet reads as its own. */
export async function ownersLinkedTo(db: Db, wallet: string): Promise<string[]> {
  const rows = await db.selectFrom('owner_links').select('owner').where('wallet', '=', wallet.toLowerCase()).orderBy('owner').execute();
  return rows.map((row) => row.owner);
}
