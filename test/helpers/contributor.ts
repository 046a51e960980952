import type { FastifyInstance } from 'fastify';
import type { LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { sessionGrantMessage } from '../../src/wallet/session-grant.ts';

export interface TestContributor {
  owner: LocalAccount;
  session: LocalAccount;
}

/**
 * A fresh owner key and session key, registered with a signed grant as the page does
 * (the grant's domain is `inject`'s default host), through `partner`'s widget when given.
 */
export async function registerContributor(app: FastifyInstance, partner?: string): Promise<TestContributor> {
  const owner = privateKeyToAccount(generatePrivateKey());
  const session = privateKeyToAccount(generatePrivateKey());
  const message = sessionGrantMessage({ owner: owner.address, session: session.address, domain: 'localhost:80', uri: 'http://localhost', chainId: 31337 });
  const response = await app.inject({
    method: 'POST',
    url: '/v1/sessions',
    payload: { message, signature: await owner.signMessage({ message }), ...(partner ? { partner } : {}) },
  });
  if (response.statusCode !== 200) throw new Error(`registering a session failed: ${response.statusCode} ${response.body}`);
  return { owner, session };
}
