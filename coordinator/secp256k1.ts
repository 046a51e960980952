import { createRequire } from 'node:module';
import type * as Secp256k1 from 'secp256k1';
import { bytesToHex, type Hex, hashMessage, hashTypedData, hexToBytes, type PrivateKeyAccount, recoverAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { fastKeccak256 } from './keccak.ts';

/**
 * secp256k1 for the coordinator's hot path: libsecp256k1 through the `secp256k1` package's
 * prebuilt native addon (recovering a signer takes about 50 µs there, 1.5 ms in viem's
 * JavaScript; see docs/decisions/0012-coordinator-hot-path.md). Where the addon cannot load
 * (a platform without a prebuilt binary), viem's own code gives the same answers, slower.
 */
const native = loadNative();

function loadNative(): typeof Secp256k1 | undefined {
  try {
    return createRequire(import.meta.url)('secp256k1/bindings.js') as typeof Secp256k1;
  } catch {
    return undefined;
  }
}

/** Whether the native addon is in use (the coordinator warns at start when it is not). */
export const nativeSecp256k1 = native !== undefined;

/**
 * The lowercase address that signed a 32-byte hash with a 65-byte signature (r ‖ s ‖ v, v 27/28
 * or 0/1), or undefined when the signature recovers no key.
 */
export async function recoverSigner(hash: Hex, signature: Hex): Promise<string | undefined> {
  try {
    if (!native) return (await recoverAddress({ hash, signature })).toLowerCase();
    const bytes = hexToBytes(signature);
    if (bytes.length !== 65) return undefined;
    const v = bytes[64]!;
    const recovery = v >= 27 ? v - 27 : v;
    if (recovery > 1) return undefined;
    const publicKey = native.ecdsaRecover(bytes.subarray(0, 64), recovery, hexToBytes(hash), false);
    return `0x${fastKeccak256(publicKey.subarray(1)).slice(-40)}`;
  } catch {
    return undefined;
  }
}

/**
 * A viem account for a private key whose `sign({ hash })` (the countersignature), and the
 * `signMessage` and `signTypedData` built on it, run in the native addon. Its signatures are the same bytes viem's would be: both are RFC 6979
 * deterministic with low s, serialized r ‖ s ‖ v with v 27 or 28.
 */
export function fastSigningAccount(privateKey: Hex): PrivateKeyAccount {
  const account = privateKeyToAccount(privateKey);
  if (!native) return account;
  const key = hexToBytes(privateKey);
  const sign = async ({ hash }: { hash: Hex }): Promise<Hex> => {
    const { signature, recid } = native.ecdsaSign(hexToBytes(hash), key);
    return `${bytesToHex(signature)}${recid === 0 ? '1b' : '1c'}` as Hex;
  };
  return {
    ...account,
    sign,
    signMessage: ({ message }) => sign({ hash: hashMessage(message) }),
    signTypedData: (typedData) => sign({ hash: hashTypedData(typedData) }),
  };
}
