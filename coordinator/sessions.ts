import { type Address, getAddress, type Hex, verifyMessage } from 'viem';
import { parseSiweMessage, validateSiweMessage } from 'viem/siwe';
import { errorCodes } from '../src/protocol/error-codes.ts';
import type { SessionRequest, SessionResponse } from '../src/protocol/schemas.ts';
import type { Db } from './db/database.ts';
import { HttpError } from './http-error.ts';

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
 * session key in its resources, and be signed by the owner. Posting the same grant again
 * returns the same session. An optional `partner` attributes the session's work to the partner
 * site whose widget asked; it is fixed when the session is first registered.
 */
export async function registerSession(db: Db, body: SessionRequest, context: { host: string; chainId: number; now: number }): Promise<SessionResponse> {
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
  const signed = await verifyMessage({ address: fields.address, message: body.message, signature: body.signature as Hex }).catch(() => false);
  if (!signed) throw new HttpError(401, errorCodes.sessionGrantInvalid, 'The session grant is not signed by the address it names.', 'signature');

  const existing = await db.selectFrom('sessions').selectAll().where('address', '=', session).executeTakeFirst();
  if (existing && existing.owner !== owner) {
    throw new HttpError(409, errorCodes.sessionGrantInvalid, 'This session key is already registered to another owner; make a new session key.', 'message');
  }
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
  const session = await db.selectFrom('sessions').selectAll().where('address', '=', address.toLowerCase()).executeTakeFirst();
  if (!session) throw new HttpError(401, errorCodes.sessionUnknown, `No session ${address} is registered here; create one with POST /v1/sessions.`, 'session');
  if (session.expires_at <= now) throw new HttpError(401, errorCodes.sessionExpired, `Session ${address} has expired; create a new one.`, 'session');
  return session;
}
