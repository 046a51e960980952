import { randomBytes } from 'node:crypto';
import { bytesToHex, type Hex, recoverAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { fastSigningAccount, nativeSecp256k1, recoverSigner } from './secp256k1.ts';

const randomHash = () => bytesToHex(randomBytes(32));

describe('the coordinator secp256k1', () => {
  it('uses the native addon on this platform', () => {
    expect(nativeSecp256k1).toBe(true);
  });

  it('signs the same bytes viem signs, and recovers the signer viem recovers', async () => {
    for (let i = 0; i < 25; i++) {
      const key = generatePrivateKey();
      const hash = randomHash();
      const fast = await fastSigningAccount(key).sign({ hash });
      const reference = await privateKeyToAccount(key).sign({ hash });
      expect(fast).toBe(reference);
      const signer = await recoverSigner(hash, reference);
      expect(signer).toBe((await recoverAddress({ hash, signature: reference })).toLowerCase());
      expect(signer).toBe(privateKeyToAccount(key).address.toLowerCase());
    }
  });

  it("signs messages and typed data as viem's account does", async () => {
    const key = generatePrivateKey();
    const fast = fastSigningAccount(key);
    const reference = privateKeyToAccount(key);
    expect(await fast.signMessage({ message: 'Surge session grant' })).toBe(await reference.signMessage({ message: 'Surge session grant' }));
    const typedData = {
      domain: { name: 'Surge', version: '1', chainId: 31337 },
      types: {
        Receipt: [
          { name: 'lease', type: 'bytes32' },
          { name: 'units', type: 'uint256' },
        ],
      },
      primaryType: 'Receipt',
      message: { lease: randomHash(), units: 12_885n },
    } as const;
    expect(await fast.signTypedData(typedData)).toBe(await reference.signTypedData(typedData));
  });

  it('accepts v as 0/1 as well as 27/28, and recovers nobody from a broken signature', async () => {
    const key = generatePrivateKey();
    const hash = randomHash();
    const signature = await privateKeyToAccount(key).sign({ hash });
    const v = Number.parseInt(signature.slice(130), 16);
    const zeroBased = `${signature.slice(0, 130)}0${v - 27}` as Hex;
    expect(await recoverSigner(hash, zeroBased)).toBe(privateKeyToAccount(key).address.toLowerCase());
    expect(await recoverSigner(hash, `0x${'00'.repeat(64)}1b`)).toBeUndefined();
    expect(await recoverSigner(hash, `${signature.slice(0, 130)}1d` as Hex)).toBeUndefined();
    expect(await recoverSigner(hash, signature.slice(0, 100) as Hex)).toBeUndefined();
    // Another hash recovers some other address, never the signer.
    expect(await recoverSigner(randomHash(), signature)).not.toBe(privateKeyToAccount(key).address.toLowerCase());
  });
});
