import { decode } from 'fast-png';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mandelbrotReference } from '../src/kernels/mandelbrot.ts';
import { mandelbrotColour } from '../src/kernels/mandelbrot-palette.ts';
import type { ResultBatchResponse } from '../src/protocol/batch-schemas.ts';
import type { ReceiptDomain } from '../src/protocol/receipt.ts';
import type { InfoResponse, JobRequest, JobStatus, Lease, NetworkStats } from '../src/protocol/schemas.ts';
import { signWorkBatchReceipt } from '../src/wallet/batch-receipt-signer.ts';
import { signWorkReceipt } from '../src/wallet/receipt-signer.ts';
import { registerContributor, type TestContributor } from '../test/helpers/contributor.ts';
import { kTestRequesterToken, startTestCoordinator, type TestCoordinator, testDatabases } from '../test/helpers/test-coordinator.ts';

let coordinator: TestCoordinator;

describe.each(testDatabases)('the public network stats on $name', ({ name: database, skip }) => {
  if (skip) {
    it.skip('needs SURGE_TEST_POSTGRES_URL: a PostgreSQL server (.ci/run starts one)', () => {});
    return;
  }
  beforeEach(async () => {
    coordinator = await startTestCoordinator({ demo: undefined }, database);
  });
  afterEach(() => coordinator.close());

  // A 20×12 picture in 8-pixel tiles: 3 columns × 2 rows = 6 units.
  const picture: JobRequest = {
    name: 'Seahorse valley',
    purpose: 'a picture for the dashboard',
    kernel: 'mandelbrot',
    params: { centerX: '-0.5', centerY: '0', pixelSize: '0.15', width: 20, height: 12, maxIterations: 64, tile: 8 },
  };

  async function submit(job: JobRequest): Promise<JobStatus> {
    const response = await coordinator.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: { authorization: `Bearer ${kTestRequesterToken}` },
      payload: job,
    });
    expect(response.statusCode).toBe(201);
    return response.json();
  }

  async function stats(): Promise<NetworkStats> {
    const response = await coordinator.app.inject({ method: 'GET', url: '/v1/stats' });
    expect(response.statusCode).toBe(200);
    return response.json();
  }

  /** Leases `count` Mandelbrot units and sends each correct result; returns the leases. */
  async function contribute(contributor: TestContributor, count: number): Promise<Lease[]> {
    const domain = ((await coordinator.app.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse).domain as ReceiptDomain;
    const done: Lease[] = [];
    for (let seq = 0; seq < count; seq++) {
      const { lease } = (
        await coordinator.app.inject({ method: 'POST', url: '/v1/leases', payload: { session: contributor.session.address, backends: ['wasm'] } })
      ).json() as { lease: Lease };
      if (lease.kernel !== 'mandelbrot') throw new Error('expected a Mandelbrot unit');
      const output = new Uint8Array(mandelbrotReference(lease.params).buffer);
      const signed = await signWorkReceipt({ session: contributor.session, owner: contributor.owner.address, domain, lease, output, seq });
      const response = await coordinator.app.inject({
        method: 'POST',
        url: '/v1/results',
        payload: { lease: lease.id, output: Buffer.from(output).toString('base64'), receipt: signed.receipt, signature: signed.signature },
      });
      expect(response.statusCode).toBe(200);
      done.push(lease);
    }
    return done;
  }

  it('shows active jobs with progress, throughput, contributors online and the top contributors, and nothing private', async () => {
    const job = await submit(picture);
    const product = await submit({ name: 'Product', purpose: 'numbers', kernel: 'matmul-f32', params: { rows: 16, cols: 16, k: 8, block: 16 }, priority: 5 });
    const empty = await stats();
    expect(empty.jobs.map((j) => [j.name, j.units])).toEqual([
      ['Product', { total: 1, done: 0 }],
      ['Seahorse valley', { total: 6, done: 0 }],
    ]);
    expect(empty.jobs[0]!.preview).toBeUndefined();
    expect(empty.jobs[1]!.preview).toBe(`/v1/jobs/${job.id}/preview.png`);
    expect(empty).toMatchObject({ throughput: { resultsPerMinute: 0, creditPerMinute: '0' }, contributorsOnline: 0, topContributors: [], topPartners: [] });

    // Cancel the product so every lease below is a tile of the picture.
    await coordinator.app.inject({ method: 'DELETE', url: `/v1/jobs/${product.id}`, headers: { authorization: `Bearer ${kTestRequesterToken}` } });
    const alice = await registerContributor(coordinator.app);
    // Bob contributes through a partner site's widget: the partner is ranked too.
    const bob = await registerContributor(coordinator.app, 'science-news');
    await contribute(alice, 3);
    await contribute(bob, 1);
    const busy = await stats();
    expect(busy.jobs).toEqual([
      {
        id: job.id,
        name: 'Seahorse valley',
        purpose: 'a picture for the dashboard',
        kernel: 'mandelbrot',
        units: { total: 6, done: 4 },
        preview: `/v1/jobs/${job.id}/preview.png`,
      },
    ]);
    expect(busy.throughput.resultsPerMinute).toBe(4);
    expect(Number(busy.throughput.creditPerMinute)).toBeGreaterThanOrEqual(4);
    expect(busy.contributorsOnline).toBe(2);
    const short = (address: string) => `${address.slice(0, 6)}…${address.slice(-4)}`.toLowerCase();
    expect(busy.topContributors.map((c) => [c.owner, c.results])).toEqual([
      [short(alice.owner.address), 3],
      [short(bob.owner.address), 1],
    ]);
    expect(busy.topPartners).toEqual([{ partner: 'science-news', contributors: 1, validatedResults: 1, credit: busy.topContributors[1]!.credit }]);
    const text = JSON.stringify(busy);
    expect(text).not.toContain('tester');
    expect(text.toLowerCase()).not.toContain(alice.owner.address.toLowerCase());

    // Ten minutes later nobody is online and nothing was validated in the last minute; the ranking stays.
    coordinator.clock.now += 10 * 60_000;
    const later = await stats();
    expect(later).toMatchObject({ throughput: { resultsPerMinute: 0, creditPerMinute: '0' }, contributorsOnline: 0 });
    expect(later.topContributors).toHaveLength(2);
  });

  it('counts results sent in a batch: throughput, contributors online, the top contributors and the partner', async () => {
    await submit(picture);
    const dana = await registerContributor(coordinator.app, 'science-news');
    const domain = ((await coordinator.app.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse).domain as ReceiptDomain;
    const { leases } = (
      await coordinator.app.inject({ method: 'POST', url: '/v1/leases', payload: { session: dana.session.address, backends: ['wasm'], count: 5 } })
    ).json() as { leases: Lease[] };
    expect(leases).toHaveLength(5);
    const results = leases.map((lease) => {
      if (lease.kernel !== 'mandelbrot') throw new Error('expected a Mandelbrot unit');
      return { lease, output: new Uint8Array(mandelbrotReference(lease.params).buffer) };
    });
    const signed = await signWorkBatchReceipt({ session: dana.session, owner: dana.owner.address, domain, results, seq: 0 });
    const response = await coordinator.app.inject({
      method: 'POST',
      url: '/v1/results/batch',
      payload: {
        receipt: signed.receipt,
        signature: signed.signature,
        results: signed.entries.map((entry, i) => ({ ...entry, output: Buffer.from(results[i]!.output).toString('base64') })),
      },
    });
    expect((response.json() as ResultBatchResponse).results.map((result) => result.status)).toEqual(Array(5).fill('validated'));

    // Past the leases' deadline, so only the results sent keep Dana online.
    coordinator.clock.now += coordinator.config.leaseMs + 1;
    const busy = await stats();
    expect(busy.throughput.resultsPerMinute).toBe(0);
    expect(busy.contributorsOnline).toBe(1);
    expect(busy.topContributors.map((c) => c.results)).toEqual([5]);
    expect(busy.topPartners).toEqual([{ partner: 'science-news', contributors: 1, validatedResults: 5, credit: busy.topContributors[0]!.credit }]);
  });

  it('counts a session holding a live lease as online until its deadline', async () => {
    await submit(picture);
    const carol = await registerContributor(coordinator.app);
    await coordinator.app.inject({ method: 'POST', url: '/v1/leases', payload: { session: carol.session.address, backends: ['wasm'] } });
    expect((await stats()).contributorsOnline).toBe(1);
    coordinator.clock.now += coordinator.config.leaseMs + 1;
    expect((await stats()).contributorsOnline).toBe(0);
  });

  it('serves a Mandelbrot job’s picture so far, with tiles not yet validated left transparent', async () => {
    const job = await submit(picture);
    const [first] = await contribute(await registerContributor(coordinator.app), 1);
    const response = await coordinator.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}/preview.png` });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('image/png');
    const png = decode(response.rawPayload);
    expect([png.width, png.height, png.channels]).toEqual([20, 12, 4]);
    // The first unit leased is the top-left 8×8 tile: opaque, with the reference's counts in the palette.
    if (first?.kernel !== 'mandelbrot') throw new Error('expected a Mandelbrot unit');
    expect([first.params.width, first.params.height]).toEqual([8, 8]);
    const counts = mandelbrotReference(first.params);
    const at = (x: number, y: number) => Array.from(png.data.slice((y * 20 + x) * 4, (y * 20 + x) * 4 + 4));
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) expect(at(x, y)[3]).toBe(255);
    const expected = new Uint8Array(4);
    mandelbrotColour(counts[0]!, 64, expected, 0);
    expect(at(0, 0)).toEqual(Array.from(expected));
    const inSet = counts.findIndex((count) => count >= 64);
    if (inSet >= 0) expect(at(inSet % 8, Math.floor(inSet / 8))).toEqual([0, 0, 0, 255]);
    // Everything else is still blank.
    expect(at(8, 0)).toEqual([0, 0, 0, 0]);
    expect(at(19, 11)).toEqual([0, 0, 0, 0]);
  });

  it('samples a large picture down to at most 512 pixels a side', async () => {
    const wide = await submit({
      ...picture,
      params: { ...picture.params, pixelSize: '0.005', width: 1100, height: 8, tile: 768, maxIterations: 16 },
    } as JobRequest);
    const [first] = await contribute(await registerContributor(coordinator.app), 1);
    if (first?.kernel !== 'mandelbrot') throw new Error('expected a Mandelbrot unit');
    expect([first.params.width, first.params.height]).toEqual([768, 8]);
    const png = decode((await coordinator.app.inject({ method: 'GET', url: `/v1/jobs/${wide.id}/preview.png` })).rawPayload);
    // Every 3rd pixel: 1100 → 367 columns, 8 → 3 rows; the first tile fills columns 0–255.
    expect([png.width, png.height]).toEqual([367, 3]);
    const counts = mandelbrotReference(first.params);
    const at = (x: number, y: number) => Array.from(png.data.slice((y * 367 + x) * 4, (y * 367 + x) * 4 + 4));
    // Preview pixel (x, y) is the tile's pixel (3x, 3y).
    const expected = new Uint8Array(4 * 256);
    for (let x = 0; x < 256; x++) mandelbrotColour(counts[6 * 768 + 3 * x]!, 16, expected, x * 4);
    expect(Array.from(png.data.slice(2 * 367 * 4, (2 * 367 + 256) * 4))).toEqual(Array.from(expected));
    expect(at(255, 0)[3]).toBe(255);
    expect(at(256, 0)).toEqual([0, 0, 0, 0]);
  });

  it('answers a preview of an unknown or non-picture job with a 404 and a stable code', async () => {
    const product = await submit({ name: 'Product', purpose: 'numbers', kernel: 'matmul-f32', params: { rows: 16, cols: 16, k: 8, block: 16 } });
    const numbers = await coordinator.app.inject({ method: 'GET', url: `/v1/jobs/${product.id}/preview.png` });
    expect(numbers.statusCode).toBe(404);
    expect(numbers.json().error.code).toBe('SURGE_E_PREVIEW_UNAVAILABLE');
    const missing = await coordinator.app.inject({ method: 'GET', url: '/v1/jobs/999/preview.png' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('SURGE_E_JOB_UNKNOWN');
    const bad = await coordinator.app.inject({ method: 'GET', url: '/v1/jobs/abc/preview.png' });
    expect(bad.statusCode).toBe(400);
  });
});
