import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { matmulInputA, matmulInputB } from '../src/kernels/matmul.ts';
import { matmulF32Reference } from '../src/kernels/matmul-f32.ts';
import type { ReceiptDomain } from '../src/protocol/receipt.ts';
import type { InfoResponse, Lease, PartnerStats } from '../src/protocol/schemas.ts';
import { signWorkReceipt } from '../src/wallet/receipt-signer.ts';
import { registerContributor, type TestContributor } from '../test/helpers/contributor.ts';
import { startTestCoordinator, type TestCoordinator, testDatabases } from '../test/helpers/test-coordinator.ts';
import { parseFrameAncestors } from './embed-headers.ts';

let coordinator: TestCoordinator;
let domain: ReceiptDomain;
let staticDir: string;

describe.each(testDatabases)('partners on $name', ({ name: database, skip }) => {
  if (skip) {
    it.skip('needs SURGE_TEST_POSTGRES_URL: a PostgreSQL server (.ci/run starts one)', () => {});
    return;
  }
  beforeEach(async () => {
    staticDir = mkdtempSync(join(tmpdir(), 'surge-static-'));
    writeFileSync(join(staticDir, 'embed.js'), '/* embed */');
    writeFileSync(join(staticDir, 'widget.html'), '<!doctype html><title>widget</title>');
    writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>page</title>');
    coordinator = await startTestCoordinator({ staticDir, frameAncestors: ['https://news.example', 'http://127.0.0.1:4000'] }, database);
    domain = ((await coordinator.app.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse).domain as ReceiptDomain;
  });

  afterEach(async () => {
    await coordinator.close();
    rmSync(staticDir, { recursive: true, force: true });
  });

  const get = (url: string) => coordinator.app.inject({ method: 'GET', url });

  /** Leases one demo unit, computes it with the reference and sends it; returns the credit granted. */
  async function contribute(who: TestContributor, seq: number): Promise<bigint> {
    const leased = await coordinator.app.inject({ method: 'POST', url: '/v1/leases', payload: { session: who.session.address, backends: ['wasm'] } });
    const lease = leased.json().lease as Lease;
    if (lease.kernel !== 'matmul-f32') throw new Error(`the demo job should be matmul-f32, not ${lease.kernel}`);
    const { m, n, k } = lease.params;
    const output = new Uint8Array(Float32Array.from(matmulF32Reference(matmulInputA(lease.params, 'f32'), matmulInputB(lease.params, 'f32'), m, n, k)).buffer);
    const signed = await signWorkReceipt({ session: who.session, owner: who.owner.address, domain, lease, output, seq });
    const response = await coordinator.app.inject({
      method: 'POST',
      url: '/v1/results',
      payload: { lease: lease.id, output: Buffer.from(output).toString('base64'), receipt: signed.receipt, signature: signed.signature },
    });
    expect(response.statusCode).toBe(200);
    return BigInt(response.json().credit as string);
  }

  it("attributes each session's validated work to the partner whose widget made it", async () => {
    const newsA = await registerContributor(coordinator.app, 'news-site');
    const newsB = await registerContributor(coordinator.app, 'news-site');
    const blog = await registerContributor(coordinator.app, 'blog_2');
    const direct = await registerContributor(coordinator.app);
    let newsCredit = 0n;
    newsCredit += await contribute(newsA, 0);
    newsCredit += await contribute(newsA, 1);
    newsCredit += await contribute(newsB, 0);
    const blogCredit = await contribute(blog, 0);
    await contribute(direct, 0);
    expect(newsCredit).toBeGreaterThan(0n);

    const news = await get('/v1/partners/news-site/stats');
    expect(news.statusCode).toBe(200);
    expect(news.json()).toEqual({ partner: 'news-site', contributors: 2, validatedResults: 3, credit: String(newsCredit) });
    expect((await get('/v1/partners/blog_2/stats')).json()).toEqual({ partner: 'blog_2', contributors: 1, validatedResults: 1, credit: String(blogCredit) });

    const board = (await get('/v1/partners/leaderboard')).json() as { partners: PartnerStats[] };
    expect(board.partners.map((p) => p.partner)).toEqual(['news-site', 'blog_2']);
    expect(board.partners[0]).toEqual(news.json());

    const stored = await coordinator.db.selectFrom('sessions').select(['address', 'partner']).execute();
    expect(stored.find((s) => s.address === direct.session.address.toLowerCase())?.partner).toBeNull();
  });

  it('answers zeros for a partner with no validated work yet, and 400 for a malformed id', async () => {
    expect((await get('/v1/partners/nobody-yet/stats')).json()).toEqual({ partner: 'nobody-yet', contributors: 0, validatedResults: 0, credit: '0' });
    const bad = await get(`/v1/partners/${'x'.repeat(65)}/stats`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'SURGE_E_PARTNER_INVALID', field: 'partner' });
    expect((await get('/v1/partners/leaderboard')).json()).toEqual({ partners: [] });
  });

  it('refuses a session request with a malformed partner id, naming the field', async () => {
    await expect(registerContributor(coordinator.app, 'no spaces')).rejects.toThrow(/400.*SURGE_E_BAD_REQUEST.*partner/);
  });

  it('serves embed.js to any site and the widget page only to the allowed frame ancestors', async () => {
    const script = await get('/embed.js');
    expect(script.statusCode).toBe(200);
    expect(script.headers['cross-origin-resource-policy']).toBe('cross-origin');
    expect(script.headers['cache-control']).toMatch(/max-age=\d+/);
    const widget = await get('/widget.html?partner=news-site&origin=https%3A%2F%2Fnews.example');
    expect(widget.statusCode).toBe(200);
    expect(widget.headers['content-security-policy']).toBe("frame-ancestors 'self' https://news.example http://127.0.0.1:4000");
    expect(widget.headers['cross-origin-embedder-policy']).toBe('require-corp');
    const page = await get('/');
    expect(page.headers['content-security-policy']).toBeUndefined();
    expect(page.headers['cross-origin-resource-policy']).toBe('same-origin');
  });
});

describe('SURGE_FRAME_ANCESTORS', () => {
  it('takes origins or *, and refuses anything else with a message that says what it wants', () => {
    expect(parseFrameAncestors(undefined)).toBeUndefined();
    expect(parseFrameAncestors('https://a.example, https://b.example:8443')).toEqual(['https://a.example', 'https://b.example:8443']);
    expect(parseFrameAncestors('*')).toEqual(['*']);
    expect(() => parseFrameAncestors('https://a.example/')).toThrow(/origins such as/);
    expect(() => parseFrameAncestors("'none'")).toThrow(/origins such as/);
  });
});
