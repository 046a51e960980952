import { css, html, LitElement, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { NetworkStats } from '../protocol/schemas.ts';
import './surge-throughput-chart.ts';
import type { ThroughputSample } from './throughput-sampler.ts';

/** Points kept for the network throughput chart: ten minutes at the default poll. */
const kHistory = 120;

/**
 * The network dashboard: jobs in progress with their picture so far (Mandelbrot) or their
 * progress, the network's throughput, contributors online, and the top contributors, from
 * the coordinator's public `GET /v1/stats`, refreshed every `interval` milliseconds.
 */
@customElement('surge-dashboard')
export class SurgeDashboard extends LitElement {
  @property() coordinator = location.origin;
  @property({ type: Number }) interval = 5000;
  @state() private stats?: NetworkStats;
  @state() private error?: string;
  @state() private history: ThroughputSample[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private connected = false;

  static override styles = css`
    :host { display: block; max-width: 72rem; margin: 0 auto; padding: 1.5rem; box-sizing: border-box; }
    header { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 0.5rem 1.5rem; }
    h1 { margin: 0; }
    h2 { font-size: 1.15rem; margin: 0 0 0.75rem; }
    h3 { font-size: 1rem; margin: 0; }
    a { color: var(--surge-link, #1d4ed8); }
    a:focus-visible, [tabindex]:focus-visible { outline: 3px solid var(--surge-focus, #f59e0b); outline-offset: 2px; }
    .updated { color: var(--surge-muted, #4b5563); margin: 0.25rem 0 1rem; }
    .error { padding: 0.5rem 0.75rem; border-left: 4px solid var(--surge-focus, #f59e0b); background: var(--surge-notice-bg, #fffbeb); }
    .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 22rem), 1fr)); gap: 1.25rem; align-items: start; }
    section { border: 1px solid var(--surge-border, #d1d5db); border-radius: 0.6rem; padding: 1rem; min-width: 0; background: var(--surge-card, transparent); }
    .wide { grid-column: 1 / -1; }
    .figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: 0.75rem; margin: 0 0 1rem; }
    .figures div { display: flex; flex-direction: column-reverse; }
    .figures dt { color: var(--surge-muted, #4b5563); }
    .figures dd { margin: 0; font-size: 1.6rem; font-weight: 700; font-variant-numeric: tabular-nums; }
    .jobs { list-style: none; padding: 0; margin: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 16rem), 1fr)); gap: 1rem; }
    .jobs li { display: grid; gap: 0.4rem; align-content: start; }
    .jobs p { margin: 0; color: var(--surge-muted, #4b5563); }
    .jobs img { width: 100%; height: auto; image-rendering: pixelated; background: var(--surge-surface, #f3f4f6); border-radius: 0.25rem; }
    progress { width: 100%; height: 1rem; }
    .table { overflow-x: auto; }
    table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
    th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid var(--surge-border, #d1d5db); white-space: nowrap; }
    .number { text-align: right; }
    .empty { color: var(--surge-muted, #4b5563); margin: 0; }
    @media (max-width: 30rem) { :host { padding: 0.75rem; } section { padding: 0.75rem; } }
  `;

  override connectedCallback() {
    super.connectedCallback();
    this.connected = true;
    void this.poll();
  }

  override disconnectedCallback() {
    super.disconnectedCallback();
    this.connected = false;
    clearTimeout(this.timer);
  }

  /** Fetches the stats now; the next poll follows `interval` later. */
  async poll(): Promise<void> {
    clearTimeout(this.timer);
    try {
      const response = await fetch(new URL('/v1/stats', this.coordinator));
      if (!response.ok) throw new Error(`the coordinator answered ${response.status}`);
      const stats = (await response.json()) as NetworkStats;
      this.stats = stats;
      this.error = undefined;
      this.history = [...this.history, { at: Date.parse(stats.generatedAt), value: stats.throughput.resultsPerMinute }].slice(-kHistory);
    } catch (error) {
      this.error = `The network's figures could not be fetched (${error instanceof Error ? error.message : String(error)}); trying again shortly.`;
    }
    if (this.connected) this.timer = setTimeout(() => void this.poll(), this.interval);
  }

  override render() {
    const stats = this.stats;
    return html`
      <header>
        <h1>The Surge network</h1>
        <a href="./">Contribute from this browser</a>
      </header>
      <p class="updated">
        <span role="status">${this.error ? 'Not updating' : stats ? `Live, refreshed every ${Math.round(this.interval / 1000)} seconds` : 'Loading…'}</span>
        ${stats ? html`· updated at <time datetime=${stats.generatedAt}>${new Date(stats.generatedAt).toLocaleTimeString()}</time>` : nothing}
      </p>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${stats ? this.renderStats(stats) : nothing}
    `;
  }

  private renderStats(stats: NetworkStats) {
    const window = Math.max(60_000, (this.history.at(-1)?.at ?? 0) - (this.history[0]?.at ?? 0));
    return html`
      <div class="grid">
        <section class="wide" aria-labelledby="throughput-title">
          <h2 id="throughput-title">Right now</h2>
          <dl class="figures">
            <div><dt>results validated in the last minute</dt><dd data-testid="results-per-minute">${stats.throughput.resultsPerMinute}</dd></div>
            <div><dt>credit earned in the last minute</dt><dd data-testid="credit-per-minute">${stats.throughput.creditPerMinute}</dd></div>
            <div><dt>contributors online</dt><dd data-testid="contributors-online">${stats.contributorsOnline}</dd></div>
          </dl>
          <surge-throughput-chart label="Network throughput" unit="results per minute" .window=${window} .samples=${this.history}></surge-throughput-chart>
        </section>
        <section class="wide" aria-labelledby="jobs-title">
          <h2 id="jobs-title">Jobs in progress</h2>
          ${
            stats.jobs.length === 0
              ? html`<p class="empty">No jobs are running right now.</p>`
              : html`<ul class="jobs">
                  ${stats.jobs.map((job) => {
                    const percent = job.units.total ? Math.floor((job.units.done / job.units.total) * 100) : 0;
                    const progressText = `${job.units.done} of ${job.units.total} units done (${percent}%)`;
                    return html`<li data-testid="job">
                      <h3>${job.name}</h3>
                      <p>${job.purpose}</p>
                      ${
                        job.preview
                          ? html`<img
                              src=${new URL(`${job.preview}?done=${job.units.done}`, this.coordinator).href}
                              alt=${`The picture of “${job.name}” so far: ${job.units.done} of ${job.units.total} tiles`}
                            />`
                          : nothing
                      }
                      <progress max=${job.units.total} .value=${job.units.done} aria-label=${`Progress of “${job.name}”`}>${percent}%</progress>
                      <p>${progressText} · ${job.kernel}</p>
                    </li>`;
                  })}
                </ul>`
          }
        </section>
        <section aria-labelledby="top-title">
          <h2 id="top-title">Top contributors</h2>
          ${
            stats.topContributors.length === 0
              ? html`<p class="empty">No validated results yet.</p>`
              : html`<div class="table" tabindex="0" role="region" aria-labelledby="top-title">
                  <table>
                    <thead><tr><th scope="col">#</th><th scope="col">Address</th><th scope="col" class="number">Credit</th><th scope="col" class="number">Results</th></tr></thead>
                    <tbody>
                      ${stats.topContributors.map(
                        (c, i) =>
                          html`<tr data-testid="contributor"><td>${i + 1}</td><td><code>${c.owner}</code></td><td class="number">${c.credit}</td><td class="number">${c.results}</td></tr>`,
                      )}
                    </tbody>
                  </table>
                </div>`
          }
        </section>
        <section aria-labelledby="partners-title">
          <h2 id="partners-title">Partner sites</h2>
          ${
            stats.topPartners.length === 0
              ? html`<p class="empty">No work through partner sites yet.</p>`
              : html`<div class="table" tabindex="0" role="region" aria-labelledby="partners-title">
                  <table>
                    <thead><tr><th scope="col">#</th><th scope="col">Partner</th><th scope="col" class="number">Contributors</th><th scope="col" class="number">Credit</th></tr></thead>
                    <tbody>
                      ${stats.topPartners.map(
                        (p, i) =>
                          html`<tr data-testid="partner"><td>${i + 1}</td><td>${p.partner}</td><td class="number">${p.contributors}</td><td class="number">${p.credit}</td></tr>`,
                      )}
                    </tbody>
                  </table>
                </div>`
          }
        </section>
      </div>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'surge-dashboard': SurgeDashboard;
  }
}
