import { type Address, getAddress, type Hex } from 'viem';
import { parseSiweMessage, validateSiweMessage } from 'viem/siwe';
import { errorCodes } from '../src/protocol/error-codes.ts';
import type { RevokeSessionRequest, RevokeSessionResponse, SessionRequest, SessionResponse } from '../src/protocol/schemas.ts';
import { revocationMessage } from '../src/protocol/wallet-messages.ts';
import type { Db } from './db/database.ts';
import { runPrepared } from './db/run-prepared.ts';
import { HttpError } from './http-error.ts';
import type { SignatureVerifier } from './signature-verifier.ts';

/** The longest a session grant may last. */
const kMaxSessionMs = 7 * 24 * 60 * 60 * 1000;
/** Clock skew tolerated on `issuedAt`. */
const kSkewMs = 5 * 60 * 1000;

const sessionResourcePattern = /^urn:surge:session:(0x[0-9a-f]{40})$/;

function refuse(message: string): never {
  throw new HttpError(401, errorCodes.sessionGrantInvalid, message, 'message');
}

/**
 * Registers a session key from its owner's Sign-In with Ethereum grant: the message must be
 * for this coordinator's host and chain, unexpired (at most 7 days), name exactly one
 * session key in its resources, and be signed by the owner (checked through the chain when
 * an RPC URL is configured, so contract wallets may sign). Posting the same grant again
 * returns the same session; a revoked session key cannot be granted again. An optional
 * `partner` attributes the session's work to the partner site whose widget asked; it is fixed
 * when the session is first registered.
 */
export async function registerSession(
  db: Db,
  body: SessionRequest,
  context: { host: string; chainId: number; now: number; verifier: SignatureVerifier },
): Promise<SessionResponse> {
  const fields = parseSiweMessage(body.message);
  if (!fields.address || !fields.domain || !fields.expirationTime || fields.chainId === undefined) {
    refuse('The session grant is not a complete Sign-In with Ethereum message: it needs an address, a domain, a chain ID and an expiration time.');
  }
  if (fields.domain !== context.host) refuse(`The session grant is for "${fields.domain}", not this coordinator ("${context.host}").`);
  if (fields.chainId !== context.chainId) refuse(`The session grant is for chain ${fields.chainId}; this coordinator uses chain ${context.chainId}.`);
  const now = new Date(context.now);
  if (!validateSiweMessage({ message: fields, time: now })) refuse('The session grant has expired or is not yet valid.');
  const expiresAt = fields.expirationTime.getTime();
  if (expiresAt - context.now > kMaxSessionMs) refuse('The session grant lasts longer than 7 days; ask for a shorter one.');
  if (fields.issuedAt && fields.issuedAt.getTime() > context.now + kSkewMs) refuse('The session grant was issued in the future; check the clock.');
  const sessions = (fields.resources ?? []).map((uri) => sessionResourcePattern.exec(uri)?.[1]).filter((s): s is string => s !== undefined);
  if (sessions.length !== 1) refuse('The session grant must name exactly one session key as a resource (urn:surge:session:0x…).');
  const session = sessions[0]!;
  const owner = fields.address.toLowerCase();
  const signed = await context.verifier.siwe(fields.address, body.message, body.signature as Hex, { domain: context.host, time: now });
  if (!signed) throw new HttpError(401, errorCodes.sessionGrantInvalid, 'The session grant is not signed by the address it names.', 'signature');

  const existing = await db.selectFrom('sessions').selectAll().where('address', '=', session).executeTakeFirst();
  if (existing && existing.owner !== owner) {
    throw new HttpError(409, errorCodes.sessionGrantInvalid, 'This session key is already registered to another owner; make a new session key.', 'message');
  }
  if (existing?.revoked_at != null) throw new HttpError(401, errorCodes.sessionRevoked, 'This session key was revoked; make a new session key.', 'message');
  if (!existing) {
    await db
      .insertInto('sessions')
      .values({ address: session, owner, expires_at: expiresAt, grant_message: body.message, created_at: context.now, partner: body.partner ?? null })
      .onConflict((oc) => oc.column('address').doNothing())
      .execute();
  }
  return { session: getAddress(session), owner: getAddress(owner), expiresAt: new Date(existing?.expires_at ?? expiresAt).toISOString() };
}

/** The session behind a request, or a 401 that says why not. */
export async function activeSession(db: Db, address: Address | string, now: number) {
  const [session] = (
    await runPrepared(db, 'session', { address: address.toLowerCase() }, (values) =>
      // Not the grant message: every lease and heartbeat reads this row, and needs none of it.
      db.selectFrom('sessions').select(['address', 'owner', 'revoked_at', 'expires_at']).where('address', '=', values.address),
    )
  ).rows;
  if (!session) throw new HttpError(401, errorCodes.sessionUnknown, `No session ${address} is registered here; create one with POST /v1/sessions.`, 'session');
  if (session.revoked_at != null) throw new HttpError(401, errorCodes.sessionRevoked, `Session ${address} was revoked; create a new one.`, 'session');
  if (session.expires_at <= now) throw new HttpError(401, errorCodes.sessionExpired, `Session ${address} has expired; create a new one.`, 'session');
  return session;
}

/**
 * Revokes a session, signed (EIP-191, `revocationMessage`) by the session key itself or by
 * its owner. From then on its leases and receipts are refused with SURGE_E_SESSION_REVOKED.
 * Revoking again changes nothing.
 */
export async function revokeSession(
  db: Db,
  address: string,
  body: RevokeSessionRequest,
  context: { host: string; chainId: number; now: number; verifier: SignatureVerifier },
): Promise<RevokeSessionResponse> {
  const session = await db.selectFrom('sessions').selectAll().where('address', '=', address.toLowerCase()).executeTakeFirst();
  if (!session) throw new HttpError(404, errorCodes.sessionUnknown, `No session ${address} is registered here.`, 'address');
  const message = revocationMessage({ session: getAddress(address), host: context.host, chainId: context.chainId });
  const signature = body.signature as Hex;
  const bySession = await context.verifier.message(getAddress(session.address), message, signature);
  const byOwner = bySession || (await context.verifier.message(getAddress(session.owner), message, signature));
  if (!byOwner) {
    throw new HttpError(
      401,
      errorCodes.revocationInvalid,
      `The revocation is not signed by session ${address} or its owner over this coordinator's revocation message (host ${context.host}, chain ${context.chainId}).`,
      'signature',
    );
  }
  const revokedAt = session.revoked_at ?? context.now;
  if (session.revoked_at == null) {
    await db.updateTable('sessions').set({ revoked_at: revokedAt }).where('address', '=', session.address).where('revoked_at', 'is', null).execute();
  }
  return { session: getAddress(session.address), owner: getAddress(session.owner), revokedAt: new Date(revokedAt).toISOString() };
}
