import { fixture, html } from '@open-wc/testing/pure';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { unnamedControls } from '../../test/helpers/unnamed-controls.ts';
import type { NetworkStats } from '../protocol/schemas.ts';
import './surge-dashboard.ts';
import type { SurgeDashboard } from './surge-dashboard.ts';

// The element's own behaviour, with /v1/stats answered here; test/e2e/screenshots.test.ts runs it against a real coordinator.
const stats: NetworkStats = {
  generatedAt: '2026-01-01T12:00:00.000Z',
  jobs: [
    {
      id: 3,
      name: 'Seahorse valley',
      purpose: 'a deep zoom for the gallery',
      kernel: 'mandelbrot',
      units: { total: 16, done: 4 },
      preview: '/v1/jobs/3/preview.png',
    },
    { id: 5, name: 'Primes to 10¹²', purpose: 'checking π(x)', kernel: 'primes', units: { total: 200, done: 50 } },
  ],
  throughput: { resultsPerMinute: 37, creditPerMinute: '1200' },
  contributorsOnline: 6,
  topContributors: [
    { owner: '0xabcd…1234', credit: '9000', results: 300 },
    { owner: '0x9876…fedc', credit: '120', results: 4 },
  ],
  topPartners: [{ partner: 'science-news', contributors: 12, validatedResults: 340, credit: '5000' }],
};

afterEach(() => vi.restoreAllMocks());

describe('<surge-dashboard>', () => {
  it('shows jobs with their picture or progress, throughput, contributors online and the top contributors', async () => {
    const fetched: string[] = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
      fetched.push(String(input));
      return new Response(JSON.stringify(stats), { headers: { 'content-type': 'application/json' } });
    });
    const dashboard = await fixture<SurgeDashboard>(html`<surge-dashboard coordinator="http://coordinator.test" interval="600000"></surge-dashboard>`);
    const root = dashboard.shadowRoot!;
    await vi.waitFor(() => expect(root.querySelectorAll('[data-testid=job]')).toHaveLength(2));
    expect(fetched).toEqual(['http://coordinator.test/v1/stats']);
    expect(root.querySelector('[data-testid=results-per-minute]')!.textContent).toBe('37');
    expect(root.querySelector('[data-testid=credit-per-minute]')!.textContent).toBe('1200');
    expect(root.querySelector('[data-testid=contributors-online]')!.textContent).toBe('6');
    const [picture, numbers] = root.querySelectorAll('[data-testid=job]');
    const img = picture!.querySelector('img')!;
    expect(img.getAttribute('src')).toBe('http://coordinator.test/v1/jobs/3/preview.png?done=4');
    expect(img.alt).toBe('The picture of “Seahorse valley” so far: 4 of 16 tiles');
    expect(numbers!.querySelector('img')).toBeNull();
    const bar = numbers!.querySelector('progress')!;
    expect([bar.value, bar.max, bar.getAttribute('aria-label')]).toEqual([50, 200, 'Progress of “Primes to 10¹²”']);
    expect(numbers!.textContent).toContain('50 of 200 units done (25%) · primes');
    const rows = [...root.querySelectorAll('[data-testid=contributor]')].map((row) => [...row.querySelectorAll('td')].map((td) => td.textContent));
    expect(rows).toEqual([
      ['1', '0xabcd…1234', '9000', '300'],
      ['2', '0x9876…fedc', '120', '4'],
    ]);
    const partners = [...root.querySelectorAll('[data-testid=partner]')].map((row) => [...row.querySelectorAll('td')].map((td) => td.textContent));
    expect(partners).toEqual([['1', 'science-news', '12', '5000']]);
    // The live region changes only when the state does, not at every refresh (a screen reader would repeat it every few seconds).
    expect(root.querySelector('[role=status]')!.textContent).toBe('Live, refreshed every 600 seconds');
    expect(root.querySelector('.updated time')!.getAttribute('datetime')).toBe(stats.generatedAt);
    expect(root.querySelector('surge-throughput-chart')!.samples).toEqual([{ at: Date.parse(stats.generatedAt), value: 37 }]);
    expect(unnamedControls(root)).toEqual([]);
  });

  it('says so when the coordinator cannot be reached, and shows the figures once it answers', async () => {
    const fetch = vi.spyOn(globalThis, 'fetch').mockRejectedValueOnce(new TypeError('Failed to fetch'));
    const dashboard = await fixture<SurgeDashboard>(html`<surge-dashboard coordinator="http://coordinator.test" interval="600000"></surge-dashboard>`);
    const root = dashboard.shadowRoot!;
    await vi.waitFor(() => expect(root.querySelector('[role=alert]')?.textContent).toMatch(/could not be fetched \(Failed to fetch\); trying again shortly/));
    expect(root.querySelector('[role=status]')!.textContent).toBe('Not updating');
    fetch.mockResolvedValueOnce(new Response(JSON.stringify(stats)));
    await dashboard.poll();
    await dashboard.updateComplete;
    expect(root.querySelector('[role=alert]')).toBeNull();
    expect(root.querySelector('[role=status]')!.textContent).toMatch(/^Live/);
    expect(root.querySelector('[data-testid=contributors-online]')!.textContent).toBe('6');
  });
});
