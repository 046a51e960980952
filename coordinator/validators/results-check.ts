import type { Hex } from 'viem';
import { type BatchEntry, batchResultsRoot } from '../../src/protocol/receipt.ts';
import type { WorkSpec } from '../../src/protocol/schemas.ts';
import { fastKeccak256 } from '../keccak.ts';
import { recoverSigner } from '../secp256k1.ts';
import { type ValidationOutcome, validateTasks } from './validate-output.ts';

/** One output sent with a receipt, as it came (base64), with what the receipt and the lease say it must be. */
export interface OutputToCheck {
  base64: string;
  /** The keccak-256 the receipt claims for it (lowercase 0x-hex). */
  resultHash: string;
  /** Its length by the unit's kernel and params; undefined when the result was refused before (no lease, another's). */
  expectedBytes: number | undefined;
  /** The unit, when the output is to be validated (not for a canary, whose hash decides). */
  spec: WorkSpec | undefined;
}

/**
 * The work of taking results that is neither SQL nor state: recovering the receipt's signer,
 * the batch root, and each output's bytes and hash, then validating the outputs. It runs where
 * the validators run (a validation thread in a running coordinator), so the event loop does
 * none of it (docs/decisions/0019-receipts-checked-off-the-event-loop.md).
 */
export interface ResultsCheck {
  /** The receipt's EIP-712 digest and the signature over it. */
  digest: Hex;
  signature: Hex;
  /** The session key that must have signed it (lowercase). */
  session: string;
  /** A batch receipt's entries and the root it claims over them; absent for a single receipt. */
  batch?: { entries: readonly BatchEntry[]; resultsRoot: Hex };
  outputs: readonly OutputToCheck[];
}

/** One output's bytes and hash, and its validation when it was run. */
export interface OutputChecked {
  bytes: Uint8Array;
  hash: Hex;
  /**
   * Run only when the receipt holds (root and signer), the output's hash and length are the
   * ones claimed, and it has a spec: a forged or mismatched result costs no validation.
   */
  validation: ValidationOutcome | undefined;
}

export interface ResultsChecked {
  /** Whether the batch's entries hash to the root its receipt claims (true for a single receipt). */
  rootMatches: boolean;
  /** Who signed the digest (lowercase), or undefined when the signature recovers no key or the root did not match. */
  signer: string | undefined;
  outputs: OutputChecked[];
}

/** Checks a receipt's results as `ResultsCheck` says, on this thread. */
export async function checkResults(check: ResultsCheck, random?: () => number): Promise<ResultsChecked> {
  const rootMatches = check.batch === undefined || batchResultsRoot(check.batch.entries, fastKeccak256) === check.batch.resultsRoot;
  // A batch whose root is wrong is refused whole: its signature is not worth recovering.
  const signer = rootMatches ? await recoverSigner(check.digest, check.signature) : undefined;
  const sealed = rootMatches && signer === check.session;
  const outputs: OutputChecked[] = check.outputs.map(({ base64 }) => {
    const bytes = Buffer.from(base64, 'base64');
    return { bytes, hash: fastKeccak256(bytes), validation: undefined };
  });
  const toValidate = sealed
    ? check.outputs.flatMap((output, i) => {
        const { bytes, hash } = outputs[i]!;
        return output.spec && hash === output.resultHash && bytes.byteLength === output.expectedBytes ? [{ index: i, spec: output.spec, output: bytes }] : [];
      })
    : [];
  const validations = await validateTasks(toValidate, random);
  for (const [i, task] of toValidate.entries()) outputs[task.index]!.validation = validations[i];
  return { rootMatches, signer, outputs };
}
