import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.ts';
import { startTestCoordinator, type TestCoordinator } from '../helpers/test-coordinator.ts';

/**
 * A partner site on another origin (another port) embeds the widget with its one script tag,
 * under a strict Content-Security-Policy that allows only the Surge origin. A third origin,
 * outside the allowlist, tries to frame the widget and to command it.
 */
const distDir = resolve('dist');
const kPartner = 'news-site';

let coordinator: TestCoordinator;
let surge: string;
let partnerSite: Server;
let partner: string;
let thirdSite: Server;
let third: string;
let browser: Browser;

/** A tiny site: path → [content type, body, extra headers]. */
function site(routes: () => Record<string, [string, string, Record<string, string>?]>): Server {
  return createServer((request, response) => {
    const route = routes()[new URL(request.url ?? '/', 'http://x').pathname];
    if (!route) return response.writeHead(404).end();
    response.writeHead(200, { 'content-type': route[0], ...route[2] }).end(route[1]);
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

beforeAll(async () => {
  if (!existsSync(resolve(distDir, 'embed.js'))) throw new Error('embed.js is not built: run `npm run build` first (npm test does).');
  partnerSite = site(() => ({
    '/': [
      'text/html',
      `<!doctype html><title>News</title><h1>News</h1><div id="slot"></div>
       <script src="/partner.js"></script>
       <script src="${surge}/embed.js" data-partner="${kPartner}" data-target="#slot" async></script>
       <iframe id="ads" src="${third}/ad.html"></iframe>`,
      // Strict: nothing inline, scripts and frames only from the partner itself and the Surge origin.
      { 'content-security-policy': `default-src 'none'; script-src 'self' ${surge}; frame-src ${surge} ${third}; style-src 'self'` },
    ],
    // A partner page that is itself cross-origin isolated: embed.js and the widget document must
    // say they may be embedded (CORP cross-origin), and the widget must still run.
    '/isolated': [
      'text/html',
      `<!doctype html><title>Isolated</title><div id="slot"></div>
       <script src="/partner.js"></script>
       <script src="${surge}/embed.js" data-partner="${kPartner}" data-target="#slot" async></script>`,
      { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' },
    ],
    // A page that frames the widget directly and claims to be another site.
    '/liar': ['text/html', `<!doctype html><iframe src="${surge}/widget.html?partner=${kPartner}&origin=${encodeURIComponent(third)}"></iframe>`],
    '/partner.js': [
      'text/javascript',
      `window.surgeEvents = [];
       for (const type of ['ready', 'consent', 'withdrawn', 'started', 'paused', 'progress', 'credit'])
         document.addEventListener('surge:' + type, (event) => window.surgeEvents.push({ type, detail: event.detail }));`,
    ],
  }));
  thirdSite = site(() => ({
    '/ad.html': ['text/html', '<!doctype html><title>ad</title>'],
    '/frame.html': ['text/html', `<!doctype html><iframe id="w" src="${surge}/widget.html?partner=thief&origin=${encodeURIComponent(third)}"></iframe>`],
  }));
  partner = await listen(partnerSite);
  third = await listen(thirdSite);
  coordinator = await startTestCoordinator({ staticDir: distDir, demo: { size: 128, block: 32, k: 64 }, frameAncestors: [partner] });
  surge = await coordinator.url();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await coordinator?.close();
  partnerSite?.close();
  thirdSite?.close();
});

type Events = { type: string; detail: Record<string, unknown> }[];
const events = (page: Page) => page.evaluate(() => (window as unknown as { surgeEvents: Events }).surgeEvents);
const ofType = async (page: Page, type: string) => (await events(page)).filter((e) => e.type === type);

function widgetFrame(page: Page): Frame {
  const frame = page.frames().find((f) => f.url().startsWith(`${surge}/widget.html`));
  if (!frame) throw new Error('the widget frame is not on the page');
  return frame;
}

async function openPartner(page: Page): Promise<Frame> {
  await page.goto(partner);
  await expect.poll(() => ofType(page, 'ready'), { timeout: 15_000, interval: 100 }).toHaveLength(1);
  return widgetFrame(page);
}

const widgetState = (frame: Frame) => frame.getByTestId('widget-state').textContent();

describe('the widget on a partner site', () => {
  it('computes nothing before consent; after it, validated work is credited to the partner; the partner page cannot read its storage; events and commands work', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const cspViolations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    let frame = await openPartner(page);
    expect((await ofType(page, 'ready'))[0]!.detail).toEqual({ consented: false });
    await expect(frame.getByRole('button', { name: 'Start', exact: true }).isVisible()).resolves.toBe(true);
    expect(await frame.getByText(/at most 25% of one CPU core/).count()).toBe(1);

    // Nothing runs before the click: no session, no lease, no kernel worker or WASM fetched.
    await page.waitForTimeout(1500);
    expect(await coordinator.db.selectFrom('sessions').select('address').execute()).toHaveLength(0);
    expect(await coordinator.db.selectFrom('leases').select('id').execute()).toHaveLength(0);
    const fetched = await frame.evaluate(() => performance.getEntriesByType('resource').map((entry) => entry.name));
    expect(fetched.filter((url) => /\.wasm|kernel-worker|contributor-controller/.test(url))).toEqual([]);

    await frame.getByRole('button', { name: 'Start', exact: true }).click();
    await expect.poll(async () => Number(await frame.getByTestId('validated').textContent()), { timeout: 60_000, interval: 250 }).toBeGreaterThanOrEqual(2);

    // Attributed to the partner, as the partner reads it from the coordinator.
    const stats = (await coordinator.app.inject({ method: 'GET', url: `/v1/partners/${kPartner}/stats` })).json();
    expect(stats.contributors).toBe(1);
    expect(stats.validatedResults).toBeGreaterThanOrEqual(2);
    expect(BigInt(stats.credit)).toBeGreaterThan(0n);

    // Events reached the partner page.
    expect((await ofType(page, 'consent'))[0]!.detail.expiresAt).toMatch(/^\d{4}-/);
    expect((await ofType(page, 'started'))[0]!.detail).toEqual({ cpuLimitPercent: 25 });
    expect((await ofType(page, 'progress')).length).toBeGreaterThan(0);
    await expect.poll(async () => (await ofType(page, 'credit')).at(-1)?.detail.validated, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);

    // The key and storage stay on the Surge origin: the partner page cannot reach into the frame,
    // and has no surge database of its own.
    const reach = await page.evaluate(() => {
      const win = document.querySelector('iframe')!.contentWindow!;
      const attempts: Record<string, string> = {};
      for (const [name, read] of Object.entries({
        document: () => win.document.title,
        localStorage: () => win.localStorage.length,
        indexedDB: () => win.indexedDB.databases(),
      })) {
        try {
          read();
          attempts[name] = 'read';
        } catch (error) {
          attempts[name] = (error as Error).name;
        }
      }
      return attempts;
    });
    expect(reach).toEqual({ document: 'SecurityError', localStorage: 'SecurityError', indexedDB: 'SecurityError' });
    expect((await page.evaluate(() => indexedDB.databases())).map((db) => db.name)).not.toContain('surge');
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    const widgetDbs = await frame.evaluate(() => indexedDB.databases());
    expect(widgetDbs.map((db) => db.name)).toContain('surge');

    // Commands: the partner pauses; a frame on another origin cannot resume; the partner can.
    await page.evaluate(() => (window as unknown as { Surge: { widgets: { pause(): void }[] } }).Surge.widgets[0]!.pause());
    await expect.poll(() => widgetState(frame), { timeout: 2000, interval: 50 }).toBe('Paused by this site');
    expect((await ofType(page, 'paused')).at(-1)!.detail).toEqual({ by: 'partner' });
    const ad = page.frames().find((f) => f.url().startsWith(third))!;
    await ad.evaluate(() => {
      for (let i = 0; i < parent.frames.length; i++) {
        parent.frames[i]!.postMessage({ source: 'surge-partner', version: 1, command: 'resume' }, '*');
      }
    });
    await page.waitForTimeout(1000);
    expect(await widgetState(frame)).toBe('Paused by this site');
    await page.evaluate(() => (window as unknown as { Surge: { widgets: { resume(): void }[] } }).Surge.widgets[0]!.resume());
    await expect.poll(() => widgetState(frame), { timeout: 2000, interval: 50 }).not.toMatch(/Paused/);
    await page.evaluate(() => (window as unknown as { Surge: { widgets: { openSettings(): void }[] } }).Surge.widgets[0]!.openSettings());
    await expect.poll(() => frame.getByLabel('CPU limit').count(), { timeout: 2000, interval: 50 }).toBe(1);

    // The yes is remembered for this partner origin: a reload starts without asking.
    frame = await openPartner(page);
    expect((await ofType(page, 'ready'))[0]!.detail).toEqual({ consented: true });
    await expect.poll(() => ofType(page, 'started'), { timeout: 15_000, interval: 100 }).toHaveLength(1);

    // Withdrawn in one click: computing stops, the partner hears it, and the next visit asks again.
    await frame.getByRole('button', { name: 'Stop and forget my yes' }).click();
    await expect.poll(() => ofType(page, 'withdrawn'), { timeout: 5000, interval: 100 }).toHaveLength(1);
    expect(await frame.getByRole('button', { name: 'Start', exact: true }).isVisible()).toBe(true);
    frame = await openPartner(page);
    expect((await ofType(page, 'ready'))[0]!.detail).toEqual({ consented: false });

    expect(cspViolations).toEqual([]);
    await context.close();
  }, 120_000);

  it('loads and asks for consent on a partner page that is cross-origin isolated (COEP require-corp)', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${partner}/isolated`);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    await expect.poll(() => ofType(page, 'ready'), { timeout: 15_000, interval: 100 }).toHaveLength(1);
    expect(await widgetFrame(page).getByRole('button', { name: 'Start', exact: true }).isVisible()).toBe(true);
    await context.close();
  }, 120_000);

  it('refuses to run for a page that claims another origin', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${partner}/liar`);
    const frame = page.frames().find((f) => f !== page.mainFrame())!;
    await expect.poll(() => frame.getByRole('alert').textContent(), { timeout: 15_000, interval: 100 }).toContain(`shown on ${partner}; it will not run`);
    expect(await frame.getByRole('button').count()).toBe(0);
    await context.close();
  }, 120_000);

  it('cannot be framed by a site outside the allowlist', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const refusals: string[] = [];
    page.on('console', (message) => {
      if (/frame-ancestors/.test(message.text())) refusals.push(message.text());
    });
    await page.goto(`${third}/frame.html`);
    await expect.poll(() => refusals.length, { timeout: 10_000, interval: 100 }).toBeGreaterThan(0);
    const child = page.frames().find((f) => f !== page.mainFrame());
    expect(await child?.locator('surge-widget').count()).toBe(0);
    expect(await coordinator.db.selectFrom('sessions').select('address').where('partner', '=', 'thief').execute()).toHaveLength(0);
    await context.close();
  }, 120_000);
});
