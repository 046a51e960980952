import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey } from 'viem/accounts';
import { afterEach, describe, expect, it } from 'vitest';
import { rewardsConfigFromEnv } from './rewards-config.ts';

const distributor = '0x5FbDB2315678afecb367f032d93F642f64180aa3';

describe('rewardsConfigFromEnv', () => {
  let dir: string | undefined;
  afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('starts the embedded chain by default, an epoch a minute', () => {
    expect(rewardsConfigFromEnv({})).toEqual({ epochSeconds: 60, tokensPerCredit: 10n ** 15n, activationDelaySeconds: 30 });
  });

  it('SURGE_CHAIN=0 turns rewards off', () => {
    expect(rewardsConfigFromEnv({ SURGE_CHAIN: '0', SURGE_RPC_URL: 'http://chain' })).toBeUndefined();
  });

  it('a real chain needs the distributor and the root poster key, from the environment or a file', () => {
    expect(() => rewardsConfigFromEnv({ SURGE_RPC_URL: 'http://chain' })).toThrow('SURGE_DISTRIBUTOR');
    expect(() => rewardsConfigFromEnv({ SURGE_RPC_URL: 'http://chain', SURGE_DISTRIBUTOR: distributor })).toThrow('SURGE_ROOT_POSTER_KEY');
    const key = generatePrivateKey();
    expect(rewardsConfigFromEnv({ SURGE_RPC_URL: 'http://chain', SURGE_DISTRIBUTOR: distributor, SURGE_ROOT_POSTER_KEY: key })).toMatchObject({
      rpcUrl: 'http://chain',
      publicRpcUrl: 'http://chain',
      distributor,
      rootPosterKey: key,
    });
    dir = mkdtempSync(join(tmpdir(), 'surge-key-'));
    writeFileSync(join(dir, 'poster.key'), `${key}\n`);
    const fromFile = rewardsConfigFromEnv({
      SURGE_RPC_URL: 'http://private-node/secret',
      SURGE_PUBLIC_RPC_URL: 'https://rpc.example',
      SURGE_DISTRIBUTOR: distributor,
      SURGE_ROOT_POSTER_KEY_FILE: join(dir, 'poster.key'),
      SURGE_EPOCH_SECONDS: '3600',
      SURGE_TOKENS_PER_CREDIT: '1000',
    });
    expect(fromFile).toMatchObject({ rootPosterKey: key, publicRpcUrl: 'https://rpc.example', epochSeconds: 3600, tokensPerCredit: 1000n });
    expect(() => rewardsConfigFromEnv({ SURGE_RPC_URL: 'http://chain', SURGE_DISTRIBUTOR: distributor, SURGE_ROOT_POSTER_KEY: 'not-a-key' })).toThrow(
      '32-byte hex private key',
    );
  });
});
