import { type Account, type Address, type Chain, getAddress, type PublicClient, type Transport, type WalletClient } from 'viem';
import { cumulativeMerkleDistributorArtifact, surgeRewardTokenArtifact } from '../../contracts/artifacts.ts';

export interface DeployOptions {
  publicClient: PublicClient;
  /** Deploys, owns the token and administers the distributor (admin and guardian). */
  deployer: WalletClient<Transport, Chain, Account>;
  /** Gets the distributor's updater role: the coordinator's root poster. */
  updater: Address;
  activationDelaySeconds: number;
  /** Token base units minted into the distributor. */
  fund: bigint;
}

/** Deploys the development reward token and a distributor paying it, and funds the distributor. */
export async function deployRewardContracts(options: DeployOptions): Promise<{ token: Address; distributor: Address }> {
  const { publicClient, deployer } = options;
  const deployed = async (hash: `0x${string}`) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success' || !receipt.contractAddress) throw new Error(`deployment ${hash} failed`);
    return getAddress(receipt.contractAddress);
  };
  const token = await deployed(
    await deployer.deployContract({ abi: surgeRewardTokenArtifact.abi, bytecode: surgeRewardTokenArtifact.bytecode, args: [deployer.account.address] }),
  );
  const distributor = await deployed(
    await deployer.deployContract({
      abi: cumulativeMerkleDistributorArtifact.abi,
      bytecode: cumulativeMerkleDistributorArtifact.bytecode,
      args: [token, BigInt(options.activationDelaySeconds), deployer.account.address, options.updater],
    }),
  );
  const minted = await deployer.writeContract({ address: token, abi: surgeRewardTokenArtifact.abi, functionName: 'mint', args: [distributor, options.fund] });
  await publicClient.waitForTransactionReceipt({ hash: minted });
  return { token, distributor };
}
