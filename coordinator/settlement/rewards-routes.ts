import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { getAddress, type Hex } from 'viem';
import { errorCodes } from '../../src/protocol/error-codes.ts';
import { AddressSchema, ErrorResponseSchema, type OwnerRewardsResponse, OwnerRewardsResponseSchema, type RewardsInfo } from '../../src/protocol/schemas.ts';
import type { Db } from '../db/database.ts';
import { HttpError } from '../http-error.ts';

export interface RewardsRoutesDeps {
  db: Db;
  /** Undefined when the coordinator pays no rewards. */
  rewards: RewardsInfo | undefined;
  now: () => number;
}

/**
 * `GET /v1/owners/:owner/rewards`: the owner's cumulative amount and Merkle proof in the
 * newest posted epoch that is claimable now, or, before any is, the newest posted one (its
 * `activeAt` says when it becomes claimable).
 */
export async function registerRewardsRoutes(app: FastifyInstance, deps: RewardsRoutesDeps): Promise<void> {
  const { db, rewards } = deps;
  app.get<{ Params: { owner: string } }>(
    '/v1/owners/:owner/rewards',
    {
      schema: {
        params: Type.Object({ owner: AddressSchema }),
        response: { 200: OwnerRewardsResponseSchema, 400: ErrorResponseSchema, 404: ErrorResponseSchema },
      },
    },
    async (request): Promise<OwnerRewardsResponse> => {
      const owner = getAddress(request.params.owner);
      if (!rewards) throw new HttpError(404, errorCodes.noRewards, 'This coordinator pays no rewards (it runs without a chain).');
      const posted = db
        .selectFrom('settlement_payouts as p')
        .innerJoin('settlement_epochs as e', (join) => join.onRef('e.distributor', '=', 'p.distributor').onRef('e.epoch', '=', 'p.epoch'))
        .select(['p.epoch', 'e.root', 'p.cumulative', 'p.proof', 'e.active_at'])
        .where('p.distributor', '=', rewards.distributor.toLowerCase())
        .where('p.owner', '=', owner.toLowerCase())
        .where('e.active_at', 'is not', null)
        .where('e.revoked', '=', 0)
        .orderBy('p.epoch', 'desc')
        .limit(1);
      const row = (await posted.where('e.active_at', '<=', deps.now()).executeTakeFirst()) ?? (await posted.executeTakeFirst());
      if (!row) {
        throw new HttpError(
          404,
          errorCodes.noRewards,
          `${owner} is in no settled epoch yet: rewards are settled every ${rewards.epochSeconds} s from validated credit.`,
        );
      }
      return {
        ...rewards,
        epoch: Number(row.epoch),
        root: row.root as Hex,
        cumulative: row.cumulative,
        proof: JSON.parse(row.proof) as Hex[],
        activeAt: new Date(Number(row.active_at)).toISOString(),
      };
    },
  );
}
