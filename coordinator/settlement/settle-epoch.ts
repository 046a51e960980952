import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { getAddress, type Hex } from 'viem';
import { cumulativeMerkleDistributorArtifact } from '../../contracts/artifacts.ts';
import type { Db } from '../db/database.ts';
import type { SettlementEpochsTable } from '../db/schema.ts';
import { cumulativeCreditByPayee } from './cumulative-credit-by-payee.ts';
import type { RewardsChain } from './rewards-chain.ts';

export interface SettledEpoch {
  epoch: number;
  root: Hex;
  owners: number;
  /** Sum of every owner's cumulative amount, token base units. */
  total: bigint;
  /** When the root becomes claimable (ms). */
  activeAt: number;
}

const abi = cumulativeMerkleDistributorArtifact.abi;

/**
 * Settles one epoch: sums each payee's validated credit, turns it into token amounts, builds a
 * StandardMerkleTree of `(address, cumulative)` leaves, stores the epoch with every owner's
 * amount and proof, then posts the root to the distributor. Returns undefined when nothing
 * changed since the last epoch.
 *
 * Crash-safe: the epoch is stored before its root is sent, and a stored epoch that is not
 * marked posted is finished on the next call (posted if the chain lacks it, or just marked if
 * the chain has it). The distributor refuses an epoch that is not newer than its last, so an
 * epoch can never be posted twice; with several coordinator processes, the database's primary
 * key lets only one store each epoch.
 */
export async function settleEpoch(db: Db, chain: RewardsChain, now: number): Promise<SettledEpoch | undefined> {
  const distributor = chain.distributor.toLowerCase();
  await noteRevocations(db, chain, now);
  const epochs = db.selectFrom('settlement_epochs').selectAll().where('distributor', '=', distributor).orderBy('epoch', 'desc').limit(1);
  const last = await epochs.executeTakeFirst();
  if (last && last.active_at === null) return postEpoch(db, chain, last);
  const good = last?.revoked ? await epochs.where('revoked', '=', 0).executeTakeFirst() : last;

  const previous = good ? await payoutsOf(db, distributor, good.epoch) : new Map<string, bigint>();
  // Cumulative amounts never decrease: an owner keeps at least what an earlier root promised.
  const amounts = new Map(previous);
  for (const [owner, credit] of await cumulativeCreditByPayee(db)) {
    const amount = credit * chain.tokensPerCredit;
    if (amount > (amounts.get(owner) ?? 0n)) amounts.set(owner, amount);
  }
  if (!differs(amounts, previous)) return undefined;
  // The guardian revoked the newest root for a reason: the same amounts are not posted again
  // until the ledger they come from changes (credit corrected, or new work validated).
  if (last?.revoked && !differs(amounts, await payoutsOf(db, distributor, last.epoch))) return undefined;

  const onChain = Number(await chain.publicClient.readContract({ address: chain.distributor, abi, functionName: 'lastEpoch' }));
  const epoch = Math.max(last?.epoch ?? 0, onChain) + 1;
  const owners = [...amounts.keys()].sort();
  const tree = StandardMerkleTree.of(
    owners.map((owner) => [getAddress(owner), amounts.get(owner)!.toString()]),
    ['address', 'uint256'],
  );
  const total = [...amounts.values()].reduce((a, b) => a + b, 0n);
  const row: SettlementEpochsTable = {
    distributor,
    epoch,
    root: tree.root,
    total: total.toString(),
    owners: owners.length,
    created_at: now,
    tx_hash: null,
    active_at: null,
    revoked: 0,
  };
  try {
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('settlement_epochs').values(row).execute();
      const payouts = [...tree.entries()].map(([index, [address, amount]]) => ({
        distributor,
        epoch,
        owner: String(address).toLowerCase(),
        cumulative: String(amount),
        proof: JSON.stringify(tree.getProof(index)),
      }));
      // In batches: SQLite allows at most 32,766 bound values in one statement.
      for (let i = 0; i < payouts.length; i += 1000)
        await trx
          .insertInto('settlement_payouts')
          .values(payouts.slice(i, i + 1000))
          .execute();
    });
  } catch (error) {
    // Another coordinator process stored this epoch first: it posts it.
    const stored = await db
      .selectFrom('settlement_epochs')
      .select('epoch')
      .where('distributor', '=', distributor)
      .where('epoch', '=', epoch)
      .executeTakeFirst();
    if (stored) return undefined;
    throw error;
  }
  return postEpoch(db, chain, row);
}

/** Posts a stored epoch's root unless the chain has it already, and marks it posted. */
async function postEpoch(db: Db, chain: RewardsChain, row: SettlementEpochsTable): Promise<SettledEpoch | undefined> {
  const posted = async () => {
    const onChain = await rootOnChain(chain, row.epoch);
    if (!onChain) return undefined;
    if (onChain.root !== row.root) return 'conflict' as const;
    return onChain;
  };
  let found = await posted();
  let txHash: Hex | undefined;
  if (!found) {
    const lastOnChain = Number(await chain.publicClient.readContract({ address: chain.distributor, abi, functionName: 'lastEpoch' }));
    if (lastOnChain >= row.epoch) found = 'conflict';
    else {
      try {
        txHash = await chain.rootPoster.writeContract({
          address: chain.distributor,
          abi,
          functionName: 'postRoot',
          args: [row.root as Hex, BigInt(row.epoch)],
        });
        const receipt = await chain.publicClient.waitForTransactionReceipt({ hash: txHash });
        if (receipt.status !== 'success') throw new Error(`postRoot for epoch ${row.epoch} reverted (${txHash})`);
      } catch (error) {
        // Another process may have posted the same epoch a moment earlier: harmless if so.
        if (!(await posted())) throw error;
      }
      found = await posted();
    }
  }
  if (found === 'conflict' || !found) {
    // The chain moved past this epoch with another root (or skipped it): it can never be
    // posted, so forget it; the next call settles a newer epoch from the ledger.
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('settlement_payouts').where('distributor', '=', row.distributor).where('epoch', '=', row.epoch).execute();
      await trx.deleteFrom('settlement_epochs').where('distributor', '=', row.distributor).where('epoch', '=', row.epoch).execute();
    });
    return undefined;
  }
  const activeAt = found.activeAt;
  await db
    .updateTable('settlement_epochs')
    // '0x' when another process sent the transaction and this one only saw its root on chain.
    .set({ tx_hash: txHash ?? '0x', active_at: activeAt })
    .where('distributor', '=', row.distributor)
    .where('epoch', '=', row.epoch)
    .execute();
  return { epoch: row.epoch, root: row.root as Hex, owners: row.owners, total: BigInt(row.total), activeAt };
}

async function rootOnChain(chain: RewardsChain, epoch: number): Promise<{ root: string; activeAt: number } | undefined> {
  try {
    const [root, activeAt] = await chain.publicClient.readContract({ address: chain.distributor, abi, functionName: 'rootOf', args: [BigInt(epoch)] });
    return { root, activeAt: Number(activeAt) * 1000 };
  } catch (error) {
    if (error instanceof Error && error.message.includes('UnknownEpoch')) return undefined;
    throw error;
  }
}

function differs(a: Map<string, bigint>, b: Map<string, bigint>): boolean {
  return a.size !== b.size || [...a].some(([owner, amount]) => b.get(owner) !== amount);
}

/** Marks the roots the guardian revoked; only a root still in its timelock can be revoked. */
async function noteRevocations(db: Db, chain: RewardsChain, now: number): Promise<void> {
  const distributor = chain.distributor.toLowerCase();
  const inTimelock = await db
    .selectFrom('settlement_epochs')
    .select('epoch')
    .where('distributor', '=', distributor)
    .where('revoked', '=', 0)
    // A margin of one epoch for a chain clock a little ahead of this one.
    .where('active_at', '>', now - chain.epochSeconds * 1000)
    .execute();
  for (const { epoch } of inTimelock) {
    const [, , revoked] = await chain.publicClient.readContract({ address: chain.distributor, abi, functionName: 'rootOf', args: [BigInt(epoch)] });
    if (revoked) await db.updateTable('settlement_epochs').set({ revoked: 1 }).where('distributor', '=', distributor).where('epoch', '=', epoch).execute();
  }
}

async function payoutsOf(db: Db, distributor: string, epoch: number): Promise<Map<string, bigint>> {
  const rows = await db
    .selectFrom('settlement_payouts')
    .select(['owner', 'cumulative'])
    .where('distributor', '=', distributor)
    .where('epoch', '=', epoch)
    .execute();
  return new Map(rows.map((row) => [row.owner, BigInt(row.cumulative)]));
}
