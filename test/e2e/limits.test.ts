import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMandelbrotJob } from '../../coordinator/work-generator.ts';
import { launchChromium } from '../helpers/browser.ts';
import { startTestCoordinator, type TestCoordinator } from '../helpers/test-coordinator.ts';

/**
 * The contributor's limits, as a person sets them on the page, against a real coordinator
 * whose units are long Mandelbrot tiles inside the set (every pixel runs to maxIterations,
 * tens of seconds of WASM each), so a test never runs out of a unit.
 */
const distDir = resolve('dist');

let coordinator: TestCoordinator;
let baseUrl: string;
let browser: Browser;

async function listen(c: TestCoordinator): Promise<string> {
  return c.url();
}

async function slowJob(c: TestCoordinator, tiles: number): Promise<void> {
  await createMandelbrotJob(c.db, {
    name: 'Slow tiles',
    purpose: 'tiles inside the main cardioid',
    centerX: '-0.1',
    centerY: '0.05',
    pixelSize: 2n ** 70n,
    width: 64 * tiles,
    height: 64,
    tile: 64,
    maxIterations: 1_000_000,
  });
}

beforeAll(async () => {
  if (!existsSync(resolve(distDir, 'index.html'))) throw new Error('The page is not built: run `npm run build` first (npm test does).');
  // Long leases: at 25% a tile takes minutes, and this coordinator should not take it back.
  coordinator = await startTestCoordinator({ staticDir: distDir, demo: undefined, leaseMs: 3_600_000 });
  await slowJob(coordinator, 12);
  baseUrl = await listen(coordinator);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await coordinator?.close();
});

/** Collects every compute measure the controller records (User Timing), from before the page's own scripts run. */
function collectComputeMeasures(): void {
  const seen: { start: number; end: number; lane: number }[] = [];
  (window as unknown as { __surgeCompute: typeof seen }).__surgeCompute = seen;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = (entry as PerformanceMeasure).detail as { lane?: number } | null;
      if (entry.name !== 'surge:compute' || typeof detail?.lane !== 'number') continue;
      seen.push({ start: entry.startTime, end: entry.startTime + entry.duration, lane: detail.lane });
    }
  }).observe({ entryTypes: ['measure'] });
}

/** Every IndexedDB connection in the page opens 400 ms late, as on a busy machine. */
function slowIndexedDbOpens(): void {
  const open = IDBFactory.prototype.open;
  IDBFactory.prototype.open = function (this: IDBFactory, ...args: Parameters<IDBFactory['open']>) {
    const request = open.apply(this, args);
    const listen = request.addEventListener.bind(request);
    request.addEventListener = ((type: string, listener: EventListener, options?: AddEventListenerOptions) => {
      if (type !== 'success') return listen(type, listener, options);
      listen(type, (event) => setTimeout(() => listener(event), 400), options);
    }) as typeof request.addEventListener;
    return request;
  };
}

async function openPage(context?: BrowserContext): Promise<Page> {
  const owned = context ?? (await browser.newContext());
  await owned.addInitScript(collectComputeMeasures);
  const page = await owned.newPage();
  page.on('pageerror', (error) => console.error('page error:', error.message));
  await page.goto(baseUrl);
  return page;
}

async function setNumber(page: Page, label: string, value: number): Promise<void> {
  const input = page.getByLabel(label, { exact: true });
  await input.fill(String(value));
  await input.blur();
}

const state = (page: Page) => page.getByTestId('state').textContent();

/**
 * The share of the wall time in [now, now + ms] that lane 0 computed: busy time from the
 * controller's measures of each step, as the kernel worker timed it. A step is measured when
 * it returns, so the count waits for the step running at the window's end.
 */
async function measureDuty(page: Page, ms: number): Promise<number> {
  const from = await page.evaluate(() => performance.now());
  await page.waitForTimeout(ms + 1200);
  return page.evaluate(
    ({ from, ms }) => {
      const to = from + ms;
      const seen = (window as unknown as { __surgeCompute: { start: number; end: number; lane: number }[] }).__surgeCompute;
      let busy = 0;
      for (const m of seen) if (m.lane === 0) busy += Math.max(0, Math.min(m.end, to) - Math.max(m.start, from));
      return busy / ms;
    },
    { from, ms },
  );
}

async function computeCount(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as { __surgeCompute: unknown[] }).__surgeCompute.length);
}

/** Starts contributing with one CPU worker (the machine running the tests may have only two cores). */
async function startOneWorker(page: Page): Promise<void> {
  await page.getByLabel('Compute on').selectOption('wasm');
  await setNumber(page, 'CPU workers', 1);
  await page.getByRole('button', { name: 'Start contributing' }).click();
  await expect
    .poll(() => page.getByTestId('unit').count(), { timeout: 30_000, interval: 100 })
    .toBe(1)
    .catch(async (error) => {
      console.error('no unit started:', await state(page), await page.getByRole('alert').allTextContents());
      throw error;
    });
}

describe('limits that hold', () => {
  it('holds the CPU limit at 100%, 50% and 25%, changed live', async () => {
    const page = await openPage();
    await startOneWorker(page);
    await page.waitForTimeout(500);
    const full = await measureDuty(page, 2500);
    await setNumber(page, 'CPU limit (%)', 50);
    await page.waitForTimeout(800);
    const half = await measureDuty(page, 3000);
    await setNumber(page, 'CPU limit (%)', 25);
    await page.waitForTimeout(1000);
    const quarter = await measureDuty(page, 4000);
    console.info(`measured duty cycle: 100% → ${(full * 100).toFixed(1)}%, 50% → ${(half * 100).toFixed(1)}%, 25% → ${(quarter * 100).toFixed(1)}%`);
    expect(full).toBeGreaterThan(0.9);
    expect(Math.abs(half - 0.5)).toBeLessThan(0.1);
    expect(Math.abs(quarter - 0.25)).toBeLessThan(0.1);
    // Still the same unit: the limit changed without a restart.
    expect(await page.getByTestId('unit').count()).toBe(1);
    await page.context().close();
  }, 90_000);

  it('holds the GPU limit, resting between submits', async () => {
    const page = await openPage();
    await page.getByLabel('Compute on').selectOption('webgpu');
    await setNumber(page, 'GPU limit (%)', 50);
    await page.getByRole('button', { name: 'Start contributing' }).click();
    await expect.poll(() => page.getByTestId('backend').textContent(), { timeout: 30_000 }).toBe('WebGPU');
    await expect.poll(() => page.getByTestId('unit').count(), { timeout: 30_000, interval: 100 }).toBe(1);
    // The first step compiles the pipeline (over a second on SwiftShader), and its rest makes up
    // for it: measure from the steps after.
    await expect.poll(() => computeCount(page), { timeout: 20_000, interval: 100 }).toBeGreaterThanOrEqual(4);
    const half = await measureDuty(page, 3000);
    console.info(`measured GPU duty cycle at a 50% limit: ${(half * 100).toFixed(1)}%`);
    expect(Math.abs(half - 0.5)).toBeLessThan(0.1);
    await page.context().close();
  }, 60_000);

  it('starts on the backend chosen just before Start, however slowly this browser opens its storage', async () => {
    const context = await browser.newContext();
    await context.addInitScript(slowIndexedDbOpens);
    const page = await openPage(context);
    await page.getByLabel('Compute on').selectOption('webgpu');
    await page.getByRole('button', { name: 'Start contributing' }).click();
    await expect.poll(() => page.getByTestId('backend').textContent(), { timeout: 30_000 }).toBe('WebGPU');
    await context.close();
  });

  it('starts when Start is pressed before the page has opened its storage', async () => {
    const context = await browser.newContext();
    await context.addInitScript(slowIndexedDbOpens);
    const page = await openPage(context);
    await page.getByRole('button', { name: 'Start contributing' }).click();
    await expect.poll(() => state(page), { timeout: 30_000 }).toBe('Computing');
    await context.close();
  });

  it('contributes from one tab of a browser at a time; closing it hands over to the other', async () => {
    const context = await browser.newContext();
    const first = await openPage(context);
    await startOneWorker(first);
    const unit = await first.getByTestId('unit').textContent();
    const second = await openPage(context);
    await second.getByRole('button', { name: 'Start contributing' }).click();
    await expect.poll(() => state(second), { timeout: 5000 }).toBe('Another tab is contributing');
    const leases = (await coordinator.db.selectFrom('leases').select('id').execute()).length;
    await second.waitForTimeout(1000);
    expect(await computeCount(second)).toBe(0);
    expect((await coordinator.db.selectFrom('leases').select('id').execute()).length).toBe(leases);

    await first.close();
    await expect.poll(() => state(second), { timeout: 10_000, interval: 100 }).toBe('Computing');
    // It carries on the first tab's unit from its checkpoint rather than leasing another.
    await expect.poll(() => second.getByTestId('unit').first().textContent(), { timeout: 10_000 }).toBe(unit);
    await expect.poll(() => computeCount(second), { timeout: 10_000 }).toBeGreaterThan(0);
    expect((await coordinator.db.selectFrom('leases').select('id').execute()).length).toBe(leases);
    await context.close();
  });

  it('pauses while the tab is hidden, when the setting says so', async () => {
    const page = await openPage();
    await page.getByLabel('Pause when this tab is hidden').check();
    await startOneWorker(page);
    await expect.poll(() => state(page)).toBe('Computing');
    const setHidden = (hidden: boolean) =>
      page.evaluate((hidden) => {
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
        document.dispatchEvent(new Event('visibilitychange'));
      }, hidden);
    await setHidden(true);
    await expect.poll(() => state(page), { timeout: 1000, interval: 50 }).toBe('Held back by a limit');
    await page.waitForTimeout(500);
    const steps = await computeCount(page);
    await page.waitForTimeout(1500);
    expect(await computeCount(page)).toBe(steps);
    await setHidden(false);
    await expect.poll(() => state(page), { timeout: 1000, interval: 50 }).toBe('Computing');
    await expect.poll(() => computeCount(page), { timeout: 2000 }).toBeGreaterThan(steps);
    await page.context().close();
  });

  it('computes only after no input for the chosen time, and stops at the next input', async () => {
    const page = await openPage();
    await page.getByLabel('Only when idle').check();
    await setNumber(page, 'Idle after (seconds without input)', 5);
    await page.getByLabel('Compute on').selectOption('wasm');
    await setNumber(page, 'CPU workers', 1);
    const clicked = Date.now();
    await page.getByRole('button', { name: 'Start contributing' }).click();
    await expect.poll(() => state(page), { timeout: 10_000, interval: 50 }).toBe('Held back by a limit');
    expect(await page.getByTestId('holds').textContent()).toContain('no input on this page for 5 s');
    expect(await computeCount(page)).toBe(0);
    await expect.poll(() => state(page), { timeout: 10_000, interval: 100 }).toBe('Computing');
    expect(Date.now() - clicked).toBeGreaterThanOrEqual(4900);
    await expect.poll(() => computeCount(page), { timeout: 5000 }).toBeGreaterThan(0);
    await page.mouse.move(10, 10);
    await page.mouse.move(40, 30);
    await expect.poll(() => state(page), { timeout: 1000, interval: 50 }).toBe('Held back by a limit');
    await page.context().close();
  });

  it('pauses on battery below the pause level and resumes at the resume level; backs off under CPU pressure', async () => {
    const context = await browser.newContext();
    await context.addInitScript(() => {
      const battery = Object.assign(new EventTarget(), { level: 0.5, charging: false });
      Object.defineProperty(navigator, 'getBattery', { configurable: true, value: () => Promise.resolve(battery) });
      let observe: ((records: { state: string; source: string; time: number }[]) => void) | undefined;
      class StubPressureObserver {
        constructor(callback: typeof observe) {
          observe = callback;
        }
        observe() {
          return Promise.resolve();
        }
        disconnect() {}
      }
      Object.assign(window, {
        PressureObserver: StubPressureObserver,
        __battery: (level: number, charging = false) => {
          Object.assign(battery, { level, charging });
          battery.dispatchEvent(new Event('levelchange'));
        },
        __pressure: (state: string) => observe?.([{ state, source: 'cpu', time: performance.now() }]),
      });
    });
    const page = await openPage(context);
    const battery = (level: number, charging = false) =>
      page.evaluate(([level, charging]) => (window as unknown as { __battery(l: number, c: boolean): void }).__battery(level, charging), [
        level,
        charging,
      ] as const);
    const pressure = (value: string) => page.evaluate((value) => (window as unknown as { __pressure(s: string): void }).__pressure(value), value);
    // Defaults: pause below 20%, resume at 30%.
    await page.getByLabel('Back off under CPU pressure').check();
    await startOneWorker(page);
    await expect.poll(() => state(page)).toBe('Computing');
    await battery(0.15);
    await expect.poll(() => state(page), { timeout: 1000, interval: 50 }).toBe('Held back by a limit');
    expect(await page.getByTestId('holds').textContent()).toContain('battery at 15%');
    await battery(0.25);
    await page.waitForTimeout(300);
    expect(await state(page)).toBe('Held back by a limit');
    await battery(0.3);
    await expect.poll(() => state(page), { timeout: 1000, interval: 50 }).toBe('Computing');
    await battery(0.1);
    await expect.poll(() => state(page), { timeout: 1000, interval: 50 }).toBe('Held back by a limit');
    await battery(0.1, true);
    await expect.poll(() => state(page), { timeout: 1000, interval: 50 }).toBe('Computing');

    await pressure('critical');
    await expect.poll(() => state(page), { timeout: 1000, interval: 50 }).toBe('Held back by a limit');
    expect(await page.getByTestId('holds').textContent()).toContain('critical CPU pressure');
    await pressure('serious');
    await expect.poll(() => state(page), { timeout: 1000, interval: 50 }).toBe('Computing');
    await page.waitForTimeout(800);
    const serious = await measureDuty(page, 3000);
    console.info(`measured duty cycle at a 100% limit under serious pressure: ${(serious * 100).toFixed(1)}%`);
    expect(Math.abs(serious - 0.5)).toBeLessThan(0.1);
    await context.close();
  });

  it('says plainly when the browser cannot report the battery or CPU pressure', async () => {
    const context = await browser.newContext();
    await context.addInitScript(() => {
      delete (Navigator.prototype as { getBattery?: unknown }).getBattery;
      delete (window as { PressureObserver?: unknown }).PressureObserver;
    });
    const page = await openPage(context);
    expect(await page.getByTestId('battery-unsupported').textContent()).toContain('does not report the battery');
    expect(await page.getByTestId('pressure-unsupported').textContent()).toContain('does not report CPU pressure');
    await context.close();
  });
});

describe('no lost work', () => {
  it('gives a lease back when, at a lower limit, its unit could no longer finish before its deadline, and leases only what it can finish', async () => {
    // A coordinator of its own with 30 s leases, a big tile (tens of seconds of WASM at full
    // speed, far more at 10%) and, after it, a tiny one.
    const short = await startTestCoordinator({ staticDir: distDir, demo: undefined, leaseMs: 30_000 });
    try {
      const tile = { centerX: '-0.1', centerY: '0.05', pixelSize: 2n ** 70n } as const;
      await createMandelbrotJob(short.db, { name: 'Big', purpose: 'a big tile', ...tile, width: 64, height: 64, tile: 64, maxIterations: 1_000_000 });
      await createMandelbrotJob(short.db, { name: 'Tiny', purpose: 'a tiny tile', ...tile, width: 8, height: 8, tile: 8, maxIterations: 10_000 });
      const [big, tiny] = await short.db.selectFrom('units').select('id').orderBy('id').execute();
      const url = await listen(short);
      const context = await browser.newContext();
      await context.addInitScript(collectComputeMeasures);
      const page = await context.newPage();
      await page.goto(url);
      await startOneWorker(page);
      const leasesOf = (unit: number) => short.db.selectFrom('leases').select('id').where('unit_id', '=', unit).execute();
      expect(await leasesOf(big!.id)).toHaveLength(1);
      // At 10% the rest of the big tile needs far more than the 30 s its lease has.
      await setNumber(page, 'CPU limit (%)', 10);
      const unit = (id: number) => short.db.selectFrom('units').select(['state', 'current_lease']).where('id', '=', id).executeTakeFirstOrThrow();
      await expect.poll(() => unit(big!.id), { timeout: 20_000, interval: 100 }).toEqual({ state: 'ready', current_lease: null });
      // Asked again with its measured speed at 10%, the coordinator offers the tiny tile, which it finishes, and not the big one again.
      await expect.poll(async () => (await unit(tiny!.id)).state, { timeout: 30_000, interval: 250 }).toBe('done');
      await expect.poll(() => state(page), { timeout: 10_000, interval: 100 }).toBe('Waiting for work');
      expect(await leasesOf(big!.id)).toHaveLength(1);
      expect(await unit(big!.id)).toEqual({ state: 'ready', current_lease: null });
      await context.close();
    } finally {
      await short.close();
    }
  }, 90_000);
});
