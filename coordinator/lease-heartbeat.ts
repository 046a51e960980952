import { errorCodes } from '../src/protocol/error-codes.ts';
import type { LeaseHeartbeatResponse } from '../src/protocol/schemas.ts';
import type { Db } from './db/database.ts';
import { HttpError } from './http-error.ts';
import { refreshUnit } from './transitioner.ts';

/**
 * A heartbeat from the session holding a lease: while its unit still runs, the deadline moves
 * to `leaseMs` from now, but never past `maxExtensions` lease times from when the lease was
 * issued, so a stuck client cannot hold a unit forever. Only a live lease is extended: one
 * past its deadline, closed, or whose unit is complete is refused with the same codes as a result.
 */
export async function extendLease(
  db: Db,
  request: { lease: string; session: string; now: number; leaseMs: number; maxExtensions: number },
): Promise<LeaseHeartbeatResponse> {
  const { now } = request;
  return db.transaction().execute(async (trx) => {
    const lease = await trx
      .selectFrom('leases')
      .innerJoin('units', 'units.id', 'leases.unit_id')
      .select([
        'leases.id',
        'leases.unit_id',
        'leases.session',
        'leases.state',
        'leases.deadline',
        'leases.created_at',
        'units.state as unitState',
        'units.canary',
      ])
      .where('leases.id', '=', request.lease.toLowerCase())
      .executeTakeFirst();
    if (!lease) throw new HttpError(404, errorCodes.leaseUnknown, `No lease ${request.lease} was issued here.`, 'lease');
    if (lease.session !== request.session.toLowerCase()) {
      throw new HttpError(403, errorCodes.leaseNotYours, 'This lease was issued to another session; only the session that holds it can extend it.', 'session');
    }
    if (lease.state === 'expired' || (lease.state === 'open' && lease.deadline < now)) {
      throw new HttpError(410, errorCodes.leaseExpired, 'This lease passed its deadline; its unit is offered again. Lease new work.', 'lease');
    }
    if (lease.state !== 'open' || (lease.canary !== 1 && (lease.unitState === 'done' || lease.unitState === 'failed'))) {
      throw new HttpError(409, errorCodes.leaseClosed, `This lease is already closed (${lease.state}); there is nothing to extend.`, 'lease');
    }
    const deadline = Math.max(lease.deadline, Math.min(now + request.leaseMs, lease.created_at + request.maxExtensions * request.leaseMs));
    if (deadline > lease.deadline) {
      await trx.updateTable('leases').set({ deadline }).where('id', '=', lease.id).execute();
      await refreshUnit(trx, lease.unit_id);
    }
    return { lease: lease.id as `0x${string}`, deadline: new Date(deadline).toISOString() };
  });
}
