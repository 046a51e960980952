import type { Hex } from 'viem';
import { generatePrivateKey } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { primesReference } from '../../src/kernels/primes.ts';
import { batchResultsRoot } from '../../src/protocol/receipt.ts';
import type { PrimesParams } from '../../src/protocol/schemas.ts';
import { checkRequestFor, testSession } from '../../test/helpers/results-check-request.ts';
import { fastKeccak256 } from '../keccak.ts';
import { fastSigningAccount } from '../secp256k1.ts';
import { checkResults, type ResultsCheck } from './results-check.ts';

const unit = (lo: number): PrimesParams => ({ lo, hi: lo + 1024, blockSize: 1024 });
const task = (lo: number) => ({ spec: { kernel: 'primes' as const, params: unit(lo) }, output: primesReference(unit(lo)) });
/** An output with its first count off by one: wrong, whatever block the validator draws (the unit is one block). */
const wrongTask = (lo: number) => {
  const output = primesReference(unit(lo));
  output[0]! ^= 1;
  return { spec: { kernel: 'primes' as const, params: unit(lo) }, output };
};
const validated = (checked: Awaited<ReturnType<typeof checkResults>>) =>
  checked.outputs.map(({ validation }) => (validation === undefined ? 'not validated' : 'verdict' in validation ? validation.verdict.valid : 'error'));

/** The request as a batch: its entries and the root over them. */
function asBatch(request: ResultsCheck, root?: Hex): ResultsCheck {
  const entries = request.outputs.map((output, i) => ({ lease: fastKeccak256(new Uint8Array([i])), resultHash: output.resultHash as Hex, units: '1024' }));
  return { ...request, batch: { entries, resultsRoot: root ?? batchResultsRoot(entries, fastKeccak256) } };
}

describe("checking a receipt's results", () => {
  it("recovers the signer and gives each output its bytes, its hash and its kernel's verdict", async () => {
    const tasks = [task(1e9), wrongTask(1e9 + 1024), task(5 * 1024)];
    const checked = await checkResults(asBatch(await checkRequestFor(tasks)));
    expect(checked.rootMatches).toBe(true);
    expect(checked.signer).toBe(testSession.address.toLowerCase());
    expect(checked.outputs.map(({ bytes }) => Buffer.from(bytes))).toEqual(tasks.map(({ output }) => Buffer.from(output)));
    expect(checked.outputs.map(({ hash }) => hash)).toEqual(tasks.map(({ output }) => fastKeccak256(output)));
    expect(validated(checked)).toEqual([true, false, true]);
  });

  it('validates nothing of a batch whose entries do not hash to its root, nor recovers its signer', async () => {
    const request = asBatch(await checkRequestFor([task(1e9)]), fastKeccak256('0x01'));
    const checked = await checkResults(request);
    expect(checked.rootMatches).toBe(false);
    expect(checked.signer).toBeUndefined();
    expect(validated(checked)).toEqual(['not validated']);
  });

  it('validates nothing of a receipt signed by another key than its session, and says who signed it', async () => {
    const other = fastSigningAccount(generatePrivateKey());
    const request = await checkRequestFor([task(1e9), task(1e9 + 1024)]);
    const forged = { ...request, signature: (await other.sign({ hash: request.digest })) as Hex };
    const checked = await checkResults(forged);
    expect(checked.signer).toBe(other.address.toLowerCase());
    expect(validated(checked)).toEqual(['not validated', 'not validated']);
    const garbled = await checkResults({ ...request, signature: `0x${'00'.repeat(65)}` });
    expect(garbled.signer).toBeUndefined();
    expect(validated(garbled)).toEqual(['not validated', 'not validated']);
  });

  it('validates no output whose hash or length is not what was claimed, nor one sent without its unit, and goes on with the others', async () => {
    const request = await checkRequestFor([task(1e9), task(1e9 + 1024), task(1e9 + 2048), task(1e9 + 3072)]);
    const outputs = [...request.outputs];
    outputs[0] = { ...outputs[0]!, resultHash: fastKeccak256('0x02') };
    outputs[1] = { ...outputs[1]!, expectedBytes: 16 };
    outputs[2] = { ...outputs[2]!, spec: undefined };
    const checked = await checkResults({ ...request, outputs });
    expect(validated(checked)).toEqual(['not validated', 'not validated', 'not validated', true]);
    // Its true hash comes back all the same, for the caller to name the mismatch.
    expect(checked.outputs[0]!.hash).toBe(request.outputs[0]!.resultHash);
  });
});
