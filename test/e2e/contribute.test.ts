import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMandelbrotJob } from '../../coordinator/work-generator.ts';
import { decodeMandelbrotCheckpoint, mandelbrotPixel } from '../../src/kernels/mandelbrot.ts';
import type { MandelbrotParams } from '../../src/protocol/schemas.ts';
import { launchChromium } from '../helpers/browser.ts';
import { startTestCoordinator, type TestCoordinator } from '../helpers/test-coordinator.ts';

/**
 * The walking skeleton as a person uses it: a coordinator with its SQLite file and the
 * built page, opened in headless Chromium; consent, compute, validated credit.
 */
const distDir = resolve('dist');
const artifacts = resolve('test-results');

let coordinator: TestCoordinator;
let baseUrl: string;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(resolve(distDir, 'index.html'))) throw new Error('The page is not built: run `npm run build` first (npm test does).');
  mkdirSync(artifacts, { recursive: true });
  coordinator = await startTestCoordinator({ staticDir: distDir, demo: { size: 128, block: 32, k: 64 } });
  baseUrl = await coordinator.url();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await coordinator?.close();
});

async function count(page: Page, testId: string): Promise<number> {
  return Number(await page.getByTestId(testId).textContent());
}

async function openPage(): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error.message));
  await page.goto(baseUrl);
  return page;
}

describe('contributing from the page', () => {
  it('asks for consent, computes nothing before it, then earns validated credit', async () => {
    const page = await openPage();
    await expect(page.getByRole('button', { name: 'Start contributing' })).toBeTruthy();
    await page.waitForTimeout(1000);
    const leasesBefore = await coordinator.db.selectFrom('leases').select('id').execute();
    expect(leasesBefore).toHaveLength(0);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);

    await page.getByRole('button', { name: 'Start contributing' }).click();
    await expect.poll(() => count(page, 'validated'), { timeout: 60_000, interval: 250 }).toBeGreaterThanOrEqual(3);

    // Automatic choice by measurement: this machine's WebGPU adapter is SwiftShader, a CPU
    // emulation that calibration finds slower than WASM for every kernel, so no GPU worker.
    const readCalibration = () =>
      page.evaluate(
        () =>
          new Promise<{ kernel: string; wasm: number; webgpu: number }[]>((done, fail) => {
            const open = indexedDB.open('surge');
            open.onsuccess = () => {
              const request = open.result.transaction('calibration').objectStore('calibration').getAll();
              request.onsuccess = () => done(request.result);
              request.onerror = () => fail(request.error);
            };
          }),
      );
    // Calibration runs beside the CPU worker, which computes from the start.
    await expect.poll(async () => (await readCalibration()).length, { timeout: 60_000, interval: 500 }).toBe(4);
    const calibration = await readCalibration();
    expect(calibration.map((record) => record.kernel).sort()).toEqual(['mandelbrot', 'matmul-f32', 'matmul-u32', 'primes']);
    for (const record of calibration) expect(record.wasm).toBeGreaterThan(record.webgpu);
    expect(await page.getByTestId('backend').textContent()).toBe('WebAssembly');
    expect(Number(await page.getByTestId('credit').textContent())).toBeGreaterThan(0);
    const owner = (await page.getByTestId('owner').textContent())!.trim().toLowerCase();
    const credits = await coordinator.db.selectFrom('credits').selectAll().where('owner', '=', owner).execute();
    expect(credits.length).toBeGreaterThanOrEqual(3);
    expect(new Set(credits.map((c) => c.unit_id)).size).toBe(credits.length);
    await page.screenshot({ path: resolve(artifacts, 'contributor-page.png'), fullPage: true });

    // Pause stops computing within a second: no new lease is taken and the count holds.
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => page.getByTestId('state').textContent(), { timeout: 1000, interval: 50 }).toBe('Paused');
    await page.waitForTimeout(500);
    const submitted = await count(page, 'submitted');
    const leases = (await coordinator.db.selectFrom('leases').select('id').execute()).length;
    await page.waitForTimeout(1500);
    expect(await count(page, 'submitted')).toBe(submitted);
    expect((await coordinator.db.selectFrom('leases').select('id').execute()).length).toBe(leases);

    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => count(page, 'submitted'), { timeout: 30_000, interval: 250 }).toBeGreaterThan(submitted);
    await page.context().close();
  });

  it('keeps results in the IndexedDB outbox while the coordinator is unreachable, then delivers each once', async () => {
    const page = await openPage();
    await page.route('**/v1/results', (route) => route.abort('connectionrefused'));
    await page.getByRole('button', { name: 'Start contributing' }).click();
    await expect.poll(() => count(page, 'waiting'), { timeout: 60_000, interval: 250 }).toBeGreaterThanOrEqual(2);
    await page.getByRole('button', { name: 'Pause' }).click();
    // A unit whose last step was running when Pause came still queues its result.
    await page.waitForTimeout(500);
    const stored = await page.evaluate(
      () =>
        new Promise<number>((done, fail) => {
          const open = indexedDB.open('surge');
          open.onsuccess = () => {
            const request = open.result.transaction('outbox').objectStore('outbox').count();
            request.onsuccess = () => done(request.result);
            request.onerror = () => fail(request.error);
          };
        }),
    );
    expect(stored).toBeGreaterThanOrEqual(2);
    // The page says why they wait.
    expect(await page.getByTestId('waiting-reason').textContent()).toContain('could not be reached');
    const validatedBefore = await count(page, 'validated');

    await page.unroute('**/v1/results');
    await expect.poll(() => count(page, 'waiting'), { timeout: 60_000, interval: 250 }).toBe(0);
    await expect.poll(() => count(page, 'validated'), { timeout: 10_000, interval: 250 }).toBe(validatedBefore + stored);
    const results = await coordinator.db.selectFrom('results').select(['digest', 'outcome']).execute();
    expect(results.every((r) => r.outcome === 'validated')).toBe(true);
    await page.context().close();
  });

  it('resumes a unit left in IndexedDB by a closed tab from its checkpoint, and its result is validated', async () => {
    // A coordinator of its own with one slow unit: a Mandelbrot tile inside the set, where every
    // pixel runs to maxIterations (about a second of WASM), so the tab can close mid-unit.
    const slow = await startTestCoordinator({ staticDir: distDir, demo: undefined });
    try {
      await createMandelbrotJob(slow.db, {
        name: 'Slow tile',
        purpose: 'a tile inside the main cardioid',
        centerX: '-0.1',
        centerY: '0.05',
        pixelSize: 2n ** 70n,
        width: 24,
        height: 24,
        tile: 24,
        maxIterations: 300_000,
      });
      const slowUrl = await slow.url();
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(slowUrl);
      await page.getByRole('button', { name: 'Start contributing' }).click();
      await expect.poll(() => page.getByTestId('unit').count(), { timeout: 30_000, interval: 50 }).toBe(1);
      // Pausing checkpoints the unit in progress to IndexedDB; then the tab goes away.
      await page.getByRole('button', { name: 'Pause' }).click();
      const saved = () =>
        page.evaluate(
          () =>
            new Promise<{ id: string; checkpointBytes: number; checkpoint: number[] }[]>((done, fail) => {
              const open = indexedDB.open('surge');
              open.onsuccess = () => {
                const request = open.result.transaction('leases').objectStore('leases').getAll();
                request.onsuccess = () =>
                  done(request.result.map((s) => ({ id: s.lease.id, checkpointBytes: s.checkpoint?.byteLength ?? 0, checkpoint: [...(s.checkpoint ?? [])] })));
                request.onerror = () => fail(request.error);
              };
            }),
        );
      await expect.poll(async () => (await saved())[0]?.checkpointBytes ?? 0, { timeout: 10_000, interval: 100 }).toBeGreaterThan(4);
      const { id: leaseId, checkpoint } = (await saved())[0]!;
      await page.reload();
      await page.getByRole('button', { name: 'Start contributing' }).click();
      await expect
        .poll(async () => (await slow.db.selectFrom('results').select('outcome').where('lease_id', '=', leaseId).executeTakeFirst())?.outcome, {
          timeout: 90_000,
          interval: 250,
        })
        .toBe('validated');
      expect(await slow.db.selectFrom('leases').select('id').execute()).toHaveLength(1);
      expect(await page.getByTestId('state').textContent()).not.toBe('Stopped by an error');
      // The result is the one an uninterrupted run gives: the pixels done before the reload are
      // in it byte for byte, and pixels on both sides of the checkpoint match the reference.
      const unit = await slow.db.selectFrom('units').select(['id', 'params']).executeTakeFirstOrThrow();
      const params = JSON.parse(unit.params) as MandelbrotParams;
      const stored = await slow.db.selectFrom('unit_outputs').select('output').where('unit_id', '=', unit.id).executeTakeFirstOrThrow();
      const output = new Uint8Array(stored.output);
      const before = decodeMandelbrotCheckpoint(new Uint8Array(checkpoint), params);
      expect(before.pixelsDone).toBeGreaterThan(0);
      expect(before.pixelsDone).toBeLessThan(params.width * params.height);
      expect(output.subarray(0, before.counts.byteLength)).toEqual(before.counts);
      const counts = new Uint32Array(output.buffer, output.byteOffset, params.width * params.height);
      for (const p of [before.pixelsDone - 1, before.pixelsDone, params.width * params.height - 1]) {
        expect(counts[p]).toBe(mandelbrotPixel(params, p % params.width, Math.floor(p / params.width)));
      }
      await context.close();
    } finally {
      await slow.close();
    }
  });

  it('runs on WebGPU when the setting forces it', async () => {
    const page = await openPage();
    await page.getByLabel('Compute on').selectOption('webgpu');
    await page.getByRole('button', { name: 'Start contributing' }).click();
    await expect.poll(() => page.getByTestId('backend').textContent(), { timeout: 30_000 }).toBe('WebGPU');
    const before = await count(page, 'validated');
    await expect.poll(() => count(page, 'validated'), { timeout: 60_000, interval: 250 }).toBeGreaterThanOrEqual(before + 2);
    expect(await page.getByTestId('device').textContent()).toMatch(/\S/);
    await page.screenshot({ path: resolve(artifacts, 'contributor-page-webgpu.png'), fullPage: true });
    await page.context().close();
  });
});
