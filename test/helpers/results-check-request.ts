import type { Hex } from 'viem';
import { generatePrivateKey } from 'viem/accounts';
import { fastKeccak256 } from '../../coordinator/keccak.ts';
import { fastSigningAccount } from '../../coordinator/secp256k1.ts';
import type { ResultsCheck } from '../../coordinator/validators/results-check.ts';
import type { WorkSpec } from '../../src/protocol/schemas.ts';

/** A session key that signs as the coordinator's clients do. */
export const testSession = fastSigningAccount(generatePrivateKey());

/**
 * A request to check these outputs under one receipt, signed by `testSession` (a stand-in
 * digest: the check recovers whoever signed it), each output claiming its true hash and length.
 */
export async function checkRequestFor(outputs: readonly { spec: WorkSpec | undefined; output: Uint8Array }[]): Promise<ResultsCheck> {
  const digest = fastKeccak256(new TextEncoder().encode(`receipt ${Math.random()}`));
  return {
    digest,
    signature: (await testSession.sign({ hash: digest })) as Hex,
    session: testSession.address.toLowerCase(),
    outputs: outputs.map(({ spec, output }) => ({
      base64: Buffer.from(output.buffer, output.byteOffset, output.byteLength).toString('base64'),
      resultHash: fastKeccak256(output),
      expectedBytes: output.byteLength,
      spec,
    })),
  };
}
