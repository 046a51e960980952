import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMandelbrotJob } from '../../coordinator/work-generator.ts';
import type { ReceiptsExport } from '../../src/ui/surge-receipts.ts';
import { launchChromium } from '../helpers/browser.ts';
import { startTestCoordinator, type TestCoordinator } from '../helpers/test-coordinator.ts';
import { unnamedControls } from '../helpers/unnamed-controls.ts';

/**
 * The contributor page while contributing and the network dashboard, in headless Chromium
 * against a real coordinator: keyboard use, accessible names, no motion, no sideways scroll
 * on a phone, the receipts export; and screenshots, light and dark, desktop and phone width,
 * kept in test-results/screenshots/ for a reviewer to look at.
 */
const distDir = resolve('dist');
const shots = resolve('test-results', 'screenshots');

let coordinator: TestCoordinator;
let baseUrl: string;
let browser: Browser;
let context: BrowserContext;

const desktop = { width: 1280, height: 900 };
const phone = { width: 360, height: 780 };

beforeAll(async () => {
  if (!existsSync(resolve(distDir, 'dashboard.html'))) throw new Error('The pages are not built: run `npm run build` first (npm test does).');
  mkdirSync(shots, { recursive: true });
  coordinator = await startTestCoordinator({ staticDir: distDir, demo: { size: 64, block: 32, k: 32 } });
  // A picture to watch assemble, leased before the demo product: 70 tiles of 24×24, more than the test computes.
  await createMandelbrotJob(coordinator.db, {
    name: 'Seahorse valley',
    purpose: 'a picture of the Mandelbrot set near −0.7435 + 0.131i, assembled from tiles computed in visitors’ browsers',
    centerX: '-0.7435',
    centerY: '0.131',
    pixelSize: '0.0001',
    width: 240,
    height: 168,
    tile: 24,
    maxIterations: 256,
    priority: 1,
  });
  baseUrl = await coordinator.url();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: desktop, colorScheme: 'light', reducedMotion: 'reduce', acceptDownloads: true });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await coordinator?.close();
});

/** The text of the element that has keyboard focus, looking into shadow roots. */
function focusedText(page: Page): Promise<string> {
  return page.evaluate(() => {
    let active = document.activeElement;
    while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
    return active?.textContent?.trim() ?? '';
  });
}

/** Screenshots at desktop and phone width, light and dark; checks that nothing scrolls sideways on the phone. */
async function screenshots(page: Page, name: string): Promise<void> {
  for (const [size, viewport] of [
    ['desktop', desktop],
    ['phone', phone],
  ] as const) {
    await page.setViewportSize(viewport);
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      expect(background).toBe(colorScheme === 'light' ? 'rgb(255, 255, 255)' : 'rgb(11, 17, 32)');
      if (size === 'phone') expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(phone.width);
      await page.screenshot({ path: resolve(shots, `${name}-${size}-${colorScheme}.png`), fullPage: true });
    }
  }
  await page.setViewportSize(desktop);
  await page.emulateMedia({ colorScheme: 'light' });
}

describe('the contributor page and the dashboard', () => {
  let contributor: Page;

  it('can be used with the keyboard alone, names every control, and shows the work as it happens', async () => {
    contributor = await context.newPage();
    contributor.on('pageerror', (error) => console.error('page error:', error.message));
    await contributor.goto(baseUrl);
    await contributor.getByRole('button', { name: 'Start contributing' }).waitFor();
    expect(await contributor.evaluate(unnamedControls as () => string[])).toEqual([]);

    // Tab to Start (after the link to the dashboard) with a visible focus ring; Enter starts.
    for (let i = 0; i < 6 && (await focusedText(contributor)) !== 'Start contributing'; i++) await contributor.keyboard.press('Tab');
    expect(await focusedText(contributor)).toBe('Start contributing');
    expect(await contributor.getByRole('button', { name: 'Start contributing' }).evaluate((button) => getComputedStyle(button).outlineStyle)).not.toBe('none');
    await contributor.keyboard.press('Enter');
    await expect.poll(() => contributor.getByTestId('state').textContent(), { timeout: 10_000 }).toMatch(/Computing|Starting|Waiting/);
    // Focus lands on Pause, the next thing to do.
    await expect.poll(() => focusedText(contributor), { timeout: 10_000 }).toBe('Pause');

    // Tiles appear as they finish; receipts and credit follow validation.
    const picture = contributor.getByRole('img', { name: /The Mandelbrot tiles you computed for “Seahorse valley”/ });
    await expect
      .poll(async () => (await picture.count()) && ((await picture.getAttribute('aria-label')) ?? ''), { timeout: 60_000, interval: 250 })
      .toMatch(/: ([3-9]|1\d) tiles/);
    await expect.poll(() => contributor.getByTestId('receipt').count(), { timeout: 60_000, interval: 250 }).toBeGreaterThanOrEqual(3);
    expect(Number(await contributor.getByTestId('credit').textContent())).toBeGreaterThan(0);
    await expect.poll(() => contributor.getByTestId('rate').textContent(), { timeout: 10_000 }).toMatch(/million operations per second/);
    // The picture's pixels are painted: opaque, in the palette's many colours, not one flat fill.
    const painted = await picture.evaluate((canvas: HTMLCanvasElement) => {
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let opaque = 0;
      const colours = new Set<number>();
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] !== 255) continue;
        opaque++;
        colours.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
      }
      return { opaque, colours: colours.size };
    });
    expect(painted.opaque).toBeGreaterThanOrEqual(3 * 24 * 24);
    expect(painted.colours).toBeGreaterThanOrEqual(5);

    // prefers-reduced-motion: nothing animates on the page while it works.
    expect(await contributor.evaluate(() => document.getAnimations().length)).toBe(0);
    expect(await contributor.evaluate(unnamedControls as () => string[])).toEqual([]);
    await screenshots(contributor, 'contributor');
  }, 120_000);

  it('exports the receipts as a JSON file holding every countersigned receipt', async () => {
    // Paused from here, so the picture job stays in progress for the dashboard.
    await contributor.getByRole('button', { name: 'Pause' }).click();
    const download = contributor.waitForEvent('download');
    await contributor.getByRole('button', { name: 'Export receipts (JSON)' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe('surge-receipts.json');
    const exported = JSON.parse(readFileSync((await file.path())!, 'utf8')) as ReceiptsExport;
    expect(exported.format).toBe('surge-receipts');
    expect(exported.receipts.length).toBeGreaterThanOrEqual(3);
    const judged = await coordinator.db.selectFrom('results').select(['digest', 'countersignature']).execute();
    const byDigest = new Map(judged.map((r) => [r.digest.toLowerCase(), r.countersignature]));
    for (const receipt of exported.receipts) expect(byDigest.get(receipt.digest.toLowerCase())).toBe(receipt.countersignature);
  }, 60_000);

  it('shows the network dashboard with the picture so far, throughput, contributors online and the top contributors', async () => {
    const dashboard = await context.newPage();
    dashboard.on('pageerror', (error) => console.error('page error:', error.message));
    await dashboard.goto(`${baseUrl}/dashboard.html`);
    const job = dashboard.getByTestId('job').filter({ hasText: 'Seahorse valley' });
    await job.waitFor({ timeout: 10_000 });
    const preview = job.getByRole('img', { name: /The picture of “Seahorse valley” so far: \d+ of 70 tiles/ });
    await expect.poll(() => preview.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), { timeout: 10_000 }).toBe(240);
    expect(Number(await dashboard.getByTestId('contributors-online').textContent())).toBeGreaterThanOrEqual(1);
    expect(await dashboard.getByTestId('results-per-minute').textContent()).toMatch(/^\d+$/);
    const owner = (await contributor.getByTestId('owner').textContent())!.trim().toLowerCase();
    expect(await dashboard.getByTestId('contributor').first().textContent()).toContain(`${owner.slice(0, 6)}…${owner.slice(-4)}`);
    expect(await dashboard.evaluate(unnamedControls as () => string[])).toEqual([]);
    expect(await dashboard.evaluate(() => document.getAnimations().length)).toBe(0);
    await screenshots(dashboard, 'dashboard');
    await dashboard.close();
  }, 60_000);
});
