import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeadlessSummary } from '../../coordinator/cli/surge-headless.ts';
import { startTestCoordinator, type TestCoordinator } from '../helpers/test-coordinator.ts';

/** `npx surge-headless` as a CI job runs it: a real process, a real coordinator, a real Chromium. */
const distDir = resolve('dist');

let coordinator: TestCoordinator;
let baseUrl: string;

beforeAll(async () => {
  if (!existsSync(resolve(distDir, 'index.html'))) throw new Error('The page is not built: run `npm run build` first (npm test does).');
  coordinator = await startTestCoordinator({ staticDir: distDir, demo: { size: 128, block: 32, k: 64 } });
  baseUrl = await coordinator.url();
});

afterAll(() => coordinator?.close());

function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    // The command npx runs: the workspace package's bin, linked by npm install.
    const child = spawn(process.execPath, ['node_modules/.bin/surge-headless', ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as { port: number };
  await new Promise((closed) => server.close(closed));
  return port;
}

describe('surge-headless', () => {
  it('completes the units it was asked for, credits the --owner address, and exits 0 with its summary', async () => {
    const ownerKey = generatePrivateKey();
    const owner = privateKeyToAccount(ownerKey).address;
    const { code, stdout, stderr } = await runCli(
      ['--coordinator', baseUrl, '--workers', '1', '--max-units', '3', '--max-seconds', '90', '--owner', owner, '--json'],
      {
        SURGE_OWNER_KEY: ownerKey,
      },
    );
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout.trim()) as HeadlessSummary;
    expect(summary.unitsDone).toBeGreaterThanOrEqual(3);
    expect(summary.validated).toBe(summary.unitsDone);
    expect(summary.rejected).toBe(0);
    expect(summary.owner).toBe(owner);
    expect(summary.backend).toContain('wasm');
    expect(summary.workers).toBe(1);
    expect(summary.unitsPerSecond).toBeGreaterThan(0);
    // The coordinator's ledger agrees: the credit is the owner's.
    const credit = (await coordinator.app.inject({ method: 'GET', url: `/v1/owners/${owner}` })).json();
    expect(credit).toMatchObject({ validatedResults: summary.validated, credit: summary.credit });
    expect(BigInt(summary.credit)).toBeGreaterThan(0n);
    // Progress lines, as JSON, on standard error.
    const progress = stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line));
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toMatchObject({ progress: true, state: expect.stringMatching(/^(running|waiting)$/) });
  }, 120_000);

  it('exits 1 with a clear message when the coordinator is down', async () => {
    const url = `http://127.0.0.1:${await deadPort()}`;
    const { code, stderr, stdout } = await runCli(['--coordinator', url, '--max-units', '1']);
    expect(code).toBe(1);
    expect(stderr).toContain(`Cannot reach the coordinator at ${url}`);
    expect(stdout).toBe('');
  }, 60_000);

  it('exits 1 when there is no work to do', async () => {
    const idle = await startTestCoordinator({ staticDir: distDir, demo: undefined });
    try {
      const url = await idle.url();
      const { code, stderr } = await runCli(['--coordinator', url, '--max-seconds', '4', '--workers', '1']);
      expect(code).toBe(1);
      expect(stderr).toMatch(/No work unit was done in 4 s: No work for this browser right now; asking again shortly/);
    } finally {
      await idle.close();
    }
  }, 60_000);

  it('refuses --owner without the key that can sign for it', async () => {
    const { code, stderr } = await runCli(['--coordinator', baseUrl, '--owner', privateKeyToAccount(generatePrivateKey()).address], { SURGE_OWNER_KEY: '' });
    expect(code).toBe(2);
    expect(stderr).toContain('needs the private key');
  }, 60_000);
});
