import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import solc from 'solc';
import { type Address, createWalletClient, getAddress, type Hex, http, publicActions } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionGrantMessage } from '../src/wallet/session-grant.ts';
import { startTestCoordinator } from '../test/helpers/test-coordinator.ts';

/**
 * With SURGE_RPC_URL the coordinator checks session grants through the chain
 * (`verifySiweMessage`), so a contract wallet (ERC-1271) can own a session; without it, only
 * EOA signatures count. Runs a real anvil chain and a minimal ERC-1271 wallet compiled here.
 */
const kWalletSource = `// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;
/// A contract wallet for tests: it accepts what its one signer key signed (ERC-1271).
contract TestContractWallet {
    address public immutable signer;
    constructor(address signer_) { signer = signer_; }
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (signature.length != 65) return 0xffffffff;
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        return ecrecover(hash, v, r, s) == signer ? bytes4(0x1626ba7e) : bytes4(0xffffffff);
    }
}`;
/** anvil's first development account (public knowledge; a test chain only). */
const kAnvilKey = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

function compileWallet(): { abi: unknown[]; bytecode: Hex } {
  const input = {
    language: 'Solidity',
    sources: { 'TestContractWallet.sol': { content: kWalletSource } },
    settings: { evmVersion: 'cancun', outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors ?? []).filter((e: { severity: string }) => e.severity === 'error');
  if (errors.length) throw new Error(errors.map((e: { formattedMessage: string }) => e.formattedMessage).join('\n'));
  const contract = output.contracts['TestContractWallet.sol'].TestContractWallet;
  return { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` };
}

let anvil: ChildProcess;
let rpcUrl: string;
let contractWallet: Address;
const walletSigner = privateKeyToAccount(generatePrivateKey());

beforeAll(async () => {
  const port = await freePort();
  anvil = spawn(resolve('node_modules/.bin/anvil'), ['--port', String(port), '--silent'], { stdio: 'ignore' });
  rpcUrl = `http://127.0.0.1:${port}`;
  const client = createWalletClient({ account: privateKeyToAccount(kAnvilKey), chain: foundry, transport: http(rpcUrl) }).extend(publicActions);
  for (let tries = 0; (await client.getChainId().catch(() => 0)) !== 31337; tries++) {
    if (tries > 200) throw new Error(`anvil did not answer on ${rpcUrl}`);
    await new Promise((done) => setTimeout(done, 100));
  }
  const { abi, bytecode } = compileWallet();
  const hash = await client.deployContract({ abi, bytecode, args: [walletSigner.address] });
  contractWallet = getAddress((await client.waitForTransactionReceipt({ hash })).contractAddress!);
}, 60_000);

afterAll(() => {
  anvil?.kill();
});

async function grant(owner: Address, signer: { signMessage(args: { message: string }): Promise<Hex> }) {
  const session = privateKeyToAccount(generatePrivateKey());
  const message = sessionGrantMessage({ owner, session: session.address, domain: 'localhost:80', uri: 'http://localhost', chainId: 31337 });
  return { message, signature: await signer.signMessage({ message }) };
}

describe('session grants checked on chain', () => {
  it('accepts a contract wallet (ERC-1271) with an RPC URL, and an EOA; refuses a signature by another key', async () => {
    const coordinator = await startTestCoordinator({ rpcUrl });
    try {
      const viaContract = await coordinator.app.inject({ method: 'POST', url: '/v1/sessions', payload: await grant(contractWallet, walletSigner) });
      expect(viaContract.statusCode, viaContract.body).toBe(200);
      expect(viaContract.json().owner).toBe(contractWallet);
      const eoa = privateKeyToAccount(generatePrivateKey());
      expect((await coordinator.app.inject({ method: 'POST', url: '/v1/sessions', payload: await grant(eoa.address, eoa) })).statusCode).toBe(200);
      const forged = await coordinator.app.inject({
        method: 'POST',
        url: '/v1/sessions',
        payload: await grant(contractWallet, privateKeyToAccount(generatePrivateKey())),
      });
      expect(forged.statusCode).toBe(401);
      expect(forged.json().error.code).toBe('SURGE_E_SESSION_GRANT_INVALID');
    } finally {
      await coordinator.close();
    }
  });

  it('without an RPC URL only EOA signatures count: the contract wallet is refused', async () => {
    const coordinator = await startTestCoordinator();
    try {
      const viaContract = await coordinator.app.inject({ method: 'POST', url: '/v1/sessions', payload: await grant(contractWallet, walletSigner) });
      expect(viaContract.statusCode).toBe(401);
      expect(viaContract.json().error).toMatchObject({ code: 'SURGE_E_SESSION_GRANT_INVALID', field: 'signature' });
    } finally {
      await coordinator.close();
    }
  });
});
