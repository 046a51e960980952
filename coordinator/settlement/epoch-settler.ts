import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/database.ts';
import type { RewardsChain } from './rewards-chain.ts';
import { settleEpoch } from './settle-epoch.ts';

export interface EpochSettler {
  /** Stops the timer and waits for a settlement in progress. */
  stop(): Promise<void>;
}

/** Settles an epoch every `chain.epochSeconds`, one at a time; a failure is logged and retried next epoch. */
export function startEpochSettler(db: Db, chain: RewardsChain, log: FastifyBaseLogger): EpochSettler {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    running = settleEpoch(db, chain, Date.now())
      .then((settled) => {
        if (settled)
          log.info({ epoch: settled.epoch, root: settled.root, owners: settled.owners, activeAt: new Date(settled.activeAt).toISOString() }, 'epoch settled');
      })
      .catch((error: unknown) => log.error({ err: error }, 'epoch settlement failed; retrying next epoch'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, chain.epochSeconds * 1000);
      });
  };
  timer = setTimeout(tick, chain.epochSeconds * 1000);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
