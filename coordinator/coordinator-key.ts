import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Hex, PrivateKeyAccount } from 'viem';
import { generatePrivateKey } from 'viem/accounts';
import { fastSigningAccount } from './secp256k1.ts';

/**
 * The key the coordinator countersigns validated receipts with. Given by configuration in
 * production; for a laptop, made on first start and kept beside the database, readable by
 * its owner only.
 */
export function loadCoordinatorKey(keyFile: string, configured?: Hex): PrivateKeyAccount {
  if (configured) return fastSigningAccount(configured);
  if (existsSync(keyFile)) {
    const stored = readFileSync(keyFile, 'utf8').trim();
    if (!/^0x[0-9a-fA-F]{64}$/.test(stored)) throw new Error(`${keyFile} does not hold a 32-byte hex private key`);
    return fastSigningAccount(stored as Hex);
  }
  mkdirSync(dirname(keyFile), { recursive: true });
  const key = generatePrivateKey();
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  return fastSigningAccount(key);
}
