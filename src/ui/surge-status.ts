import { css, html, LitElement, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { ContributorSnapshot } from '../contributor/contributor-controller.ts';

const backendLabels = { webgpu: 'WebGPU', wasm: 'WebAssembly' } as const;

const stateLabels: Record<ContributorSnapshot['state'], string> = {
  idle: 'Not started',
  starting: 'Starting…',
  running: 'Computing',
  paused: 'Paused',
  held: 'Held back by a limit',
  standby: 'Another tab is contributing',
  waiting: 'Waiting for work',
  error: 'Stopped by an error',
};

/**
 * The live view of a contribution: state, backend and device, the current unit with its
 * progress, and the counts of results and credit. Fires `surge-pause` and `surge-resume`.
 */
@customElement('surge-status')
export class SurgeStatus extends LitElement {
  @property({ attribute: false }) snapshot?: ContributorSnapshot;

  static override styles = css`
    :host { display: block; }
    dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.35rem 1rem; margin: 1rem 0; }
    dt { color: var(--surge-muted, #555); }
    dd { margin: 0; font-variant-numeric: tabular-nums; }
    progress { width: 100%; height: 1rem; }
    .units { list-style: none; padding: 0; margin: 0; display: grid; gap: 0.5rem; }
    .units li { display: grid; gap: 0.25rem; }
    .notice { padding: 0.5rem 0.75rem; border-left: 4px solid var(--surge-focus, #f59e0b); background: var(--surge-notice-bg, #fffbeb); }
    button { font: inherit; font-weight: 600; padding: 0.5rem 1.2rem; border-radius: 0.4rem; border: 2px solid currentColor; background: transparent; color: inherit; cursor: pointer; }
    button:focus-visible { outline: 3px solid var(--surge-focus, #f59e0b); outline-offset: 2px; }
  `;

  override render() {
    const s = this.snapshot;
    if (!s) return nothing;
    const canPause = s.state === 'running' || s.state === 'waiting' || s.state === 'starting' || s.state === 'held';
    return html`
      <p>
        <strong data-testid="state" role="status">${stateLabels[s.state]}</strong>
        ${canPause ? html`<button type="button" @click=${() => this.fire('surge-pause')}>Pause</button>` : nothing}
        ${s.state === 'paused' ? html`<button type="button" @click=${() => this.fire('surge-resume')}>Resume</button>` : nothing}
      </p>
      ${s.notice ? html`<p class="notice" role="alert">${s.notice}</p>` : nothing}
      ${s.holds.length ? html`<ul data-testid="holds">${s.holds.map((hold) => html`<li>${hold.message}</li>`)}</ul>` : nothing}
      <dl>
        <dt>Backend</dt>
        <dd data-testid="backend">${s.backends.length ? s.backends.map((b) => backendLabels[b]).join(' and ') : '—'}</dd>
        <dt>Device</dt>
        <dd data-testid="device">${s.device ?? '—'}</dd>
        <dt>Workers</dt>
        <dd data-testid="workers">${s.cpuWorkers ? `${s.cpuWorkers} on the CPU${s.backends.includes('webgpu') ? ', 1 on the GPU' : ''}` : s.backends.includes('webgpu') ? '1 on the GPU' : '—'}</dd>
      </dl>
      <ul class="units" aria-label="Work units in progress">
        ${s.units.map((unit) => {
          const percent = Math.floor(unit.progress * 100);
          return html`<li data-testid="unit">
            <span>${backendLabels[unit.backend]}: unit #${unit.id} (${unit.kernel}) of “${unit.jobName}”: ${unit.jobPurpose}</span>
            <progress max="100" .value=${percent} aria-label=${`Progress of unit ${unit.id}`}>${percent}%</progress>
          </li>`;
        })}
      </ul>
      <dl>
        <dt>Results submitted</dt>
        <dd data-testid="submitted">${s.submitted}</dd>
        <dt>Results validated</dt>
        <dd data-testid="validated">${s.validated}</dd>
        <dt>Results refused</dt>
        <dd data-testid="rejected">${s.rejected}</dd>
        <dt>Waiting to send</dt>
        <dd data-testid="waiting">${s.waitingResults}</dd>
        ${s.waitingReason ? html`<dt>Why waiting</dt><dd data-testid="waiting-reason">${s.waitingReason}</dd>` : nothing}
        <dt>Credit earned</dt>
        <dd data-testid="credit">${s.credit}</dd>
        <dt>Earning to</dt>
        <dd data-testid="owner"><code>${s.owner ?? '—'}</code></dd>
      </dl>
    `;
  }

  private fire(name: 'surge-pause' | 'surge-resume') {
    this.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'surge-status': SurgeStatus;
  }
}
