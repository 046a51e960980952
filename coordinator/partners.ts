import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { errorCodes } from '../src/protocol/error-codes.ts';
import { ErrorResponseSchema, PartnerLeaderboardSchema, type PartnerStats, PartnerStatsSchema } from '../src/protocol/schemas.ts';
import { backgroundRows, type Db } from './db/database.ts';
import { HttpError } from './http-error.ts';
import { sharedWhileRunning } from './in-flight.ts';

const partnerIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** How many partners the leaderboard lists. */
const kLeaderboardSize = 50;

function checkPartnerId(partner: string): void {
  if (!partnerIdPattern.test(partner)) {
    throw new HttpError(400, errorCodes.partnerInvalid, 'A partner id is 1 to 64 letters, digits, "-" or "_".', 'partner');
  }
}

/**
 * Validated results, their contributors and the credit they earned, per partner: work is the
 * partner's when the session that did it was made by the partner's widget. All three come from
 * the credit ledger, which has one row for every validated result (a result a batch validated
 * in bulk has no row in `results`; a unit is credited once per owner, and replicas of a unit go
 * to different owners), amount 0 where the owner's cap for the epoch was reached.
 */
async function statsByPartner(db: Db, partner?: string): Promise<PartnerStats[]> {
  let query = db
    .selectFrom('credits')
    .innerJoin('leases', 'leases.id', 'credits.lease_id')
    .innerJoin('sessions', 'sessions.address', 'leases.session')
    .select((eb) => [
      'sessions.partner',
      eb.fn.countAll<number>().as('validated'),
      eb.fn.count<number>('credits.owner').distinct().as('contributors'),
      eb.fn.sum<number>('credits.amount').as('credit'),
    ])
    .where('sessions.partner', 'is not', null)
    .groupBy('sessions.partner');
  if (partner !== undefined) query = query.where('sessions.partner', '=', partner);
  return (await backgroundRows(db, query)).map((row) => ({
    partner: row.partner!,
    contributors: Number(row.contributors),
    validatedResults: Number(row.validated),
    credit: String(BigInt(row.credit ?? 0)),
  }));
}

/**
 * One partner's own figures; zeros for a partner whose widget has not yet done validated work.
 * Every visitor's widget on a partner's pages may ask at once: they share one read of the ledger.
 */
export async function partnerStats(db: Db, partner: string): Promise<PartnerStats> {
  checkPartnerId(partner);
  return sharedPartnerStats(db, partner);
}

const sharedPartnerStats: (db: Db, partner: string) => Promise<PartnerStats> = sharedWhileRunning(
  async (db: Db, partner: string) => {
    const [stats] = await statsByPartner(db, partner);
    return stats ?? { partner, contributors: 0, validatedResults: 0, credit: '0' };
  },
  (partner) => partner,
);

/** Partners by credit earned, most first (then by validated results, then by id). */
export const partnerLeaderboard: (db: Db) => Promise<PartnerStats[]> = sharedWhileRunning(partnersByCredit);

async function partnersByCredit(db: Db): Promise<PartnerStats[]> {
  const all = await statsByPartner(db);
  const byCredit = (a: PartnerStats, b: PartnerStats) => {
    const diff = BigInt(b.credit) - BigInt(a.credit);
    if (diff !== 0n) return diff > 0n ? 1 : -1;
    return b.validatedResults - a.validatedResults || a.partner.localeCompare(b.partner);
  };
  return all.sort(byCredit).slice(0, kLeaderboardSize);
}

/**
 * `GET /v1/partners/leaderboard` (partners by credit, for the dashboard) and
 * `GET /v1/partners/:partner/stats` (one partner's contributors, validated results and credit).
 */
export async function registerPartnerRoutes(app: FastifyInstance, db: Db): Promise<void> {
  const errors = { 400: ErrorResponseSchema };
  app.get('/v1/partners/leaderboard', { schema: { response: { 200: PartnerLeaderboardSchema } } }, async () => ({ partners: await partnerLeaderboard(db) }));
  app.get<{ Params: { partner: string } }>(
    '/v1/partners/:partner/stats',
    { schema: { params: Type.Object({ partner: Type.String() }), response: { 200: PartnerStatsSchema, ...errors } } },
    async (request) => partnerStats(db, request.params.partner),
  );
}
