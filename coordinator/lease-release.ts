import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { errorCodes } from '../src/protocol/error-codes.ts';
import {
  Bytes32Schema,
  ErrorResponseSchema,
  type LeaseReleaseRequest,
  LeaseReleaseRequestSchema,
  type LeaseReleaseResponse,
  LeaseReleaseResponseSchema,
} from '../src/protocol/schemas.ts';
import type { Db } from './db/database.ts';
import { HttpError } from './http-error.ts';
import { refreshUnit } from './transitioner.ts';

/**
 * A lease given back before its deadline: its unit is ready for the next contributor at
 * once, instead of after the deadline, and a result sent later for the lease is refused as
 * expired. Only the session the lease was issued to may give it back; giving back a lease
 * that is no longer out changes nothing (`released: false`), so a retry is harmless.
 */
export async function releaseLease(db: Db, leaseId: string, session: string, now: number): Promise<LeaseReleaseResponse> {
  const id = leaseId.toLowerCase();
  return db.transaction().execute(async (trx) => {
    const lease = await trx.selectFrom('leases').select(['id', 'unit_id', 'session', 'state', 'deadline']).where('id', '=', id).executeTakeFirst();
    if (!lease) throw new HttpError(404, errorCodes.leaseUnknown, `No lease ${leaseId} was issued here.`, 'id');
    if (lease.session !== session.toLowerCase()) {
      throw new HttpError(
        403,
        errorCodes.leaseNotYours,
        'This lease was issued to another session; only the session that holds it can give it back.',
        'session',
      );
    }
    if (lease.state !== 'open' || lease.deadline <= now) return { lease: id, released: false };
    // Expired, like an overdue lease: a late result for it is refused. The transitioner then
    // works out the unit's state from its other replicas (ready again unless enough are out).
    await trx.updateTable('leases').set({ state: 'expired', deadline: now }).where('id', '=', id).execute();
    await refreshUnit(trx, lease.unit_id);
    return { lease: id, released: true };
  });
}

/** `POST /v1/leases/:id/release` with `{ session }`. */
export function registerLeaseReleaseRoute(app: FastifyInstance, deps: { db: Db; now: () => number }): void {
  app.post<{ Params: { id: string }; Body: LeaseReleaseRequest }>(
    '/v1/leases/:id/release',
    {
      schema: {
        params: Type.Object({ id: Bytes32Schema }),
        body: LeaseReleaseRequestSchema,
        response: { 200: LeaseReleaseResponseSchema, 400: ErrorResponseSchema, 403: ErrorResponseSchema, 404: ErrorResponseSchema },
      },
    },
    async (request) => releaseLease(deps.db, request.params.id, request.body.session, deps.now()),
  );
}
