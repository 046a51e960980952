import { fixture, html } from '@open-wc/testing/pure';
import { describe, expect, it } from 'vitest';
import { unnamedControls } from '../../test/helpers/unnamed-controls.ts';
import './surge-throughput-chart.ts';
import type { SurgeThroughputChart } from './surge-throughput-chart.ts';

describe('<surge-throughput-chart>', () => {
  it('draws one point per sample, scaled into the chart, and says the latest and peak values', async () => {
    const samples = [
      { at: 1000, value: 1 },
      { at: 2000, value: 4 },
      { at: 3000, value: 2.5 },
    ];
    const chart = await fixture<SurgeThroughputChart>(
      html`<surge-throughput-chart label="Work done here" unit="Mops per second" .window=${2000} .samples=${samples}></surge-throughput-chart>`,
    );
    const svg = chart.shadowRoot!.querySelector('svg')!;
    expect(svg.getAttribute('role')).toBe('img');
    expect(svg.getAttribute('aria-label')).toBe('Work done here: now 2.50 Mops per second; peak 4.00 over the last 2 seconds.');
    const line: string = chart.shadowRoot!.querySelector('polyline')!.getAttribute('points')!;
    const points = line.split(' ').map((p) => p.split(',').map(Number));
    // x spans the window (320 wide), y is inverted with the peak (4, axis top 5) near the top.
    expect(points.map(([x]) => x)).toEqual([0, 160, 320]);
    expect(points[1]![1]!).toBeLessThan(points[2]![1]!);
    expect(points[2]![1]!).toBeLessThan(points[0]![1]!);
    expect(chart.shadowRoot!.querySelector('[data-testid=rate]')!.textContent).toBe('2.50 Mops per second');
    expect(chart.shadowRoot!.querySelector('.axis')!.textContent).toBe('5.00');
    // Nothing animates: new points replace the line at once.
    expect(getComputedStyle(chart.shadowRoot!.querySelector('polyline')!).transitionDuration).toBe('0s');
    expect(unnamedControls(chart.shadowRoot!)).toEqual([]);
  });

  it('shows the first sample at once, before there is a line to draw', async () => {
    const chart = await fixture<SurgeThroughputChart>(
      html`<surge-throughput-chart label="Network throughput" unit="results per minute" .samples=${[{ at: 5000, value: 24 }]}></surge-throughput-chart>`,
    );
    const line: string = chart.shadowRoot!.querySelector('polyline')!.getAttribute('points')!;
    const points = line.split(' ').map((p) => p.split(',').map(Number));
    // A level stroke at the right edge, at the sample's height under the axis top (50).
    expect(points.map(([x]) => x)).toEqual([312, 320]);
    expect(points[0]![1]).toBe(points[1]![1]);
    expect(points[0]![1]!).toBeGreaterThan(0);
    expect(points[0]![1]!).toBeLessThan(100);
    expect(chart.shadowRoot!.querySelector('[data-testid=rate]')!.textContent).toBe('24.0 results per minute');
  });

  it('says there is nothing yet before the first sample', async () => {
    const chart = await fixture<SurgeThroughputChart>(html`<surge-throughput-chart label="Network throughput"></surge-throughput-chart>`);
    expect(chart.shadowRoot!.querySelector('polyline')).toBeNull();
    expect(chart.shadowRoot!.querySelector('svg')!.getAttribute('aria-label')).toBe('Network throughput: no measurements yet.');
  });
});
