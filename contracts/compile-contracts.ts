import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import solc from 'solc';

/** The compiler and target the artifacts are built with; a different solc-js refuses to build. */
export const kSolcVersion = '0.8.30+commit.73712a01';
export const kEvmVersion = 'cancun';

/** The contracts Surge deploys, by source file (in this folder) and contract name. */
export const kContracts = ['SurgeRewardToken', 'CumulativeMerkleDistributor'] as const;
export type ContractName = (typeof kContracts)[number];

export interface ContractArtifact {
  abi: unknown[];
  bytecode: `0x${string}`;
}

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** Resolves `@openzeppelin/contracts/…` (and any other package import) from node_modules. */
function findImport(path: string): { contents: string } | { error: string } {
  try {
    return { contents: readFileSync(require.resolve(path), 'utf8') };
  } catch {
    return { error: `${path} not found in node_modules` };
  }
}

/**
 * Compiles the contracts with solc-js (the `solc` package) and returns each one's ABI and
 * creation bytecode. Throws with solc's messages on any error.
 */
export function compileContracts(): Record<ContractName, ContractArtifact> {
  const version = solc.version();
  if (!version.startsWith(kSolcVersion)) throw new Error(`The contracts are built with solc ${kSolcVersion}, but the installed solc-js is ${version}`);
  const sources = Object.fromEntries(kContracts.map((name) => [`${name}.sol`, { content: readFileSync(join(here, `${name}.sol`), 'utf8') }]));
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      evmVersion: kEvmVersion,
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport })) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
  const artifacts = {} as Record<ContractName, ContractArtifact>;
  for (const name of kContracts) {
    const compiled = output.contracts[`${name}.sol`]?.[name];
    if (!compiled) throw new Error(`solc produced no ${name}`);
    artifacts[name] = { abi: compiled.abi, bytecode: `0x${compiled.evm.bytecode.object}` };
  }
  return artifacts;
}
