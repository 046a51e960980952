import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

/**
 * The first page load stays small: the JavaScript the contributor page loads before the
 * visitor does anything (the entry and what it imports statically), gzipped, is under
 * 100 KB, and the wallet code (viem's wallet client, mipd, the claim) is a chunk of its own
 * that only `import()` fetches. Reads the build in dist/ (npm test builds first).
 */
const dist = resolve('dist');
const kBudgetBytes = 100 * 1000;

/** The chunks index.html loads: its module script and modulepreloads, and their static imports, transitively. */
function firstLoadChunks(): string[] {
  const htmlPage = readFileSync(resolve(dist, 'index.html'), 'utf8');
  const pending = [...htmlPage.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
  const seen = new Set<string>();
  while (pending.length > 0) {
    const chunk = pending.pop()!;
    if (seen.has(chunk)) continue;
    seen.add(chunk);
    const code = readFileSync(resolve(dist, chunk), 'utf8');
    // Static imports only (`import … from "./x.js"`, `import "./x.js"`); `import("./x.js")` is on demand.
    for (const m of code.matchAll(/(?:\bfrom|\bimport)\s*["']\.\/([^"']+\.js)["']/g)) pending.push(`assets/${m[1]}`);
  }
  return [...seen];
}

describe('the first page load', () => {
  it('is built', () => {
    expect(existsSync(resolve(dist, 'index.html')), 'The page is not built: run `npm run build` first (npm test does).').toBe(true);
  });

  it('loads under 100 KB of JavaScript, gzipped, with the wallet code in a separate chunk', () => {
    const chunks = firstLoadChunks();
    expect(chunks.length).toBeGreaterThan(0);
    const sizes = chunks.map((chunk) => ({ chunk, gzipped: gzipSync(readFileSync(resolve(dist, chunk)), { level: 9 }).byteLength }));
    const total = sizes.reduce((sum, { gzipped }) => sum + gzipped, 0);
    console.info(`first page load: ${(total / 1000).toFixed(1)} kB gzipped (${sizes.map((s) => `${s.chunk} ${(s.gzipped / 1000).toFixed(1)} kB`).join(', ')})`);
    expect(total).toBeLessThan(kBudgetBytes);

    const walletChunks = readdirSync(resolve(dist, 'assets')).filter((name) => /^surge-wallet-.*\.js$/.test(name));
    expect(walletChunks).toHaveLength(1);
    expect(chunks).not.toContain(`assets/${walletChunks[0]}`);
    // What only the wallet uses is not in the first load: mipd's EIP-6963 event, the distributor's claim ABI.
    const firstLoad = chunks.map((chunk) => readFileSync(resolve(dist, chunk), 'utf8')).join('\n');
    const wallet = readFileSync(resolve(dist, 'assets', walletChunks[0]!), 'utf8');
    for (const marker of ['eip6963:requestProvider', 'cumulativeAmount']) {
      expect(wallet).toContain(marker);
      expect(firstLoad).not.toContain(marker);
    }
  });
});
