import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, describe, expect, it } from 'vitest';
import { primesReference } from '../../src/kernels/primes.ts';
import type { ReceiptDomain } from '../../src/protocol/receipt.ts';
import type { InfoResponse, JobStatus, Lease } from '../../src/protocol/schemas.ts';
import { signWorkReceipt } from '../../src/wallet/receipt-signer.ts';
import { sessionGrantMessage } from '../../src/wallet/session-grant.ts';

/**
 * `kill -9` the coordinator while clients send results, start it again on the same data:
 * no validated result is lost, no unit is credited twice, and leases that died with the
 * process are offered again once they expire.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'surge-crash-'));
const env = {
  ...process.env,
  SURGE_DATA_DIR: dataDir,
  PORT: '0',
  SURGE_DEMO: '0',
  SURGE_CHAIN: '0',
  // Its clients all come from 127.0.0.1, where no two replicas of a unit may go.
  SURGE_REPLICATION: 'off',
  SURGE_LEASE_SECONDS: '2',
  SURGE_COORDINATOR_KEY: generatePrivateKey(),
  SURGE_REQUESTER_TOKENS: 'crash:crash-token',
  LOG_LEVEL: 'warn',
};
let child: ChildProcess | undefined;

/** Starts `coordinator/main.ts` as its own process and resolves with its base URL. */
function startCoordinator(): Promise<string> {
  return new Promise((ready, fail) => {
    const process_ = spawn(process.execPath, ['--import', 'tsx', 'coordinator/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = process_;
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Open (http:\/\/[^/\s]+)\//.exec(output);
      if (match) ready(match[1]!);
    };
    process_.stdout!.on('data', onData);
    process_.stderr!.on('data', onData);
    process_.on('exit', (code) => fail(new Error(`the coordinator exited (${code}) before it listened:\n${output}`)));
  });
}

afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a coordinator killed mid-load', () => {
  it('loses no validated result and pays no unit twice', async () => {
    let base = await startCoordinator();
    const job = (await (
      await fetch(`${base}/v1/jobs`, {
        method: 'POST',
        headers: { authorization: 'Bearer crash-token', 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Crash', purpose: 'a fault test', kernel: 'primes', params: { lo: 0, hi: 2 ** 21, span: 16_384, blockSize: 8192 } }),
      })
    ).json()) as JobStatus;
    const domain = ((await (await fetch(`${base}/v1/info`)).json()) as InfoResponse).domain as ReceiptDomain;

    /** POSTs until the coordinator answers (it may be dead or restarting), as the page's outbox does. */
    const send = async (path: string, body: unknown): Promise<Response> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        } catch {
          if (attempt > 200) throw new Error(`${path}: the coordinator never came back`);
          await new Promise((wait) => setTimeout(wait, 50));
        }
      }
    };

    const validated: string[] = [];
    let killed = false;
    const client = async () => {
      const owner = privateKeyToAccount(generatePrivateKey());
      const session = privateKeyToAccount(generatePrivateKey());
      const message = sessionGrantMessage({ owner: owner.address, session: session.address, domain: new URL(base).host, uri: base, chainId: 31337 });
      await send('/v1/sessions', { message, signature: await owner.signMessage({ message }) });
      let seq = 0;
      for (let idle = 0; idle < 40; ) {
        const answer = await send('/v1/leases', { session: session.address, backends: ['wasm'] });
        if (answer.status === 401) {
          // Its session was registered on the other side of the crash only if the answer came back: register again.
          const again = sessionGrantMessage({ owner: owner.address, session: session.address, domain: new URL(base).host, uri: base, chainId: 31337 });
          await send('/v1/sessions', { message: again, signature: await owner.signMessage({ message: again }) });
          continue;
        }
        const { lease } = (await answer.json()) as { lease: Lease | null };
        if (!lease) {
          idle++;
          await new Promise((wait) => setTimeout(wait, 250));
          continue;
        }
        if (lease.kernel !== 'primes') throw new Error('expected primes');
        const output = primesReference(lease.params);
        const signed = await signWorkReceipt({ session, owner: owner.address, domain, lease, output, seq: seq++ });
        const response = await send('/v1/results', {
          lease: lease.id,
          output: Buffer.from(output).toString('base64'),
          receipt: signed.receipt,
          signature: signed.signature,
        });
        const verdict = (await response.json()) as { status?: string; duplicate?: boolean; error?: { code: string } };
        if (verdict.status === 'validated' && !verdict.duplicate) validated.push(lease.id);
        else if (verdict.status !== 'validated' && !['SURGE_E_LEASE_EXPIRED', 'SURGE_E_LEASE_CLOSED'].includes(verdict.error?.code ?? '')) {
          throw new Error(`unexpected answer ${response.status}: ${JSON.stringify(verdict)}`);
        }
      }
    };

    const clients = Array.from({ length: 4 }, client);
    // Kill the coordinator with SIGKILL once some results are in, and start it again.
    while (validated.length < 30) await new Promise((wait) => setTimeout(wait, 20));
    child!.kill('SIGKILL');
    killed = true;
    base = await startCoordinator();
    await Promise.all(clients);
    expect(killed).toBe(true);

    const status = (await (await fetch(`${base}/v1/jobs/${job.id}`, { headers: { authorization: 'Bearer crash-token' } })).json()) as JobStatus;
    expect(status).toMatchObject({ status: 'done', units: { total: 128, done: 128 } });
    const output = (await (await fetch(`${base}/v1/jobs/${job.id}/output`, { headers: { authorization: 'Bearer crash-token' } })).json()) as { primes: number };
    expect(output.primes).toBe(155_611); // π(2²¹)
    child!.kill('SIGKILL');

    const db = new SqliteDatabase(join(dataDir, 'surge.sqlite'), { readonly: true });
    const credits = db.prepare('select unit_id, lease_id from credits').all() as { unit_id: number; lease_id: string }[];
    db.close();
    // Every unit paid once, and every result a client was told is validated is in the ledger.
    expect(credits).toHaveLength(128);
    expect(new Set(credits.map((c) => c.unit_id)).size).toBe(128);
    const ledger = new Set(credits.map((c) => c.lease_id));
    for (const lease of validated) expect(ledger.has(lease)).toBe(true);
  }, 120_000);
});
