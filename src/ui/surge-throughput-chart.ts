import { css, html, LitElement, nothing, svg } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { ThroughputSample } from './throughput-sampler.ts';

const kWidth = 320;
const kHeight = 100;
/** How wide the stroke for a single sample is, in chart units. */
const kFirstSampleWidth = 8;

/** 1, 2 or 5 × a power of ten, at least `value`: a y-axis top people can read. */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

export function formatRate(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString('en');
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/**
 * A live line chart of a rate over time, drawn as SVG from samples (newest last). No
 * transitions, so it never animates (prefers-reduced-motion holds by construction); the
 * figure's accessible name says the latest and peak values in words.
 *
 * @example
 * html`<surge-throughput-chart label="Throughput" unit="million operations per second" .samples=${samples}></surge-throughput-chart>`
 */
@customElement('surge-throughput-chart')
export class SurgeThroughputChart extends LitElement {
  @property({ attribute: false }) samples: readonly ThroughputSample[] = [];
  @property() label = 'Throughput';
  /** The unit in words, as a screen reader says it. */
  @property() unit = 'per second';
  /** The time the chart spans, in milliseconds. */
  @property({ type: Number }) window = 60_000;

  static override styles = css`
    :host { display: block; }
    figure { margin: 0; }
    figcaption { display: flex; justify-content: space-between; gap: 1rem; flex-wrap: wrap; margin-bottom: 0.25rem; }
    .value { font-variant-numeric: tabular-nums; font-weight: 600; }
    .plot { position: relative; }
    /* A fixed height at every width: the line stretches sideways, the text stays HTML. */
    svg { display: block; width: 100%; height: 6rem; background: var(--surge-surface, #f3f4f6); border-radius: 0.4rem; }
    .line { fill: none; stroke: var(--surge-line, #2563eb); stroke-width: 2; vector-effect: non-scaling-stroke; stroke-linejoin: round; }
    .area { fill: var(--surge-line, #2563eb); opacity: 0.15; }
    .grid { stroke: var(--surge-border, #d1d5db); stroke-width: 1; vector-effect: non-scaling-stroke; }
    .axis { position: absolute; top: 0.15rem; left: 0.35rem; font-size: 0.75rem; color: var(--surge-muted, #4b5563); }
  `;

  override render() {
    const samples = this.samples;
    const latest = samples.at(-1)?.value ?? 0;
    const peak = samples.reduce((max, s) => Math.max(max, s.value), 0);
    const top = niceCeiling(peak);
    const end = samples.at(-1)?.at ?? 0;
    const x = (at: number) => Math.max(0, kWidth - ((end - at) / this.window) * kWidth);
    const y = (value: number) => kHeight - (value / top) * (kHeight - 12);
    const points = samples.map((s) => `${x(s.at).toFixed(1)},${y(s.value).toFixed(1)}`).join(' ');
    const seconds = Math.round(this.window / 1000);
    const description = samples.length
      ? `${this.label}: now ${formatRate(latest)} ${this.unit}; peak ${formatRate(peak)} over the last ${seconds} seconds.`
      : `${this.label}: no measurements yet.`;
    return html`
      <figure>
        <figcaption><span>${this.label}</span><span class="value" data-testid="rate">${samples.length ? `${formatRate(latest)} ${this.unit}` : '—'}</span></figcaption>
        <div class="plot">
        <svg viewBox="0 0 ${kWidth} ${kHeight}" preserveAspectRatio="none" role="img" aria-label=${description}>
          <line class="grid" x1="0" x2=${kWidth} y1=${y(top)} y2=${y(top)}></line>
          <line class="grid" x1="0" x2=${kWidth} y1=${kHeight} y2=${kHeight}></line>
          ${
            samples.length > 1
              ? svg`<polygon class="area" points=${`${x(samples[0]!.at).toFixed(1)},${kHeight} ${points} ${x(end).toFixed(1)},${kHeight}`}></polygon>
                 <polyline class="line" points=${points}></polyline>`
              : samples.length === 1
                ? // One sample has no line to draw yet: a short level stroke at the right edge shows where it stands.
                  svg`<polyline class="line" points=${`${kWidth - kFirstSampleWidth},${y(latest).toFixed(1)} ${kWidth},${y(latest).toFixed(1)}`}></polyline>`
                : nothing
          }
        </svg>
        <span class="axis" aria-hidden="true">${formatRate(top)}</span>
        </div>
      </figure>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'surge-throughput-chart': SurgeThroughputChart;
  }
}
