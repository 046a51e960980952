import { expect, it } from 'vitest';
import { cumulativeMerkleDistributorArtifact, surgeRewardTokenArtifact } from './artifacts.ts';
import { compileContracts } from './compile-contracts.ts';

it('contracts/artifacts.ts is what the sources compile to (run `npm run build:contracts` after editing a contract)', () => {
  const fresh = compileContracts();
  expect(surgeRewardTokenArtifact).toEqual(fresh.SurgeRewardToken);
  expect(cumulativeMerkleDistributorArtifact).toEqual(fresh.CumulativeMerkleDistributor);
});
